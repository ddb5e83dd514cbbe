// Part B of the benchmark (see bench/run.mjs): engine overhead per call, plans of 1,000
// calls over an injected fetch that resolves at once, in two variants interleaved in the
// same rounds: the Response-like stub (one object for every call; the engine's own cost) and
// a real Response per call (new Response(JSON.stringify(reply), {status: 200, headers:
// {'content-type': 'application/json'}}), as a real fetch gives: the body is read and parsed).
import {
  RUNS, SMOKE, CFG, B_IMPLS, B_SHAPES, B_RESPONSE_IMPLS, log, check, withTimeout, stats, round, rotated,
} from './shared.mjs';

/** The (implementation, fetch) pairs of one round: the stub for every B impl, then the Response ones. */
export const B_VARIANTS = [
  ...B_IMPLS.map((impl) => ({ impl, fetch: 'stub' })),
  ...B_RESPONSE_IMPLS.map((impl) => ({ impl, fetch: 'response' })),
];
export const bScenario = (shape, fetchKind) => (fetchKind === 'stub' ? `engine-${shape}` : `engine-${shape}-response`);
const label = (v) => (v.fetch === 'stub' ? v.impl : `${v.impl} (Response)`);

export async function partB(ctx) {
  const { page, cdp, results } = ctx;
  const n = CFG.engineCalls;
  for (const shape of B_SHAPES) {
    const info = await page.evaluate(([s, calls, edges, seed]) => window.bench.prepareGraph(s, calls, edges, seed),
      [shape, n, CFG.engineRandomEdges, CFG.engineSeed]);
    log(`\nB. engine overhead, ${shape}: ${info.calls} calls, ${info.edges} edges, longest chain ${info.depth} calls; stub fetch and a real Response per call`);
    for (const v of B_VARIANTS) {
      try {
        const r = await withTimeout(page.evaluate(([i, f]) => window.bench.engineVerify(i, f), [v.impl, v.fetch]), 60_000, `verify ${label(v)}`);
        check(`B ${shape} ${label(v)}: ${r.replies} replies, each fetched once, none before its inputs were read`,
          r.replies === n && r.allTheReply && r.fetchCalls === n && r.distinctFetched === n && r.problemCount === 0,
          JSON.stringify(r));
      } catch (err) {
        check(`B ${shape} ${label(v)}: runs`, false, String(err?.message ?? err));
      }
    }
    const sample = async (v, reps) => {
      await cdp.send('HeapProfiler.collectGarbage'); // every sample starts from a collected heap
      return withTimeout(page.evaluate(([i, f, r]) => window.bench.engineSample(i, f, r), [v.impl, v.fetch, reps]), 120_000, `engine ${label(v)}`);
    };
    // Warm-up (JIT), then the repetitions per sample, the same for every implementation
    // with the same kind of fetch (from the fastest of that kind, so that no sample is
    // shorter than about CFG.engineSampleTargetMs).
    const warm = B_VARIANTS.map(() => []);
    for (let w = 0; w < CFG.engineWarmups; w++) {
      for (const k of rotated(B_VARIANTS.map((_, i) => i), w)) warm[k].push((await sample(B_VARIANTS[k], 1)).ms);
    }
    const repsOf = {};
    for (const kind of ['stub', 'response']) {
      const fastest = CFG.engineWarmups ? Math.min(...B_VARIANTS.flatMap((v, i) => (v.fetch === kind ? [stats(warm[i]).median] : []))) : 0;
      repsOf[kind] = SMOKE ? 1 : Math.max(1, Math.min(200, Math.round(CFG.engineSampleTargetMs / Math.max(fastest, 0.05))));
    }
    const per = B_VARIANTS.map(() => []);
    const bad = B_VARIANTS.map(() => 0);
    for (let k = 0; k < RUNS; k++) {
      for (const i of rotated(B_VARIANTS.map((_, j) => j), k)) {
        const reps = repsOf[B_VARIANTS[i].fetch];
        const r = await sample(B_VARIANTS[i], reps);
        per[i].push(r.ms / reps);
        if (!(r.replies === n && r.allTheReply && r.fetchCalls === n * reps)) bad[i]++;
      }
    }
    B_VARIANTS.forEach((v, i) => {
      const reps = repsOf[v.fetch];
      check(`B ${shape} ${label(v)}: every timed sample produced ${n} replies from ${n * reps} fetches`, bad[i] === 0, `${bad[i]} bad samples`);
      const s = stats(per[i]);
      results.entries.push({
        part: 'B',
        scenario: bScenario(shape, v.fetch),
        shape,
        fetch: v.fetch,
        impl: v.impl,
        runs: s.n,
        repsPerRun: reps,
        calls: info.calls,
        edges: info.edges,
        depth: info.depth,
        medianMs: round(s.median, 3),
        p90Ms: round(s.p90, 3),
        usPerCall: round((s.median * 1000) / info.calls, 3),
        p90UsPerCall: round((s.p90 * 1000) / info.calls, 3),
      });
    });
  }
}
