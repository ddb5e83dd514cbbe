// Parts A and A2 of the benchmark (see bench/run.mjs): the create-order flow against the
// mock services, implementations interleaved round-robin; A2 (A') runs it again under
// Chromium CPU throttling (a slow machine). Both run on `ctx.orderPage`, the benchmark page
// in a Chromium with no DevTools network domain (./bare-page.mjs), which would otherwise
// make every fetch() slower the deeper its stack.
import { isDeepStrictEqual } from 'node:util';

import { expectedOrder } from '../../tests/e2e/helpers.mjs';
import { SERVICES, LATENCY_SETS, latencies, criticalPath, stagesMakespan, sequentialMakespan, DEPENDS } from '../page/contract.js';
import {
  SMOKE, RUNS, CFG, ORDER_REQUEST, A_IMPLS, A2_IMPLS, log, check, withTimeout, stats, round, rotated, admin, servicesIn,
} from './shared.mjs';


/** The requests a run sent, per service, as the mock logged them (ids like res-7 made generic). */
function requestsFromLog(entries) {
  const generic = (v) => JSON.parse(JSON.stringify(v ?? null), (k, x) => (typeof x === 'string' && /^(res|auth|ord|ntf)-\d+$/.test(x) ? x.replace(/\d+$/, 'N') : x));
  const out = {};
  for (const e of entries) {
    if (e.path.startsWith('/lab/')) continue;
    (out[e.service] ??= []).push({
      method: e.method,
      path: e.path,
      query: e.query,
      headerNames: Object.keys(e.headers).sort(),
      contentType: e.headers['content-type'] ?? null,
      body: generic(e.body),
    });
  }
  return out;
}

/** Decomposes one composer-eager run along its realized critical path (from its call records). */
function eagerBreakdown(ms, calls, lat) {
  let last = null;
  for (const [name, c] of Object.entries(calls)) if (c.endMs !== null && (!last || c.endMs > calls[last].endMs)) last = name;
  if (!last) return null;
  const path = [];
  let dispatch = 0;
  let excess = 0;
  for (let name = last; name;) {
    const c = calls[name];
    path.unshift(name);
    const deps = DEPENDS[name];
    let prev = null;
    for (const d of deps) if (!prev || calls[d].endMs > calls[prev].endMs) prev = d;
    dispatch += c.startMs - (prev ? calls[prev].endMs : 0);
    excess += c.endMs - c.startMs - lat[name];
    name = prev;
  }
  return { path, dispatchMs: dispatch, requestExcessMs: excess, outsideMs: ms - calls[last].endMs };
}

/** Whether `r` is the order the mock's pricing rules give, confirmed and notified. */
export const goodOrder = (expected) => (r) => r.total === expected.total && r.status === 'confirmed' && /^ord-\d+$/.test(r.orderId) && r.notificationSent === true;

/** A fresh mock scenario named `scenario` with the latencies of `set`. */
export async function freshScenario(mock, scenario, set) {
  await admin(mock, 'DELETE', `/scenarios/${scenario}`);
  await admin(mock, 'PUT', `/scenarios/${scenario}`, { defaultLatency: set.defaultLatency, latency: set.latency });
}

/**
 * The warm-up and timed rounds of `impls`, interleaved round-robin with their order rotated
 * each round. A run that throws or returns a wrong order counts as bad and leaves a gap
 * (NaN) in its samples, so that the rounds stay aligned for the paired comparisons.
 * `each(impl, r)` sees every good timed run. Returns the samples and checks the bad runs.
 */
