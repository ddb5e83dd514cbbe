#!/usr/bin/env node
// Part H of the benchmark: hedged reads against a long tail, in Node.
//
//   node bench/node/hedge.mjs            # the full run (about a minute)
//   node bench/node/hedge.mjs --smoke    # a few compositions per arm; nothing judged
//   node bench/node/hedge.mjs --share 0.03 --compositions 300   # another tail, fewer orders
//   node bench/node/hedge.mjs --spread random   # each read drawn into the tail on its own
//
// The mock services run in another process (bench/mock-child.mjs), 50 ms per service, with a
// long tail on the order flow's two reads only: `share` (5%) of the requests to customer and
// to cart wait `factor` (10) times their latency (mock/README.md, "Long tail"): the issue's
// "5% of reads 10x slower". The tail's spread is `exact` by default: one request in every 20
// to each service is slow, evenly over its arrivals (the phase random per run), so that every
// window of reads holds its 5%, the warm-up's too; with `--spread random` each request is
// drawn on its own and the warm-up's p95 is a coin toss (settingsOf). The order flow runs
// through two composers from the nodejs build, both with the cache off (every composition
// sends its reads; no breaker): one without a hedge ("unhedged"), one with `hedge: {afterMs, maxExtraPercent: 10}` ("hedged"),
// `afterMs` the p95 of a read (the customer and cart records' endMs - startMs) measured in a
// warm-up of this run under the same tail, with the unhedged composer: the median of the p95s
// of its windows of 40 orders (robustP95). Each arm has a
// scenario of its own with the same settings, so that the mock's log counts each arm's
// requests. `inflight` workers each run a pair (one composition of each arm, back to back,
// the order alternating) until every arm has made `compositions`: the arms share the
// machine's minutes. Before that, a few pairs not measured fill the hedged composer's budget
// window (a fresh composer has no reads yet to hedge a share of).
//
// Reported: p50, p95 and p99 (nearest rank) of each arm's makespans, the cut of the p99, and
// the extra reads: hedges over the arm's reads, counted both from the records' `hedged` and
// from the mock's log (requests to customer and cart beyond two per composition); the larger
// is judged. Checks: one order through each composer in a scenario without the tail, judged
// by the mock's log (one request per service, the total the money rules give); every timed
// order confirmed with that total; the unhedged arm sent exactly two reads per composition.
//
// Interface (for bench/run.mjs): partH({ smoke, log, handleSignals, ...settings }) -> the
// figures (see the end of partH). It builds the nodejs package when needed (bff.mjs's
// ensureNodeBuild) and starts its mock through bff.mjs, so bff's stopAll() stops it too.
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

import { SERVICES } from '../page/contract.js';
import { ensureNodeBuild, loadNodePackage, startMock, admin, servicesIn, expectedFromLog, stopAll, ORDER_REQUEST, withTimeout } from './bff.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const ARMS = Object.freeze(['unhedged', 'hedged']);
/** The order flow's reads, which the tail slows and a hedge may repeat. */
export const READS = Object.freeze(['customer', 'cart']);
export const P99_CUT_TARGET = 0.30; // the hedged p99 at least 30% below the unhedged one
export const EXTRA_TARGET = 0.10; // hedges at most 10% of the reads
/** The cache off for every cacheable call of the order flow: each composition sends its reads. */
const NO_CACHE = Object.freeze({ customer: false, cart: false, pricing: false, shipping: false, tax: false });

