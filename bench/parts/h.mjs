// Part H of the benchmark (see bench/run.mjs): hedged reads against a long tail, measured in
// Node by bench/node/hedge.mjs (read its head for the method): the order flow through a
// composer without a hedge and one with `hedge: {afterMs: <the p95 of a read in a warm-up of
// this run>, maxExtraPercent: 10}`, the mock's tail on the two reads (customer, cart), the
// p50/p95/p99 of each arm's makespans and the extra reads the hedges cost. Node, not the
// browser: the same engine and the same hedges, many hundreds of orders a minute with
// several in flight, and no page to drive. It needs neither the browser nor pkg/: it uses
// part E's nodejs build (target/bench-node/pkg/), and its mock is stopped by part E's
// stopNodeChildren() when the run is interrupted.
import { partH as hedgeRun, ARMS } from '../node/hedge.mjs';
import { SMOKE, log, check } from './shared.mjs';

export async function partH(ctx) {
  const { results } = ctx;
  log('');
  let r;
  try {
    r = await hedgeRun({ smoke: SMOKE, log });
  } catch (err) {
    for (const c of err?.sanity ?? []) check(c.name, c.ok, c.detail, { quiet: true });
    throw err;
  }
  for (const c of r.sanity) check(c.name, c.ok, c.detail, { quiet: true });
  log(`  (${r.sanity.length} checks above counted: ${r.sanity.filter((c) => c.ok).length} ok)`);
  for (const arm of ARMS) {
    const a = r.arms[arm];
    results.entries.push({
      part: 'H', scenario: 'tail', impl: arm, runs: a.compositions, medianMs: a.p50Ms, p95Ms: a.p95Ms, p99Ms: a.p99Ms, maxMs: a.maxMs,
    });
  }
  results.hedge = r;
}
