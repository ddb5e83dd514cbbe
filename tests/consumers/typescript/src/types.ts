// The package's types are exact: each function's parameters and result are the documented
// interfaces (no `any`, no index signature that would let a misspelt option through), and a
// misspelt option or plan field is a compile error. Each `@ts-expect-error` below fails the
// check if the error it expects ever disappears.
import init, {
  compose, composeOrder, validatePlan, ComposeError, composeStream, composeOrderStream,
  type ComposePart, type OrderPart, type PartStream, type ServiceName,
  type ComposeOptions, type ComposeResult, type OrderOptions, type OrderRequest, type OrderResult,
  type Plan, type PlanCall, type PlanSummary, type ComposeErrorCode, type CallRecord, type CompensationRecord,
} from 'parallel-composer';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type Expect<T extends true> = T;
type IsAny<T> = 0 extends 1 & T ? true : false;
type HasIndexSignature<T> = string extends keyof T ? true : false;

export type Checks = [
  Expect<Equal<Parameters<typeof compose>, [plan: Plan, input: unknown, options?: ComposeOptions | null]>>,
  Expect<Equal<ReturnType<typeof compose>, Promise<ComposeResult>>>,
  Expect<Equal<Parameters<typeof composeOrder>, [request: OrderRequest, options?: OrderOptions | null]>>,
  Expect<Equal<ReturnType<typeof composeOrder>, Promise<OrderResult>>>,
  Expect<Equal<Parameters<typeof validatePlan>, [plan: Plan]>>,
  Expect<Equal<ReturnType<typeof validatePlan>, PlanSummary>>,
  Expect<Equal<HasIndexSignature<ComposeOptions>, false>>,
  Expect<Equal<HasIndexSignature<OrderOptions>, false>>,
  Expect<Equal<HasIndexSignature<PlanCall>, false>>,
  Expect<Equal<HasIndexSignature<OrderResult>, false>>,
  Expect<Equal<HasIndexSignature<CallRecord>, false>>,
  Expect<Equal<IsAny<ComposeResult['data'][string]>, false>>,
  Expect<Equal<ComposeError['code'], ComposeErrorCode>>,
  Expect<Equal<ComposeError['call'], string | null>>,
  Expect<Equal<ComposeError['status'], number | null>>,
  Expect<Equal<ComposeError['calls'], Record<string, CallRecord>>>,
  Expect<Equal<ComposeError['compensations'], CompensationRecord[]>>,
  Expect<Equal<ComposeError['resubmit'], 'same-operation' | 'new-operation'>>,
  Expect<Equal<CallRecord['replayed'], boolean>>,
  Expect<Equal<CallRecord['fellBack'], boolean>>,
  Expect<Equal<Parameters<typeof composeStream>, [plan: Plan, input: unknown, options?: ComposeOptions | null]>>,
  Expect<Equal<ReturnType<typeof composeStream>, PartStream<ComposePart>>>,
  Expect<Equal<Parameters<typeof composeOrderStream>, [request: OrderRequest, options?: OrderOptions | null]>>,
  Expect<Equal<ReturnType<typeof composeOrderStream>, PartStream<OrderPart>>>,
  Expect<Equal<Extract<ComposePart, { type: 'call' }>['record'], CallRecord>>,
  Expect<Equal<Extract<ComposePart, { type: 'result' }>['result'], ComposeResult>>,
  Expect<Equal<Extract<OrderPart, { type: 'call' }>['call'], ServiceName>>,
  Expect<Equal<Extract<OrderPart, { type: 'result' }>['result'], OrderResult>>,
  Expect<Equal<Extract<OrderResult['notification'], { sent: false }>['state'], 'failed' | 'skipped' | 'cancelled' | 'not-sent' | 'unknown'>>,
  Expect<Equal<OrderResult['calls'], Record<'customer' | 'cart' | 'inventory' | 'pricing' | 'shipping' | 'fraud' | 'tax' | 'payment' | 'order' | 'notification', CallRecord>>>,
  // composeOrder() does not take maxCalls; compose() does.
  Expect<Equal<'maxCalls' extends keyof OrderOptions ? true : false, false>>,
];

await init();
const error = new ComposeError('x');
const isError: Error = error;
const plan: Plan = { calls: { a: { url: 'https://api.example/a' } } };

// @ts-expect-error misspelt option: timeoutMS for timeoutMs
await compose(plan, {}, { timeoutMS: 2000 });
// @ts-expect-error misspelt option: deadlineMS for deadlineMs
await composeOrder({ customerId: 'c', cartId: 'k', paymentMethodId: 'p' }, { deadlineMS: 5000 });
// @ts-expect-error an option of the wrong type
await compose(plan, {}, { maxAttempts: '3' });
// @ts-expect-error not a schedule
await compose(plan, {}, { schedule: 'parallel' });
// @ts-expect-error maxCalls is compose()'s, not composeOrder()'s
await composeOrder({ customerId: 'c', cartId: 'k', paymentMethodId: 'p' }, { maxCalls: 10 });
// @ts-expect-error misspelt service name
await composeOrder({ customerId: 'c', cartId: 'k', paymentMethodId: 'p' }, { services: { fraudd: 'https://fraud.internal' } });
// @ts-expect-error misspelt plan field: timeout for timeoutMs
await compose({ calls: { a: { url: 'https://api.example/a', timeout: 5 } } }, {});
// @ts-expect-error not a method
validatePlan({ calls: { a: { url: 'https://api.example/a', method: 'FETCH' } } });
// @ts-expect-error a request without its cart
await composeOrder({ customerId: 'c', paymentMethodId: 'p' });
// @ts-expect-error not an error code
const code: ComposeErrorCode = 'TIMED_OUT';