/** The settings of a run; `smoke` changes the defaults, anything given wins. */
export function settingsOf({ smoke = false, ...given } = {}) {
  const s = {
    smoke,
    latencyMs: 50,
    // 5% of the reads 10x slower, spread exactly. With a tail of 5%, the p95 of a read is the
    // edge of the tail itself, so it measures something only if the warm-up holds 5% of slow
    // reads, not 5% give or take. The exact spread slows one request in every 20 to each
    // service (mock/README.md, "Long tail"): each window of 40 warm-up orders (80 reads, by
    // the order they started) holds exactly 4 slow ones, and its nearest-rank p95 (the 76th
    // read) is the slowest of its normal ones, every run. What it models: a backend whose
    // slow 5% is steady, so that any window of its reads holds 5%. What it leaves out: slow reads in bursts, and slow hedges (the next slow
    // request to a service is 20 arrivals away, where an independent draw slows 5% of the
    // hedges, about one order in 200). The slowest normal read of a window is that window's
    // worst stall of this machine; taken over the whole warm-up, one stall set afterMs (66 to
    // 460 ms over seven runs, and the cut holds only up to about 200 ms), so afterMs is the
    // median of the windows' p95s (robustP95).
    // With `--spread random` each read is drawn on its own, as before: the warm-up draws over
    // 20 of 400 into the tail in 44% of runs, the p95 is then a tail read's 500 ms, and a
    // hedge sent after 500 ms saves nothing; a coin toss per run, not a measure of hedging
    // (docs/performance.md, "H, the share of the tail and its spread", measured it).
    share: 0.05,
    spread: 'exact',
    factor: 10,
    maxExtraPercent: 10,
    compositions: smoke ? 12 : 600, // per arm, measured
    warmUp: smoke ? 12 : 200, // compositions of the warm-up that measures the read's p95
    window: smoke ? 12 : 40, // compositions per window of the warm-up (robustP95)
    armWarmUp: smoke ? 2 : 20, // pairs before the measured ones, not measured
    inflight: smoke ? 4 : 8,
    nodePkg: null,
  };
  for (const [k, v] of Object.entries(given)) if (v !== undefined && v !== null && k !== 'log' && k !== 'handleSignals') s[k] = v;
  return s;
}

// ------------------------------------------------------------------ small helpers


/**
 * A read's p95 that one stall of the machine does not move: the median of the p95s of windows
 * of `window` compositions (their reads, by the order the compositions started). With the
 * exact spread, each window's reads hold their 5% in the tail, so its p95 is its slowest
 * normal read; a stall that slows every read in flight at once moves one window's, not the
 * median. With a single window (a warm-up shorter than two), the plain p95.
 */
export function robustP95(readsByOrder, window) {
  const windows = [];
  for (let at = 0; at + window <= readsByOrder.length; at += window) {
    windows.push(percentile(readsByOrder.slice(at, at + window).flat(), 95));
  }
  if (windows.length < 2) return { p95: percentile(readsByOrder.flat(), 95), windows };
  return { p95: percentile(windows, 50), windows };
}

/** The nearest-rank percentile `p` (0..100) of the finite numbers in `values`. */
export function percentile(values, p) {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)];
}

const round = (x, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);

/** Resets `scenario` and gives it the latency, and the tail on the reads when `tail`. */
async function freshScenario(mock, scenario, s, tail) {
  await admin(mock, 'DELETE', `/scenarios/${scenario}`);
  const config = { defaultLatency: s.latencyMs, latency: {} };
  if (tail) config.tail = Object.fromEntries(READS.map((r) => [r, { share: s.share, factor: s.factor, spread: s.spread }]));
  await admin(mock, 'PUT', `/scenarios/${scenario}`, config);
}

/** One order through `composer`: its makespan and what the part reads of it. */
async function order(composer) {
  const t0 = performance.now();
  const o = await withTimeout(composer.composeOrder(ORDER_REQUEST), 30_000, 'an order');
  const ms = performance.now() - t0;
  return {
    ms,
    result: { orderId: o.orderId, status: o.status, total: o.total, currency: o.currency, tax: o.tax, shippingCost: o.shipping.cost, notificationSent: o.notification.sent },
    reads: READS.map((r) => {
      const c = o.calls[r];
      return { ms: c.endMs - c.startMs, hedged: c.hedged, hedgeWon: c.hedgeWon, attempts: c.attempts };
    }),
  };
}