async function interleaved({ label, impls, run, good, samples, each = () => {} }) {
  const bad = Object.fromEntries(impls.map((i) => [i, 0]));
  const firstError = {};
  const tryRun = async (impl) => {
    try {
      const r = await run(impl);
      if (good(impl, r)) return r;
      firstError[impl] ??= `wrong order: ${JSON.stringify({ total: r.total, status: r.status, orderId: r.orderId })}`;
    } catch (err) {
      firstError[impl] ??= String(err?.message ?? err);
    }
    bad[impl]++;
    return null;
  };
  for (let w = 0; w < CFG.warmupRounds; w++) {
    for (const impl of rotated(impls, w)) await tryRun(impl);
  }
  const rounds = SMOKE ? 0 : RUNS;
  for (let k = 0; k < rounds; k++) {
    for (const impl of rotated(impls, k)) {
      const r = await tryRun(impl);
      samples[impl].push(r ? r.ms : NaN);
      if (r) each(impl, r);
    }
    if ((k + 1) % 5 === 0 || k + 1 === rounds) log(`  ${label}: ${k + 1}/${rounds} rounds`);
  }
  if (!SMOKE) {
    for (const impl of impls) {
      check(`${label} ${impl}: every warm-up and timed run ${impl === 'fetch-chain' ? 'succeeded' : 'returned the expected order'}`,
        bad[impl] === 0, `${bad[impl]} bad runs; the first: ${firstError[impl]}`);
    }
  }
  return rounds;
}

/** One results entry per implementation: the median and p90 of its samples, against `cp`. */
function pushEntries(results, part, setName, impls, samples, cp, extra = () => ({})) {
  for (const impl of impls) {
    const s = stats(samples[impl]);
    results.entries.push({
      part,
      scenario: setName,
      impl,
      ...extra(impl),
      runs: s.n,
      medianMs: round(s.median),
      p90Ms: round(s.p90),
      minMs: round(s.min),
      criticalPathMs: cp.ms,
      overheadMs: round(s.median - cp.ms),
    });
  }
}

/** The median of eager's sample minus `other`'s, paired per round. */
const pairedEager = (samples, other) => round(stats(samples['composer-eager'].map((x, k) => x - samples[other][k])).median);

