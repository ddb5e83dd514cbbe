// Part C of the benchmark (see bench/run.mjs): ten 1 MiB JSON replies from ten origins,
// compose() vs Promise.all(fetch): time and peak JS heap.
import { SERVICES } from '../page/contract.js';
import { SMOKE, RUNS, CFG, C_IMPLS, log, check, withTimeout, stats, round, rotated, admin } from './shared.mjs';

export async function partC(ctx) {
  const { page, cdp, mock, results } = ctx;
  const scenario = `${SMOKE ? 'smoke' : 'bench'}-payload`;
  await admin(mock, 'DELETE', `/scenarios/${scenario}`);
  const kb = CFG.payloadKb;
  const urls = SERVICES.map((s) => `${mock.services[s]}/s/${scenario}/lab/big?kb=${kb}`);
  log(`\nC. payload: ${urls.length} replies of ${kb} KiB JSON from ${urls.length} origins`);
  const heapUsed = async () => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    return metrics.find((m) => m.name === 'JSHeapUsedSize').value;
  };
  const gc = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('HeapProfiler.collectGarbage');
  };
  const run = (impl, keep) => withTimeout(page.evaluate(([i, u, k]) => window.bench.payload(i, u, k), [impl, urls, keep]), 60_000, `payload ${impl}`);

  // The reference document, to check every reply: its rows and its padding.
  const doc = await (await fetch(urls[0])).json();
  const want = { rows: doc.rows.length, pad: doc.pad.length };
  const okReply = (r) => r.replies === urls.length && r.rows.every((x) => x === want.rows) && r.padChars.every((x) => x === want.pad);
  for (const impl of C_IMPLS) {
    const r = await run(impl, false);
    check(`C ${impl}: ${r.replies} replies of ${want.rows} rows each, parsed`, okReply(r), JSON.stringify(r));
  }

  const time = Object.fromEntries(C_IMPLS.map((i) => [i, []]));
  const heap = Object.fromEntries(C_IMPLS.map((i) => [i, []]));
  let bad = 0;
  const timedRuns = SMOKE ? 1 : RUNS;
  for (let k = 0; k < (SMOKE ? 0 : 2); k++) for (const impl of C_IMPLS) await run(impl, false); // warm-up
  for (let k = 0; k < timedRuns; k++) {
    for (const impl of rotated(C_IMPLS, k)) {
      await gc();
      const r = await run(impl, false);
      time[impl].push(r.ms);
      if (!okReply(r)) bad++;
    }
  }
  // Heap runs: JSHeapUsedSize polled over CDP while the run is in flight, and once more
  // after it with the replies still referenced; peak minus the collected heap before it.
  for (let k = 0; k < CFG.payloadHeapRuns; k++) {
    for (const impl of rotated(C_IMPLS, k)) {
      await gc();
      const base = await heapUsed();
      let peak = base;
      let polls = 0;
      let done = false;
      const poller = (async () => {
        while (!done) {
          const v = await heapUsed();
          polls++;
          if (v > peak) peak = v;
        }
      })();
      let r;
      try {
        r = await run(impl, true);
      } finally {
        done = true;
        await poller;
      }
      const after = await heapUsed();
      peak = Math.max(peak, after);
      await page.evaluate(() => window.bench.releasePayload());
      heap[impl].push({ base, peak, delta: peak - base, retained: after - base, polls, wasm: r.wasmMemoryBytes });
      if (!okReply(r)) bad++;
    }
  }
  await gc();
  check(`C: every timed and heap run returned ${urls.length} complete replies`, bad === 0, `${bad} bad runs`);
  for (const impl of C_IMPLS) {
    const s = stats(time[impl]);
    const h = heap[impl];
    results.entries.push({
      part: 'C',
      scenario: `payload-10x${kb}KiB`,
      impl,
      runs: s.n,
      medianMs: round(s.median),
      p90Ms: round(s.p90),
      payloadBytes: urls.length * kb * 1024,
      heapRuns: h.length,
      peakHeapBytes: stats(h.map((x) => x.peak)).median,
      peakHeapOverBaseBytes: stats(h.map((x) => x.delta)).median,
      retainedHeapBytes: stats(h.map((x) => x.retained)).median,
      heapPollsPerRun: stats(h.map((x) => x.polls)).median,
      wasmMemoryBytes: h.at(-1)?.wasm ?? null,
    });
  }
}

