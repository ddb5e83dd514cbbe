#!/usr/bin/env node
// Before and after, in one run: part B (the engine's cost per call) for two builds of the
// web package, loaded side by side in one Chromium page and interleaved round by round,
// so that both meet the same browser, heap and minute. The way to tell whether a change to
// the engine is faster than the build before it, on a machine whose speed drifts by more
// than the change (docs/performance.md).
//
//   node bench/ab.mjs <dir A> <dir B> [--rounds 21] [--fetch stub|response]
//                     [--shapes wide,deep,random] [--not-frozen] [--read-calls]
//
// Each dir holds a web package as `node scripts/build-pkg.mjs --out-dir <dir>` builds it:
// build one before the change and one after (target/ is a good place; pkg/ is the tree's
// own build, which bench/run.mjs rebuilds when src/ changes).
//
// Prints, per plan shape, each build's median milliseconds per composition of 1,000 calls
// (part B's plans, bench/page/contract.js) and the ratio B/A: the ratio of the medians and
// the median of the ratios paired per round, with the middle half of those ratios. The order
// alternates every round; run it twice with A and B swapped before believing a few percent.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { chromium } from 'playwright-core';
import { startStaticServer } from '../scripts/serve.mjs';
import { CHROMIUM_ARGS } from '../tests/e2e/helpers.mjs';
import { BENCH_DIR, CFG, compareArgs, configure, exitWith, stats } from './parts/shared.mjs';

const USAGE = 'usage: node bench/ab.mjs <package dir A> <package dir B> [--rounds 21] [--fetch stub|response] [--shapes wide,deep,random] [--not-frozen] [--read-calls]';
const { dirs, opts } = compareArgs('bench/ab', USAGE, {
  '--rounds': ['rounds', 'count'],
  '--fetch': ['fetch', ['stub', 'response']],
  '--shapes': ['shapes', 'shapes'],
  '--not-frozen': ['frozen', false],
  '--read-calls': ['readCalls', true],
}, { rounds: 21, fetch: 'stub', shapes: ['wide', 'deep', 'random'], frozen: true, readCalls: false });
for (const dir of dirs) {
  if (!existsSync(join(dir, 'parallel_composer.js'))) {
    exitWith(`bench/ab: ${dir} holds no web package (node scripts/build-pkg.mjs --out-dir ${dir} builds one)`);
  }
}
const { rounds, fetch: kind, shapes, frozen, readCalls } = opts;
configure([]); // CFG: part B's plan sizes and seed, as bench/run.mjs uses them

const web = await startStaticServer({
  port: 0,
  wwwDir: join(BENCH_DIR, 'page'),
  extraMounts: [{ prefix: '/a/', root: resolve(dirs[0]) }, { prefix: '/b/', root: resolve(dirs[1]) }],
});
const browser = await chromium.launch({ executablePath: process.env.PC_CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage();
  await page.goto(new URL('blank.html', web.url).href);
  const cdp = await page.context().newCDPSession(page);
  await page.evaluate(async () => {
    window.ab = await import('/ab.js');
    await window.ab.load(['a', 'b']);
  });
  const median = (xs) => stats(xs).median;
  console.log(`A = ${dirs[0]}\nB = ${dirs[1]}\n${kind} fetch, plan ${frozen ? 'frozen' : 'read at every composition'}${readCalls ? ', every result\'s calls read' : ''}, ${rounds} rounds`);
  for (const shape of shapes) {
    await page.evaluate(([s, n, e, seed]) => window.ab.prepare(s, n, e, seed), [shape, CFG.engineCalls, CFG.engineRandomEdges, CFG.engineSeed]);
    const run = async (name, reps) => {
      await cdp.send('HeapProfiler.collectGarbage');
      const r = await page.evaluate(([n, s, k, reps, f, c]) => window.ab.sample(n, s, k, reps, f, c), [name, shape, kind, reps, frozen, readCalls]);
      if (!r.complete) throw new Error(`bench/ab: build ${name} did not resolve every call of the ${shape} plan`);
      return r.ms;
    };
    for (let w = 0; w < 3; w++) for (const name of ['a', 'b']) await run(name, 3);
    const ms = { a: [], b: [] };
    for (let k = 0; k < rounds; k++) {
      for (const name of k % 2 ? ['b', 'a'] : ['a', 'b']) ms[name].push(await run(name, 8));
    }
    const a = median(ms.a);
    const b = median(ms.b);
    const ratios = ms.a.map((x, k) => ms.b[k] / x).sort((x, y) => x - y);
    const paired = median(ratios);
    // The middle half of the paired ratios: a change is beyond this machine's noise only
    // when the range leaves 1 out, in both orders of A and B.
    const quartile = (q) => ratios[Math.round(q * (ratios.length - 1))];
    const perCall = (x) => `${((x * 1000) / CFG.engineCalls).toFixed(2)} µs per call`;
    console.log(`${shape.padEnd(6)}  A ${a.toFixed(2)} ms (${perCall(a)})  B ${b.toFixed(2)} ms (${perCall(b)})  B/A x${(b / a).toFixed(3)}, paired x${paired.toFixed(3)} (middle half x${quartile(0.25).toFixed(3)}-${quartile(0.75).toFixed(3)})`);
  }
} finally {
  await browser.close();
  await web.close();
}
