// The order flow as the running package hands it out. orderPlan() returns the very plan
// composeOrder() runs with the same options, so the page reads its calls, its edges and
// its requests from there rather than keeping a copy of them.
import { dependencies } from './plan-deps.js';

/**
 * What the page draws of the order plan (`orderPlan({ services })`):
 *   calls     the call names, in the order composeOrder() reports them
 *   deps      { call: [the calls it waits for] }: the graph's edges
 *   request   (call) => "POST /reservations": its method and its path on its service
 *   undoable  the calls whose completed write has a compensation
 */
export function readOrderPlan(plan, services) {
  const calls = Object.keys(plan.calls);
  const path = (name) => {
    const { url } = plan.calls[name];
    const base = String(services[name] ?? '').replace(/\/+$/, '');
    return base && url.startsWith(base) ? url.slice(base.length) : url;
  };
  return {
    calls,
    deps: dependencies(plan),
    request: (name) => `${plan.calls[name].method ?? 'GET'} ${path(name)}`,
    undoable: new Set(calls.filter((name) => plan.calls[name].compensate)),
  };
}