/** `inflight` workers taking indices 0..count-1 in turn; `each(i)` runs one. */
async function workers(inflight, count, each) {
  let next = 0;
  const worker = async () => {
    while (next < count) await each(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inflight, count) }, worker));
}

/** Requests per service in a scenario's log, and how many of the reads the tail slowed. */
async function sent(mock, scenario) {
  const entries = (await admin(mock, 'GET', `/log?scenario=${scenario}`)).filter((e) => !e.path.startsWith('/lab/'));
  return {
    perService: Object.fromEntries(SERVICES.map((svc) => [svc, entries.filter((e) => e.service === svc).length])),
    tailReads: entries.filter((e) => READS.includes(e.service) && e.tail === true).length,
    aborted: entries.filter((e) => READS.includes(e.service) && e.aborted).length,
  };
}

// ------------------------------------------------------------------ part H

export async function partH({ smoke = false, log = console.log, ...given } = {}) {
  const s = settingsOf({ smoke, ...given });
  const build = await ensureNodeBuild({ given: s.nodePkg, log });
  const pc = loadNodePackage(build.dir);
  const mock = await startMock();
  const sanity = [];
  const check = (name, ok, detail = '') => {
    sanity.push({ name, ok: Boolean(ok), detail: ok ? '' : detail });
    log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}${ok || !detail ? '' : `: ${detail}`}`);
  };
  try {
    const { config } = mock;
    const scenario = (name) => `hedge-${process.pid}-${name}`;
    log(`H. hedged reads: mock in process ${mock.pid}, ${s.latencyMs} ms per service, ${READS.join(' and ')} with a tail of ${s.share * 100}% x${s.factor} (${s.spread} spread); `
      + `${s.compositions} compositions per arm, ${s.inflight} in flight; package ${relative(ROOT, build.dir) || build.dir}${build.built ? ' (built now)' : ''}`);

    // 1. The read's p95, from a warm-up under the same tail.
    await freshScenario(config, scenario('warm-up'), s, true);
    const warm = pc.createComposer({ services: servicesIn(config, scenario('warm-up')), cache: NO_CACHE });
    // The reads of warm-up composition i, in windows of `window` compositions by i.
    const byOrder = [];
    // The first of them open the connections: not counted.
    await workers(s.inflight, 2 * s.inflight, () => order(warm));
    await admin(config, 'DELETE', `/log?scenario=${scenario('warm-up')}`);
    await workers(s.inflight, s.warmUp, async (i) => {
      const r = await order(warm);
      byOrder[i] = r.reads.map((x) => x.ms);
    });
    warm.free();
    const warmReads = byOrder.flat();
    const warmTail = await sent(config, scenario('warm-up'));
    const { p95, windows } = robustP95(byOrder, s.window);
    const afterMs = Math.ceil(p95);
    log(`  warm-up: ${s.warmUp} compositions, ${warmReads.length} reads (${warmTail.tailReads} in the tail): p50 ${round(percentile(warmReads, 50))} ms, `
      + `p95 ${round(percentile(warmReads, 95))} ms over all, ${windows.map((w) => round(w)).join(' / ')} ms in windows of ${s.window} -> hedge after their median, ${afterMs} ms`);

    // 2. One order through each composer without the tail, judged by the mock's log.
    const composers = (suffix) => ({
      unhedged: pc.createComposer({ services: servicesIn(config, scenario(`unhedged${suffix}`)), cache: NO_CACHE }),
      hedged: pc.createComposer({ services: servicesIn(config, scenario(`hedged${suffix}`)), cache: NO_CACHE, hedge: { afterMs, maxExtraPercent: s.maxExtraPercent } }),
    });
    const checked = composers('-sanity');
    let expectedTotal = null;
    for (const arm of ARMS) {
      await freshScenario(config, scenario(`${arm}-sanity`), s, false);
      try {
        const r = await order(checked[arm]);
        const entries = (await admin(config, 'GET', `/log?scenario=${scenario(`${arm}-sanity`)}`)).filter((e) => !e.path.startsWith('/lab/'));
        const perService = SERVICES.map((svc) => entries.filter((e) => e.service === svc).length);
        const expected = expectedFromLog(entries);
        check(`H ${arm}: one order without the tail: one request per service, the result the money rules give from the replies in the log`,
          perService.every((n) => n === 1) && expected && isDeepStrictEqual(r.result, expected), JSON.stringify({ perService, result: r.result, expected }));
        expectedTotal ??= expected?.total ?? null;
      } catch (err) {
        check(`H ${arm}: places an order`, false, String(err?.message ?? err));
      } finally {
        checked[arm].free();
      }
    }
    if (expectedTotal === null) throw Object.assign(new Error('H: the sanity orders failed'), { sanity });

    // 3. The measured pairs, after a few not measured.
    for (const arm of ARMS) await freshScenario(config, scenario(arm), s, true);
    const arms = composers('');
    const samples = { unhedged: [], hedged: [] };
    const reads = { unhedged: [], hedged: [] };
    const bad = { unhedged: 0, hedged: 0 };
    const firstError = {};
    const good = (r) => r.result.status === 'confirmed' && r.result.notificationSent === true && r.result.total === expectedTotal && /^ord-\d+$/.test(r.result.orderId);
    const pair = (measured) => async (i) => {
      for (const arm of i % 2 ? ['hedged', 'unhedged'] : ['unhedged', 'hedged']) {
        let r = null;
        try {
          r = await order(arms[arm]);
          if (!good(r)) {
            firstError[arm] ??= `wrong order: ${JSON.stringify(r.result)}`;
            r = null;
          }
        } catch (err) {
          firstError[arm] ??= String(err?.message ?? err);
        }
        if (!measured) continue;
        if (!r) bad[arm]++;
        samples[arm][i] = r ? r.ms : NaN;
        if (r) reads[arm].push(...r.reads);
      }
    };
    await workers(s.inflight, s.armWarmUp, pair(false));
    for (const arm of ARMS) await admin(config, 'DELETE', `/log?scenario=${scenario(arm)}`);
    const t0 = performance.now();
    await workers(s.inflight, s.compositions, pair(true));
    const wallMs = performance.now() - t0;
    for (const arm of ARMS) arms[arm].free();

    // 4. The figures, and what the mock's log says of each arm's requests.
    const n = s.compositions;
    const logs = {};
    for (const arm of ARMS) logs[arm] = await sent(config, scenario(arm));
    const figures = {};
    for (const arm of ARMS) {
      const ms = samples[arm];
      const rs = reads[arm];
      const readCount = READS.reduce((sum, r) => sum + logs[arm].perService[r], 0);
      figures[arm] = {
        compositions: ms.filter(Number.isFinite).length,
        p50Ms: round(percentile(ms, 50)),
        p95Ms: round(percentile(ms, 95)),
        p99Ms: round(percentile(ms, 99)),
        maxMs: round(percentile(ms, 100)),
        reads: rs.length,
        hedges: rs.filter((r) => r.hedged).length,
        hedgesWon: rs.filter((r) => r.hedgeWon).length,
        // Reads that waited past afterMs and went on alone: the budget was spent.
        slowNotHedged: rs.filter((r) => !r.hedged && r.ms > afterMs).length,
        logReads: readCount,
        logExtraReads: readCount - READS.length * n,
        logTailReads: logs[arm].tailReads,
        logAbortedReads: logs[arm].aborted,
        logPerService: logs[arm].perService,
      };
    }
    const u = figures.unhedged;
    const h = figures.hedged;
    const others = SERVICES.filter((svc) => !READS.includes(svc));
    for (const arm of ARMS) {
      check(`H ${arm}: every measured order confirmed, notified, total ${expectedTotal}`, bad[arm] === 0, `${bad[arm]} bad; the first: ${firstError[arm]}`);
      check(`H ${arm}: the mock received one request per composition for each of ${others.join(', ')}`,
        others.every((svc) => logs[arm].perService[svc] === n), JSON.stringify(logs[arm].perService));
    }
    check(`H unhedged: no hedge, and exactly ${READS.length} reads per composition in the mock's log`, u.hedges === 0 && u.logExtraReads === 0, JSON.stringify(u));
    check('H hedged: the mock\'s log holds no more extra reads than the records say were hedged', h.logExtraReads >= 0 && h.logExtraReads <= h.hedges,
      `${h.logExtraReads} extra in the log, ${h.hedges} hedged records`);
    const extraHedges = Math.max(h.hedges, h.logExtraReads);
    const result = {
      settings: { ...s, smoke: Boolean(smoke) },
      afterMs,
      warmUp: { compositions: s.warmUp, reads: warmReads.length, tailReads: warmTail.tailReads, p50Ms: round(percentile(warmReads, 50)), p95Ms: round(percentile(warmReads, 95)), windowP95sMs: windows.map((w) => round(w)), p99Ms: round(percentile(warmReads, 99)) },
      arms: figures,
      wallMs: round(wallMs, 0),
      p99Cut: round(1 - h.p99Ms / u.p99Ms, 3),
      extraReads: round(extraHedges / (READS.length * n), 4),
      sanity,
      mockAdminUrl: config.adminUrl,
    };
    log(`  unhedged: p50 ${u.p50Ms} ms, p95 ${u.p95Ms} ms, p99 ${u.p99Ms} ms (${u.logTailReads} reads in the tail)`);
    log(`  hedged:   p50 ${h.p50Ms} ms, p95 ${h.p95Ms} ms, p99 ${h.p99Ms} ms (${h.logTailReads} requests in the tail); ${h.hedges} hedges of ${h.reads} reads `
      + `(${round(result.extraReads * 100, 2)}%; the log: ${h.logExtraReads} extra), ${h.hedgesWon} won, ${h.slowNotHedged} slow reads not hedged; p99 cut ${round(result.p99Cut * 100)}%; ${round(wallMs / 1000)} s`);
    return result;
  } finally {
    await mock.stop();
  }
}