export async function partA(ctx) {
  const { orderPage: page, mock, results } = ctx;
  const expected = expectedOrder(ORDER_REQUEST);
  for (const [setName, set] of Object.entries(LATENCY_SETS)) {
    const scenario = `${SMOKE ? 'smoke' : 'bench'}-${setName}`;
    await freshScenario(mock, scenario, set);
    const lat = latencies(set);
    const cp = criticalPath(lat);
    const reference = {
      criticalPathMs: cp.ms,
      criticalPath: cp.path,
      stagesOptimalMs: stagesMakespan(lat),
      sequentialMs: sequentialMakespan(lat),
    };
    const S = servicesIn(mock, scenario);
    log(`\nA. order flow, ${setName} latencies (${JSON.stringify(set.latency)}, others ${set.defaultLatency} ms): `
      + `critical path ${cp.ms} ms (${cp.path.join(' -> ')}), with stage barriers ${reference.stagesOptimalMs} ms`);

    const runOrder = (impl) => withTimeout(page.evaluate(([i, s, r]) => window.bench.order(i, s, r), [impl, S, ORDER_REQUEST]), 30_000, `order ${impl}`);
    const runChain = () => withTimeout(page.evaluate((k) => window.bench.chain(k), scenario), 30_000, 'fetch chain');
    const run = (impl) => (impl === 'fetch-chain' ? runChain() : runOrder(impl));
    const good = goodOrder(expected);

    // Verification round (also the first warm-up; it caches the CORS preflights): each
    // implementation once, checked against the mock's pricing rules and the mock's log.
    let reference_ = null;
    const samples = Object.fromEntries(A_IMPLS.map((i) => [i, []]));
    const breakdowns = [];
    const chainTimings = [];
    for (const impl of A_IMPLS.filter((i) => i !== 'fetch-chain')) {
      await admin(mock, 'DELETE', `/log?scenario=${scenario}`);
      let r;
      try {
        r = await runOrder(impl);
      } catch (err) {
        check(`A ${setName} ${impl}: places the order`, false, String(err?.message ?? err));
        continue;
      }
      check(`A ${setName} ${impl}: total ${r.total} = ${expected.total} from the mock's pricing rules, order confirmed, notification sent`,
        good(r), JSON.stringify({ total: r.total, status: r.status, orderId: r.orderId, notificationSent: r.notificationSent }));
      const sent = requestsFromLog(await admin(mock, 'GET', `/log?scenario=${scenario}`));
      const oneEach = SERVICES.every((s) => sent[s]?.length === 1) && Object.keys(sent).length === SERVICES.length;
      if (!reference_) {
        reference_ = sent;
        check(`A ${setName} ${impl}: one request per service`, oneEach, JSON.stringify(Object.keys(sent)));
      } else {
        const diff = SERVICES.filter((s) => !isDeepStrictEqual(sent[s], reference_[s]));
        check(`A ${setName} ${impl}: the same requests (method, path, headers, JSON bodies) as composer-eager`, oneEach && diff.length === 0,
          diff.length ? `differs for ${diff.join(', ')}: ${JSON.stringify(diff.map((s) => [sent[s], reference_[s]]))}` : 'not one request per service');
      }
      if (SMOKE) samples[impl].push(r.ms);
    }
    // The fetch chain replays the requests js-staged sends along the critical path.
    const hops = await withTimeout(page.evaluate(([k, s, r, names]) => window.bench.recordChain(k, s, r, names), [scenario, S, ORDER_REQUEST, cp.path]), 30_000, 'record chain');
    const first = await runChain();
    check(`A ${setName} fetch-chain: ${first.hops} hops along the critical path (${hops.map((h) => h.split(' ')[0]).join(', ')})`,
      first.hops === cp.path.length && first.lastReplyKeys.length > 0);
    if (SMOKE) samples['fetch-chain'].push(first.ms);

    await interleaved({
      label: `A ${setName}`,
      impls: A_IMPLS,
      run,
      good: (impl, r) => impl === 'fetch-chain' || good(r),
      samples,
      each: (impl, r) => {
        if (impl === 'composer-eager') breakdowns.push(eagerBreakdown(r.ms, r.calls, lat));
        if (impl === 'fetch-chain') chainTimings.push(r.timing);
      },
    });

    pushEntries(results, 'A', setName, A_IMPLS, samples, cp, (impl) => ({
      ...(impl === 'composer-stages' ? { stagesOptimalMs: reference.stagesOptimalMs } : {}),
      ...(impl === 'composer-sequential' || impl === 'js-sequential' ? { sequentialMs: reference.sequentialMs } : {}),
    }));
    const chainS = stats(samples['fetch-chain']);
    const hopsN = cp.path.length;
    const floor = {
      scenario: setName,
      hops: hopsN,
      path: cp.path,
      latencySumMs: cp.ms,
      chainMedianMs: round(chainS.median),
      totalMs: round(chainS.median - cp.ms),
      perHopMs: round((chainS.median - cp.ms) / hopsN, 3),
    };
    const bd = breakdowns.filter(Boolean);
    if (bd.length) {
      floor.eagerBreakdown = {
        runs: bd.length,
        medianDispatchMs: round(stats(bd.map((b) => b.dispatchMs)).median, 3),
        medianRequestExcessMs: round(stats(bd.map((b) => b.requestExcessMs)).median, 3),
        medianOutsideCallsMs: round(stats(bd.map((b) => b.outsideMs)).median, 3),
        realizedPaths: [...new Set(bd.map((b) => b.path.join('>')))].slice(0, 4),
      };
    }
    // Where a hop of the chain spends its time (Resource Timing), summed over the hops.
    const complete = chainTimings.filter((t) => t && t.every(Boolean));
    if (complete.length) {
      const sum = (t, k) => t.reduce((a, h) => a + h[k], 0);
      const med = (f) => round(stats(complete.map(f)).median / hopsN, 3);
      floor.perHopBreakdown = {
        runs: complete.length,
        fetchToRequestMs: med((t) => sum(t, 'toRequest')),
        requestToResponseBeyondLatencyMs: med((t) => sum(t, 'toResponse') - cp.ms),
        bodyMs: med((t) => sum(t, 'body')),
        lastByteToParsedMs: med((t) => sum(t, 'toParsed')),
      };
    }
    // Paired per round (the implementations of a round ran back to back): eager minus the
    // chain, and eager minus each JS baseline. Less exposed to drift than a difference of medians.
    if (samples['composer-eager'].length === samples['fetch-chain'].length && samples['fetch-chain'].length > 0) {
      floor.pairedMedianEagerMinusChainMs = pairedEager(samples, 'fetch-chain');
      results.paired[setName] = Object.fromEntries(A_IMPLS.filter((i) => i !== 'composer-eager').map((i) => [i, pairedEager(samples, i)]));
    }
    results.floor[setName] = floor;
    results.reference[setName] = reference;
  }
}


