// The page side of bench/ab.mjs: part B's plans and fetch stand-ins, run through two
// builds of the package loaded side by side in one page (served at /a/ and /b/), so that a
// change is measured against the build before it in the same browser, heap and minute.
import { graphDeps, planOf } from './contract.js';

const builds = {};

/** Loads and initialises each build under `/<name>/`. */
export async function load(names) {
  for (const name of names) {
    const pkg = await import(`/${name}/parallel_composer.js`);
    await pkg.default();
    builds[name] = pkg;
  }
}

/** Part B's injected fetch: the same Response-like stub for every call, or a new Response. */
function instantFetch(kind) {
  const reply = { ok: true, n: 1 };
  if (kind === 'stub') {
    const response = { status: 200, ok: true, json: () => Promise.resolve(reply) };
    return () => Promise.resolve(response);
  }
  const headers = { 'content-type': 'application/json' };
  return () => Promise.resolve(new Response(JSON.stringify(reply), { status: 200, headers }));
}

const deepFreeze = (value) => {
  if (value !== null && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
};

const plans = {};

/** Part B's plan of `calls` calls of `shape` (wide, deep, random), and its frozen copy. */
export function prepare(shape, calls, edges, seed) {
  const plan = planOf(graphDeps(shape, calls, { edges, seed }));
  plans[shape] = { plan, frozen: deepFreeze(structuredClone(plan)), calls };
}

/**
 * Runs `reps` compositions of the plan of `shape` with build `name`; the milliseconds per
 * composition, and whether the last one resolved every call.
 */
export async function sample(name, shape, kind, reps, frozen) {
  const { plan, frozen: frozenPlan, calls } = plans[shape];
  const options = { fetch: instantFetch(kind) };
  const run = () => builds[name].compose(frozen ? frozenPlan : plan, {}, options);
  let result;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) result = await run();
  const ms = (performance.now() - t0) / reps;
  return { ms, complete: Object.keys(result.data).length === calls };
}
