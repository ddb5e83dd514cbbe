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
import { BENCH_DIR, CFG, configure, stats } from './parts/shared.mjs';

const USAGE = 'usage: node bench/ab.mjs <package dir A> <package dir B> [--rounds 21] [--fetch stub|response] [--shapes wide,deep,random] [--not-frozen] [--read-calls]';
const fail = (message) => {
  console.error(message);
  process.exit(2);
};
const dirs = [];
const opts = { rounds: 21, fetch: 'stub', shapes: ['wide', 'deep', 'random'], frozen: true, readCalls: false };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  const value = () => (i + 1 < argv.length ? argv[++i] : fail(`bench/ab: ${arg} needs a value\n${USAGE}`));
  if (arg === '--rounds') opts.rounds = Number(value());
  else if (arg === '--fetch') opts.fetch = value();
  else if (arg === '--shapes') opts.shapes = value().split(',');
  else if (arg === '--not-frozen') opts.frozen = false;
  else if (arg === '--read-calls') opts.readCalls = true;
  else if (arg.startsWith('--')) fail(`bench/ab: unknown option ${arg}\n${USAGE}`);
  else dirs.push(arg);
}
if (dirs.length !== 2) fail(USAGE);
if (!(Number.isInteger(opts.rounds) && opts.rounds >= 1)) fail(`bench/ab: --rounds takes a positive integer, not ${opts.rounds}`);
if (!['stub', 'response'].includes(opts.fetch)) fail(`bench/ab: --fetch takes stub or response, not ${opts.fetch}`);
const unknown = opts.shapes.filter((s) => !['wide', 'deep', 'random'].includes(s));
if (unknown.length) fail(`bench/ab: --shapes takes wide, deep and random, not ${unknown.join(', ')}`);
for (const dir of dirs) {
  if (!existsSync(join(dir, 'parallel_composer.js'))) {
    fail(`bench/ab: ${dir} holds no web package (node scripts/build-pkg.mjs --out-dir ${dir} builds one)`);
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
