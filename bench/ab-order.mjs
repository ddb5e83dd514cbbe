#!/usr/bin/env node
// Before and after, in one run: the order flow (part A's `composeOrder()` against the mock
// services) for two builds of the web package, loaded side by side in one Chromium page and
// interleaved round by round, optionally with the page's CPU throttled as in part A′. The
// way to tell whether a change to the engine moves the order flow's makespan, which part A
// and A′ judge only against hand-written code, run after run on a machine that drifts.
//
//   node bench/ab-order.mjs <dir A> <dir B | by-hand> [--rounds 21] [--throttle 1|2|4|6]
//                           [--latency uniform|skewed]
//
// Each dir holds a web package as `node scripts/build-pkg.mjs --out-dir <dir>` builds it.
// `by-hand` in place of B runs the same order written by hand instead (each call started
// when its inputs are there, bench/page/order-steps.js): what the composer adds to each hop.
// Prints each build's median makespan, the ratio B/A of the medians and the median of the
// ratios paired per round, with their middle half; and for each call, the median time from
// the end of the last reply it waits for to the start of its request (Resource Timing): the
// engine's share of each hop. The order alternates every round; run it twice with A and B swapped.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { startStaticServer } from '../scripts/serve.mjs';
import { CHROMIUM_ARGS } from '../tests/e2e/helpers.mjs';
import { LATENCY_SETS } from './page/contract.js';
import { launchBare } from './parts/bare-page.mjs';
import { BENCH_DIR, ORDER_REQUEST, admin, compareArgs, exitWith, servicesIn, startMock, stats } from './parts/shared.mjs';

const USAGE = 'usage: node bench/ab-order.mjs <package dir A> <package dir B, or by-hand> [--rounds 21] [--throttle 1|2|4|6] [--latency uniform|skewed]';
const { dirs, opts } = compareArgs('bench/ab-order', USAGE, {
  '--rounds': ['rounds', 'count'],
  '--throttle': ['throttle', ['1', '2', '4', '6']],
  '--latency': ['latency', Object.keys(LATENCY_SETS)],
}, { rounds: 21, throttle: '4', latency: 'uniform' });
const byHand = dirs[1] === 'by-hand';
for (const dir of byHand ? dirs.slice(0, 1) : dirs) {
  if (!existsSync(join(dir, 'parallel_composer.js'))) {
    exitWith(`bench/ab-order: ${dir} holds no web package (node scripts/build-pkg.mjs --out-dir ${dir} builds one)`);
  }
}
const { rounds, latency } = opts;
const throttle = Number(opts.throttle);

const mock = await startMock();
const web = await startStaticServer({
  port: 0,
  wwwDir: join(BENCH_DIR, 'page'),
  config: mock.config, // the page may connect to the mock services' origins (its CSP)
  extraMounts: [{ prefix: '/a/', root: resolve(dirs[0]) }, ...(byHand ? [] : [{ prefix: '/b/', root: resolve(dirs[1]) }])],
});
// The order flow is timed where no DevTools client records each request's initiator
// (bench/parts/bare-page.mjs): that costs a fetch() more the deeper its stack.
const browser = await launchBare(CHROMIUM_ARGS);
try {
  const scenario = `ab-order-${latency}`;
  const set = LATENCY_SETS[latency];
  await admin(mock.config, 'DELETE', `/scenarios/${scenario}`);
  await admin(mock.config, 'PUT', `/scenarios/${scenario}`, { defaultLatency: set.defaultLatency, latency: set.latency });
  const S = servicesIn(mock.config, scenario);
  const page = await browser.newPage(new URL('blank.html', web.url).href);
  await page.evaluate(async (names) => {
    window.ab = await import('/ab.js');
    await window.ab.load(names);
  }, byHand ? ['a'] : ['a', 'b']);
  await page.send('Emulation.setCPUThrottlingRate', { rate: throttle });
  const run = async (name) => {
    const r = await page.evaluate(([n, s, q]) => window.ab.order(n, s, q), [byHand && name === 'b' ? 'by-hand' : name, S, ORDER_REQUEST]);
    if (!r.confirmed) throw new Error(`bench/ab-order: build ${name} did not confirm the order`);
    return r;
  };
  // Warm-up, which also caches the CORS preflights of every service.
  for (let w = 0; w < 3; w++) for (const name of ['a', 'b']) await run(name);
  const got = { a: [], b: [] };
  for (let k = 0; k < rounds; k++) {
    for (const name of k % 2 ? ['b', 'a'] : ['a', 'b']) got[name].push(await run(name));
  }
  if (page.errors.length) throw new Error(`bench/ab-order: the page reported ${page.errors.join('; ')}`);
  const median = (xs) => stats(xs).median;
  const ms = (name) => got[name].map((r) => r.ms);
  const a = median(ms('a'));
  const b = median(ms('b'));
  const ratios = ms('a').map((x, k) => ms('b')[k] / x).sort((x, y) => x - y);
  const quartile = (q) => ratios[Math.round(q * (ratios.length - 1))];
  console.log(`A = ${dirs[0]}\nB = ${dirs[1]}\norder flow, ${latency} latencies, CPU throttled ${throttle}x, ${rounds} rounds`);
  console.log(`makespan  A ${a.toFixed(1)} ms  B ${b.toFixed(1)} ms  B/A x${(b / a).toFixed(4)}, paired x${median(ratios).toFixed(4)} (middle half x${quartile(0.25).toFixed(4)}-${quartile(0.75).toFixed(4)})`);
  // Each call's start after the last of its inputs arrived: what the engine adds to a hop.
  const services = Object.keys(got.a[0].startAfterInputsMs);
  const wait = (name, s) => median(got[name].map((r) => r.startAfterInputsMs[s] ?? NaN)).toFixed(2);
  console.log(`start after the last input (ms, median)  ${services.map((s) => `${s} ${wait('a', s)}/${wait('b', s)}`).join('  ')}  (A/B)`);
} finally {
  await browser.close();
  await web.close();
  await mock.stop();
}