// ------------------------------------------------------------------ the command line

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const usage = 'usage: node bench/node/hedge.mjs [--smoke] [--share 0..1] [--spread exact|random] [--compositions N]\n';
  const argv = process.argv.slice(2);
  const given = {};
  let smoke = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = Number(argv[i + 1]);
    if (a === '--smoke') {
      smoke = true;
    } else if (a === '--share' && v >= 0 && v <= 1) {
      given.share = v;
      i++;
    } else if (a === '--spread' && ['exact', 'random'].includes(argv[i + 1])) {
      given.spread = argv[i + 1];
      i++;
    } else if (a === '--compositions' && Number.isInteger(v) && v >= 1) {
      given.compositions = v;
      i++;
    } else {
      process.stderr.write(`hedge: bad argument ${a}${a.startsWith('--') && i + 1 < argv.length ? ` ${argv[i + 1]}` : ''}\n${usage}`);
      process.exit(2);
    }
  }
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => stopAll().finally(() => process.exit(130)));
  try {
    const r = await partH({ smoke, ...given });
    const met = (ok) => (smoke ? 'not judged' : ok ? 'met' : 'MISSED');
    console.log(`  ${met(r.p99Cut >= P99_CUT_TARGET)}  p99 cut ${round(r.p99Cut * 100)}% (at least ${P99_CUT_TARGET * 100}%)`);
    console.log(`  ${met(r.extraReads <= EXTRA_TARGET)}  extra reads ${round(r.extraReads * 100, 2)}% (at most ${EXTRA_TARGET * 100}%)`);
    process.exitCode = r.sanity.every((c) => c.ok) ? 0 : 1;
  } catch (err) {
    process.stderr.write(`hedge: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  } finally {
    await stopAll();
  }
}
