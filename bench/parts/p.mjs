// Part P of the benchmark (see bench/run.mjs): what prefetchOrder() saves the click. The
// order flow on the uniform latency set (100 ms per service), in three ways interleaved
// round-robin with their order rotated each round:
//   composeOrder         the module function: nothing kept between orders;
//   composer-cold        a fresh createComposer()'s composeOrder(): its cache empty;
//   composer-prefetched  a fresh composer whose prefetchOrder(request) was awaited first (the
//                        hover; not timed), then composeOrder(request) on it (the click),
//                        timed from the call to the resolved order.
// The same request every time: the cache is keyed by the filled-in request, so the click
// must ask for what the prefetch fetched. A fresh composer per round keeps each round's
// prefetch from finding the last round's replies. The reference figures come from the
// latency set and the contract's graph: the cold critical path (600 ms), and the critical
// path of the calls the click still makes, the prefetched ones counted as 0 ms (fraud ->
// payment -> order -> notification, 400 ms). Every prefetched order is checked by the mock's
// log: the prefetch sent the five cacheable calls and nothing else, the click the other five.
// Runs on `ctx.orderPage`, the page in the Chromium with no DevTools network domain, as A does.
import { expectedOrder } from '../../tests/e2e/helpers.mjs';
import { SERVICES, LATENCY_SETS, latencies, criticalPath } from '../page/contract.js';
import { goodOrder, freshScenario } from './a.mjs';
import {
  SMOKE, RUNS, CFG, ORDER_REQUEST, P_IMPLS, PREFETCHED_CALLS, log, check, withTimeout, stats, round, rotated, admin, servicesIn,
} from './shared.mjs';

const SET = 'uniform';

