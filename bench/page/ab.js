// The page side of bench/ab.mjs: part B's plans and fetch stand-ins, run through two
// builds of the package loaded side by side in one page (served at /a/ and /b/), so that a
// change is measured against the build before it in the same browser, heap and minute.
import { DEPENDS, frozenCopy, graphDeps, instantFetch, planOf } from './contract.js';
import { orderEager } from './order-steps.js';

const builds = {};

/** Loads and initialises each build under `/<name>/`. */
export async function load(names) {
  for (const name of names) {
    const pkg = await import(`/${name}/parallel_composer.js`);
    await pkg.default();
    builds[name] = pkg;
  }
}

const plans = {};

/** Part B's plan of `calls` calls of `shape` (wide, deep, random), and its frozen copy. */
export function prepare(shape, calls, edges, seed) {
  const plan = planOf(graphDeps(shape, calls, { edges, seed }));
  plans[shape] = { plan, frozen: frozenCopy(plan), calls };
}

/**
 * Runs `reps` compositions of the plan of `shape` with build `name`; the milliseconds per
 * composition, and whether the last one resolved every call to the stand-in's reply. With
 * `readCalls`, every result's `calls` is read too (each record's state), as a page that
 * shows them does.
 */
export async function sample(name, shape, kind, reps, frozen, readCalls = false) {
  const { plan, frozen: frozenPlan, calls } = plans[shape];
  const stand = instantFetch(kind);
  const options = { fetch: stand.fetch };
  const compose = () => builds[name].compose(frozen ? frozenPlan : plan, {}, options);
  const run = readCalls
    ? async () => {
      const result = await compose();
      for (const record of Object.values(result.calls)) if (record.state !== 'ok') throw new Error(`a call ended ${record.state}`);
      return result;
    }
    : compose;
  let result;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) result = await run();
  const ms = (performance.now() - t0) / reps;
  const replies = Object.values(result.data);
  return { ms, complete: replies.length === calls && replies.every(stand.isReply) };
}

/**
 * One order of `request` against the services `S`: with build `name`'s `composeOrder()`, or
 * with `name` 'by-hand', the same order written by hand (`orderEager`, each call started when
 * its inputs are there). Its makespan, whether the order was confirmed, and per
 * service how long after the last reply it waits for ended its request started (Resource
 * Timing): the composer's, or the hand-written code's, share of each hop.
 */
export async function order(name, S, request) {
  performance.clearResourceTimings();
  const t0 = performance.now();
  const result = name === 'by-hand' ? await orderEager(S, request) : await builds[name].composeOrder(request, { services: S });
  const ms = performance.now() - t0;
  const entries = performance.getEntriesByType('resource').filter((e) => e.startTime >= t0 && e.initiatorType === 'fetch');
  const of = Object.fromEntries(Object.keys(DEPENDS).map((s) => [s, entries.find((e) => e.name.startsWith(`${S[s]}/`))]));
  const startAfterInputsMs = {};
  for (const [service, deps] of Object.entries(DEPENDS)) {
    if (!deps.length || !of[service] || deps.some((d) => !of[d])) continue;
    startAfterInputsMs[service] = of[service].startTime - Math.max(...deps.map((d) => of[d].responseEnd));
  }
  return { ms, confirmed: result.status === 'confirmed', startAfterInputsMs };
}