// ------------------------------------------------------------------ part A2 (A'): a slow machine

/**
 * The order flow again, with the page's CPU slowed down CFG.throttleRate times by CDP
 * (Emulation.setCPUThrottlingRate): the renderer's main thread, where the engine, the JSON
 * parsing and the hand-written promises run, is slowed; the network and the mock (another
 * process) are not. The same mock scenarios as part A under their own names, the
 * implementations of A2_IMPLS interleaved round-robin. The throttling is reset to 1x at the
 * end, whatever happened.
 */
export async function partA2(ctx) {
  const { orderPage: page, mock, results } = ctx;
  const expected = expectedOrder(ORDER_REQUEST);
  const rate = CFG.throttleRate;
  const good = goodOrder(expected);
  results.slow = { throttleRate: rate, impls: A2_IMPLS, paired: {} };
  await page.send('Emulation.setCPUThrottlingRate', { rate });
  try {
    for (const [setName, set] of Object.entries(LATENCY_SETS)) {
      const scenario = `${SMOKE ? 'smoke' : 'bench'}-slow-${setName}`;
      await freshScenario(mock, scenario, set);
      const lat = latencies(set);
      const cp = criticalPath(lat);
      const S = servicesIn(mock, scenario);
      log(`\nA2. order flow under ${rate}x CPU throttling, ${setName} latencies: critical path ${cp.ms} ms; ${A2_IMPLS.join(', ')}`);
      const runOrder = (impl) => withTimeout(page.evaluate(([i, s, r]) => window.bench.order(i, s, r), [impl, S, ORDER_REQUEST]), 60_000, `order ${impl} (throttled)`);

      // Verification round (also a warm-up; it caches the CORS preflights), throttled too.
      const samples = Object.fromEntries(A2_IMPLS.map((i) => [i, []]));
      for (const impl of A2_IMPLS) {
        await admin(mock, 'DELETE', `/log?scenario=${scenario}`);
        let r;
        try {
          r = await runOrder(impl);
        } catch (err) {
          check(`A2 ${setName} ${impl}: places the order under ${rate}x throttling`, false, String(err?.message ?? err));
          continue;
        }
        const sent = (await admin(mock, 'GET', `/log?scenario=${scenario}`)).filter((e) => !e.path.startsWith('/lab/'));
        const perService = SERVICES.map((s) => sent.filter((e) => e.service === s).length);
        check(`A2 ${setName} ${impl}: under ${rate}x throttling, total ${r.total} = ${expected.total}, order confirmed, notification sent, one request per service`,
          good(r) && perService.every((n) => n === 1) && sent.length === SERVICES.length,
          JSON.stringify({ total: r.total, status: r.status, orderId: r.orderId, notificationSent: r.notificationSent, perService }));
        if (SMOKE) samples[impl].push(r.ms);
      }
      const rounds = await interleaved({ label: `A2 ${setName}`, impls: A2_IMPLS, run: runOrder, good: (impl, r) => good(r), samples });
      pushEntries(results, 'A2', setName, A2_IMPLS, samples, cp, () => ({ throttleRate: rate }));
      if (rounds > 0) {
        results.slow.paired[setName] = Object.fromEntries(A2_IMPLS.filter((i) => i !== 'composer-eager').map((i) => [i, pairedEager(samples, i)]));
      }
    }
  } finally {
    // Reset even when a run failed; a page left throttled would slow every later part.
    let reset = true;
    try {
      await page.send('Emulation.setCPUThrottlingRate', { rate: 1 });
    } catch (err) {
      reset = false;
      check('A2: CPU throttling reset to 1x', false, String(err?.message ?? err));
    }
    if (reset) check('A2: CPU throttling reset to 1x', true);
  }
}
