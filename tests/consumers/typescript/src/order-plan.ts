// orderPlan(): the order flow's plan, as composeOrder() runs it with the same options. It
// takes composeOrder()'s options (so a misspelt one, or compose()'s maxCalls, is a compile
// error) and returns a Plan, the type validatePlan() takes. Each `@ts-expect-error` fails the
// check if the error it expects ever disappears.
import init, { orderPlan, validatePlan, type OrderOptions, type Plan, type PlanSummary } from 'parallel-composer';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type Expect<T extends true> = T;

export type OrderPlanChecks = [
  Expect<Equal<Parameters<typeof orderPlan>, [options: OrderOptions]>>,
  Expect<Equal<ReturnType<typeof orderPlan>, Plan>>,
];

await init();
const plan: Plan = orderPlan({ baseUrl: 'https://gateway.example/api' });
const stages: PlanSummary['stages'] = validatePlan(plan).stages;
const options: OrderOptions = {
  services: { fraud: 'https://fraud.internal/v2' },
  baseUrl: 'https://gateway.example/api',
  allowedOrigins: ['https://gateway.example', 'https://fraud.internal'],
};
const same: Plan = orderPlan(options);
const fraudUrl: string = same.calls.fraud.url;

// @ts-expect-error misspelt option: baseURL for baseUrl
orderPlan({ baseURL: 'https://gateway.example/api' });
// @ts-expect-error maxCalls is compose()'s, not composeOrder()'s
orderPlan({ baseUrl: 'https://gateway.example/api', maxCalls: 10 });
// @ts-expect-error the options say where the services are: they are required
orderPlan();