export async function partP(ctx) {
  const { orderPage: page, mock, results } = ctx;
  const set = LATENCY_SETS[SET];
  const scenario = `${SMOKE ? 'smoke' : 'bench'}-prefetch`;
  await freshScenario(mock, scenario, set);
  const lat = latencies(set);
  const cold = criticalPath(lat);
  const remaining = SERVICES.filter((s) => !PREFETCHED_CALLS.includes(s));
  const floor = criticalPath(Object.fromEntries(SERVICES.map((s) => [s, PREFETCHED_CALLS.includes(s) ? 0 : lat[s]])));
  const S = servicesIn(mock, scenario);
  const expected = expectedOrder(ORDER_REQUEST);
  const good = goodOrder(expected);
  log(`\nP. prefetch vs cold, ${SET} latencies (${set.defaultLatency} ms each): cold critical path ${cold.ms} ms (${cold.path.join(' -> ')}); `
    + `after prefetchOrder() the click makes ${remaining.join(', ')}: critical path ${floor.ms} ms (${floor.path.join(' -> ')})`);

  const sentSince = async () => {
    const entries = (await admin(mock, 'GET', `/log?scenario=${scenario}`)).filter((e) => !e.path.startsWith('/lab/'));
    await admin(mock, 'DELETE', `/log?scenario=${scenario}`);
    return Object.fromEntries(SERVICES.map((s) => [s, entries.filter((e) => e.service === s).length]));
  };
  const onceEach = (sent, names) => SERVICES.every((s) => sent[s] === (names.includes(s) ? 1 : 0));
  const cachedAre = (calls, names) => SERVICES.every((s) => calls[s]?.state === 'ok'
    && (names.includes(s) ? calls[s].cached === true && calls[s].attempts === 0 : calls[s].cached === false && calls[s].attempts === 1));

  const runCold = (impl) => withTimeout(page.evaluate(([i, s, r]) => window.bench.prefetchCold(i, s, r), [impl, S, ORDER_REQUEST]), 30_000, `order ${impl}`);
  // The prefetch, what it sent (by the mock's log), the click, what the click sent. The log
  // is read between the two, outside the click's clock.
  const runPrefetched = async () => {
    await admin(mock, 'DELETE', `/log?scenario=${scenario}`);
    const prep = await withTimeout(page.evaluate(([s, r]) => window.bench.prefetchPrepare(s, r), [S, ORDER_REQUEST]), 30_000, 'prefetchOrder');
    const prefetchSent = await sentSince();
    const click = await withTimeout(page.evaluate((r) => window.bench.prefetchClick(r), ORDER_REQUEST), 30_000, 'the click after prefetchOrder');
    const clickSent = await sentSince();
    return { ...click, prefetchMs: prep.ms, prefetchCalls: prep.calls, prefetchSent, clickSent };
  };
  const run = (impl) => (impl === 'composer-prefetched' ? runPrefetched() : runCold(impl));
  // Why a run is not good, or null: the order, and for a composer which calls its cache served.
  const fault = (impl, r) => {
    if (!good(r)) return `wrong order: ${JSON.stringify({ total: r.total, status: r.status, orderId: r.orderId, notificationSent: r.notificationSent })}`;
    if (impl === 'composer-cold' && !cachedAre(r.calls, [])) return `a cold composer served a call from its cache: ${JSON.stringify(r.calls)}`;
    if (impl !== 'composer-prefetched') return null;
    const prefetchOk = PREFETCHED_CALLS.every((s) => r.prefetchCalls[s]?.state === 'ok' && r.prefetchCalls[s].attempts === 1)
      && remaining.every((s) => r.prefetchCalls[s]?.state === 'not-needed' && r.prefetchCalls[s].attempts === 0);
    if (!prefetchOk || !onceEach(r.prefetchSent, PREFETCHED_CALLS)) return `the prefetch: records ${JSON.stringify(r.prefetchCalls)}, sent ${JSON.stringify(r.prefetchSent)}`;
    if (!cachedAre(r.calls, PREFETCHED_CALLS) || !onceEach(r.clickSent, remaining)) return `the click: records ${JSON.stringify(r.calls)}, sent ${JSON.stringify(r.clickSent)}`;
    return null;
  };

  // Verification round (also the first warm-up; it caches the CORS preflights): each once, checked.
  const samples = Object.fromEntries(P_IMPLS.map((i) => [i, []]));
  const prefetchMs = [];
  for (const impl of P_IMPLS) {
    let r;
    try {
      r = await run(impl);
    } catch (err) {
      check(`P ${impl}: places the order`, false, String(err?.message ?? err));
      continue;
    }
    const why = fault(impl, r);
    const what = {
      composeOrder: 'the order',
      'composer-cold': 'the order, no call served from the cache',
      'composer-prefetched': `prefetchOrder() sent ${PREFETCHED_CALLS.join(', ')} once each and nothing else; the click sent only `
        + `${remaining.join(', ')} (the mock's log) and had the other ${PREFETCHED_CALLS.length} from the cache; the order`,
    }[impl];
    check(`P ${impl}: ${what}: total ${r.total} = ${expected.total}, confirmed, notified`, why === null, why ?? '');
    if (SMOKE) {
      samples[impl].push(r.ms);
      if (impl === 'composer-prefetched') prefetchMs.push(r.prefetchMs);
    }
  }

  const bad = Object.fromEntries(P_IMPLS.map((i) => [i, 0]));
  const firstError = {};
  const tryRun = async (impl) => {
    try {
      const r = await run(impl);
      const why = fault(impl, r);
      if (why === null) return r;
      firstError[impl] ??= why;
    } catch (err) {
      firstError[impl] ??= String(err?.message ?? err);
    }
    bad[impl]++;
    return null;
  };
  for (let w = 0; w < CFG.warmupRounds; w++) {
    for (const impl of rotated(P_IMPLS, w)) await tryRun(impl);
  }
  const rounds = SMOKE ? 0 : RUNS;
  for (let k = 0; k < rounds; k++) {
    for (const impl of rotated(P_IMPLS, k)) {
      const r = await tryRun(impl);
      samples[impl].push(r ? r.ms : NaN);
      if (r && impl === 'composer-prefetched') prefetchMs.push(r.prefetchMs);
    }
    if ((k + 1) % 5 === 0 || k + 1 === rounds) log(`  P: ${k + 1}/${rounds} rounds`);
  }
  if (!SMOKE) {
    for (const impl of P_IMPLS) {
      const how = impl === 'composer-prefetched' ? 'sent only the calls it should (the mock\'s log), had the others from the cache and returned' : 'returned';
      check(`P ${impl}: every warm-up and timed run ${how} the expected order`, bad[impl] === 0, `${bad[impl]} bad runs; the first: ${firstError[impl]}`);
    }
  }

  for (const impl of P_IMPLS) {
    const s = stats(samples[impl]);
    const cp = impl === 'composer-prefetched' ? floor.ms : cold.ms;
    results.entries.push({
      part: 'P', scenario: SET, impl, runs: s.n, medianMs: round(s.median), p90Ms: round(s.p90), minMs: round(s.min), criticalPathMs: cp, overheadMs: round(s.median - cp),
    });
  }
  // The click over the cold composer's order, paired per round (the two ran back to back).
  const paired = samples['composer-cold'].map((c, k) => samples['composer-prefetched'][k] / c);
  results.prefetch = {
    scenario: SET,
    prefetchedCalls: PREFETCHED_CALLS,
    remainingCalls: remaining,
    criticalPathMs: cold.ms,
    criticalPath: cold.path,
    floorMs: floor.ms,
    floorPath: floor.path,
    prefetchMedianMs: round(stats(prefetchMs).median),
    pairedClickOverCold: round(stats(paired).median, 3),
  };
}
