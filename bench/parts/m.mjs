// Part M of the benchmark (see bench/run.mjs): memory over many compositions in one page.
// CFG.memoryCompositions compose() calls of a small plan, one after another, over an
// injected instant fetch that gives a new Response per call, in a page of their own (so
// that what the other parts left behind does not count). After the first CFG.memoryBase and
// after every CFG.memoryChunk more, a collected JS heap (CDP HeapProfiler.collectGarbage,
// twice, then Runtime.getHeapUsage; Performance.getMetrics JSHeapUsedSize beside it) and
// the wasm linear memory (memory.buffer.byteLength, which never shrinks).
import { watchPage } from '../../tests/e2e/helpers.mjs';
import { CFG, log, check, withTimeout, round, mib } from './shared.mjs';

export async function partM(ctx) {
  const { browser, web, results } = ctx;
  const total = CFG.memoryCompositions;
  const base = CFG.memoryBase;
  const page = await browser.newPage();
  try {
    page.setDefaultTimeout(30_000);
    const seen = await watchPage(page);
    await page.goto(new URL('index.html', web.url).href);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 });
    await withTimeout(page.evaluate(() => window.bench.setup()), 60_000, 'init() on the memory page');
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const info = await page.evaluate(([c, e, seed]) => window.bench.memoryPrepare(c, e, seed), [CFG.memoryCalls, CFG.memoryEdges, CFG.engineSeed]);
    log(`\nM. memory: ${total} compositions of a plan of ${info.calls} calls (${info.edges} edges) in one page, over an instant fetch giving a new Response per call; base after ${base}`);

    const measure = async (done) => {
      await cdp.send('HeapProfiler.collectGarbage');
      await cdp.send('HeapProfiler.collectGarbage');
      const { usedSize, totalSize } = await cdp.send('Runtime.getHeapUsage');
      const { metrics } = await cdp.send('Performance.getMetrics');
      const wasmMemoryBytes = await page.evaluate(() => window.bench.wasmMemoryBytes());
      return { compositions: done, jsHeapUsedBytes: usedSize, jsHeapTotalBytes: totalSize, jsHeapUsedSizeMetric: metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? null, wasmMemoryBytes };
    };
    const run = (count) => withTimeout(page.evaluate((n) => window.bench.memoryRun(n), count), 300_000, `${count} compositions`);
    let good = 0;
    let fetches = 0;
    let ms = 0;
    let done = 0;
    const points = [];
    const step = async (count) => {
      const r = await run(count);
      good += r.good;
      fetches += r.fetches;
      ms += r.ms;
      done += count;
      points.push(await measure(done));
    };
    await step(base);
    while (done < total) await step(Math.min(CFG.memoryChunk, total - done));
    await cdp.detach();
    check(`M: ${good} of ${total} compositions returned ${info.calls} replies each, from ${fetches} fetches`,
      good === total && fetches === total * info.calls, `${good} good, ${fetches} fetches, want ${total * info.calls}`);
    check('M: no uncaught exception, console error or warning on the memory page',
      seen.pageErrors.length + seen.consoleErrors.length + seen.consoleWarnings.length + seen.failedRequests.length === 0, JSON.stringify(seen));
    const first = points[0];
    const last = points.at(-1);
    log(`   after ${first.compositions}: JS heap ${mib(first.jsHeapUsedBytes)}, wasm ${mib(first.wasmMemoryBytes)}; after ${last.compositions}: JS heap ${mib(last.jsHeapUsedBytes)}, wasm ${mib(last.wasmMemoryBytes)}`);
    results.memory = {
      compositions: total,
      baseAfter: base,
      plan: info,
      fetch: 'response',
      msPerComposition: round(ms / total, 4),
      base: first,
      end: last,
      jsHeapRatio: round(last.jsHeapUsedBytes / first.jsHeapUsedBytes, 4),
      wasmMemoryRatio: round(last.wasmMemoryBytes / first.wasmMemoryBytes, 4),
      points,
    };
  } finally {
    await page.close();
  }
}
