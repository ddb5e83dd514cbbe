// The callers of the chaos run: what a portal does with composeOrder(), many times at once.
//
// This module runs unchanged in Node (chaos/run.mjs imports it) and in the Chromium page
// (chaos/page/page.js imports it), so it uses only what both have (performance, setTimeout,
// AbortController) and the package passed in. No Node API here.
//
// What it keeps is what the caller saw: for each submission, when it started (on the
// performance.timeOrigin + now() clock, which the mock's log also uses), how long it took,
// and the result or the error's fields. The judge (chaos/judge.mjs) compares that with the
// services' state and log; nothing here decides whether the library was right.

/** FNV-1a (32 bits) of a string of ASCII characters: turns "<seed>:<index>" into a PRNG seed. */
function fnv1a(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i) & 0xff;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** mulberry32: a small seeded PRNG with uniform floats in [0, 1). Same seed, same sequence, in Node and Chromium. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Shares of the random choices, so that a seed means the same callers whatever the rates. */
export const MIX = Object.freeze({ gold: 0.3, manyCart: 0.25, express: 0.5 });

/**
 * One caller's order, drawn from its own PRNG ("<seed>:<index>"): the same seed and index give
 * the same request and abort moment in every runtime. Every draw is made whether it is used
 * or not, so changing --abort-rate does not change the requests.
 *
 * `pool` ({share, size}, the composer mode's): that share of the orders take their customer
 * and cart from `size` ids ("c-p3", "c-gold-p3", "k-p3") instead of their own, so that a
 * composer's cache finds the same request again. Its draws come last: without a pool, the
 * requests are those of the run without it.
 */
export function drawOrder({ seed, runtime, index, abortRate, deadlineMs, pool = null }) {
  const next = prng(fnv1a(`${seed}:${index}`));
  const gold = next() < MIX.gold;
  const many = next() < MIX.manyCart;
  const express = next() < MIX.express;
  const aborts = next() < abortRate;
  const abortAt = next() * deadlineMs;
  const pooled = next() < (pool?.share ?? 0);
  const slot = Math.floor(next() * (pool?.size ?? 1));
  const own = pooled ? `p${slot}` : String(index);
  return {
    index,
    // Unique per order and runtime, without ':' (the Idempotency-Key is "<operationId>:<call>").
    operationId: `chaos-${seed}-${runtime}-${index}`,
    request: {
      customerId: gold ? `c-gold-${own}` : `c-${own}`,
      cartId: many ? 'many-3' : `k-${own}`,
      paymentMethodId: 'pm_visa',
      shippingOption: express ? 'express' : 'standard',
    },
    abortAtMs: aborts ? Math.round(abortAt * 10) / 10 : null,
  };
}

/**
 * Whether a rejected composition is resubmitted under the same operationId: what the error
 * advises when it says (`resubmit`), else what the README tells portals: a write whose
 * outcome is unknown.
 */
export function shouldResubmit(error) {
  if (typeof error.resubmit === 'string') return error.resubmit === 'same-operation';
  return Object.values(error.calls ?? {}).some((c) => c && c.state === 'unknown');
}

const clock = () => performance.timeOrigin + performance.now();

/**
 * How late the event loop runs: a 10 ms interval notes, for every submission in flight, the
 * most its tick came late. A composition that settles past its deadline while the loop was
 * that late was held up by the runtime (a busy machine, a cold .wasm), not only by the engine.
 */
function lagMonitor() {
  const TICK = 10;
  const active = new Set();
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const late = Math.max(0, now - last - TICK);
    last = now;
    for (const sub of active) if (late > sub.loopLagMs) sub.loopLagMs = late;
  }, TICK);
  return {
    watch(sub) {
      sub.loopLagMs = 0;
      active.add(sub);
    },
    unwatch: (sub) => active.delete(sub),
    stop: () => clearInterval(timer),
  };
}

/** The result's fields the judge reads (customer and items are what the services sent: left out). */
function resultFields(r) {
  return {
    orderId: r.orderId,
    status: r.status,
    total: r.total,
    currency: r.currency,
    reservationId: r.reservationId,
    authorizationId: r.authorizationId,
    shipping: r.shipping,
    tax: r.tax,
    notification: r.notification,
    calls: r.calls,
    traceId: r.traceId ?? null,
  };
}

function errorFields(e, isComposeError) {
  const out = {
    composeError: isComposeError,
    name: e?.name ?? null,
    message: String(e?.message ?? e),
    code: e?.code ?? null,
    call: e?.call ?? null,
    status: e?.status ?? null,
    calls: e?.calls ?? null,
    compensations: e?.compensations ?? null,
    traceId: e?.traceId ?? null,
  };
  // CIRCUIT_OPEN's: which origin's circuit breaker refused the call, and until when.
  if (e?.origin) out.origin = e.origin;
  if (Number.isFinite(e?.retryAt)) out.retryAt = e.retryAt;
  // Absent on builds before the resubmit advice: keep the difference between "absent" and a value.
  if (e && 'resubmit' in e) out.resubmit = e.resubmit;
  return out;
}

/**
 * One composeOrder() call, raced against a watchdog: a promise still pending after
 * `watchdogMs` is recorded as such (and, should it settle later, when and how).
 */
async function submit(pc, order, n, cfg) {
  const sub = {
    n,
    startedAt: clock(),
    elapsedMs: null,
    outcome: null, // 'resolved' | 'rejected' (a ComposeError) | 'threw' (anything else) | 'pending'
    aborted: false, // the caller's AbortController fired before the composition settled
    loopLagMs: 0, // the most the event loop ran late while it was in flight
    abortedAtMs: null,
    result: null,
    error: null,
  };
  // Through the composer, the services are its options; the module-level call names them.
  const options = {
    ...(cfg.composer ? {} : { services: cfg.services }),
    operationId: order.operationId,
    deadlineMs: cfg.deadlineMs,
    timeoutMs: cfg.timeoutMs,
    traceContext: cfg.traceOrigins,
  };
  // Only the first submission is aborted: the user who cancelled and then retried the
  // checkout lets the retry run (and a seed still decides which orders abort, and when).
  let abortTimer = null;
  const t0 = performance.now();
  if (order.abortAtMs !== null && n === 1) {
    const controller = new AbortController();
    options.signal = controller.signal;
    abortTimer = setTimeout(() => {
      sub.aborted = true;
      sub.abortedAtMs = performance.now() - t0;
      controller.abort();
    }, order.abortAtMs);
  }
  let settled;
  try {
    settled = (cfg.composer ?? pc).composeOrder(order.request, options).then(
      (r) => ({ outcome: 'resolved', r }),
      (e) => ({ outcome: e instanceof pc.ComposeError ? 'rejected' : 'threw', e }),
    );
  } catch (e) {
    settled = Promise.resolve({ outcome: 'threw', e }); // composeOrder itself threw synchronously
  }
  let watchdog = null;
  const timedOut = new Promise((resolve) => {
    watchdog = setTimeout(() => resolve({ outcome: 'pending' }), cfg.watchdogMs);
  });
  cfg.lag?.watch(sub);
  const first = await Promise.race([settled, timedOut]);
  cfg.lag?.unwatch(sub);
  clearTimeout(watchdog);
  clearTimeout(abortTimer);
  sub.elapsedMs = performance.now() - t0;
  sub.outcome = first.outcome;
  if (first.outcome === 'resolved') sub.result = resultFields(first.r);
  else if (first.outcome !== 'pending') sub.error = errorFields(first.e, first.outcome === 'rejected');
  else {
    // Kept on the record: a promise that settles after the watchdog is still a finding.
    settled.then((late) => {
      sub.lateOutcome = late.outcome;
      sub.lateMs = performance.now() - t0;
    });
  }
  sub.traceId = sub.result?.traceId ?? sub.error?.traceId ?? null;
  return sub;
}

/** An order: the first submission, and one resubmission under the same operationId when advised. */
async function runOrder(pc, order, cfg) {
  const first = await submit(pc, order, 1, cfg);
  order.submissions.push(first);
  if (first.outcome === 'rejected' && shouldResubmit(first.error)) {
    order.submissions.push(await submit(pc, order, 2, cfg));
  }
}

/**
 * The composer of the composer mode (`cfg.composerOptions`), over the run's services; null
 * for the module-level composeOrder().
 */
function composerOf(pc, cfg) {
  return cfg.composerOptions ? pc.createComposer({ ...cfg.composerOptions, services: cfg.services }) : null;
}

/**
 * Runs `cfg.orders` orders, `cfg.concurrency` at a time. `pc` is the package
 * ({composeOrder, ComposeError, createComposer}); cfg: {runtime, seed, orders, concurrency,
 * deadlineMs, timeoutMs, abortRate, services, traceOrigins, watchdogMs, composerOptions?,
 * pool?}. With `composerOptions`, every order goes through one composer made from them
 * (createComposer), as a portal keeps one per page. `progress(done, total)` is called after
 * each order. Resolves to {orders, wallMs, health}; never rejects for an order's sake.
 */
export async function runCallers(pc, cfg, progress = () => {}) {
  const orders = Array.from({ length: cfg.orders }, (_, index) => ({
    ...drawOrder({ ...cfg, index }),
    submissions: [],
  }));
  const lag = lagMonitor();
  const composer = composerOf(pc, cfg);
  const run = { ...cfg, lag, composer };
  const t0 = performance.now();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < orders.length) {
      const order = orders[next++];
      await runOrder(pc, order, run);
      progress(++done, orders.length);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(cfg.concurrency, orders.length) }, worker));
  } finally {
    lag.stop();
  }
  // The circuit breakers at the end: a breaker left open is no discrepancy, but worth a look.
  return { orders, wallMs: performance.now() - t0, ...(composer ? { health: composer.health() } : {}) };
}

/**
 * The warm-up before the measured callers: `cfg.compositions` orders at once against a
 * scenario of their own, not judged, so that the first measured batch does not pay for
 * compiling the .wasm's code paths (and opening the first connections) with its deadline.
 */
export async function warmUp(pc, cfg) {
  const t0 = performance.now();
  // In the composer mode, a composer of its own (its scenario's services), thrown away after.
  const composer = composerOf(pc, cfg);
  const all = Array.from({ length: cfg.compositions }, (_, i) => (composer ?? pc).composeOrder(
    { customerId: i % 2 ? `c-gold-w${i}` : `c-w${i}`, cartId: i % 3 ? `k-w${i}` : 'many-3', paymentMethodId: 'pm_visa', shippingOption: i % 2 ? 'express' : 'standard' },
    { ...(composer ? {} : { services: cfg.services }), operationId: `warmup-${i}`, deadlineMs: cfg.deadlineMs, timeoutMs: cfg.timeoutMs, traceContext: cfg.traceOrigins },
  ).then(() => 'resolved', (e) => e?.code ?? 'threw'));
  const outcomes = await Promise.all(all);
  return { ms: performance.now() - t0, resolved: outcomes.filter((o) => o === 'resolved').length };
}

/**
 * The load check: `cfg.compositions` composeOrder() calls started at once (no caller limit),
 * each with `maxConcurrencyPerOrigin`, through `cfg.baseUrl`. Resolves when all settle (or at
 * `cfg.timeoutMs`, naming how many had not) with the time it took and, for each, its trace
 * id and when it settled (on the clock of the mock's log).
 */
export async function runLoad(pc, cfg) {
  const startedAt = clock();
  const t0 = performance.now();
  const outcomes = new Array(cfg.compositions).fill(null);
  const all = Array.from({ length: cfg.compositions }, (_, i) => {
    const request = { customerId: `c-load-${i}`, cartId: `k-load-${i}`, paymentMethodId: 'pm_visa', shippingOption: 'standard' };
    return pc.composeOrder(request, {
      baseUrl: cfg.baseUrl,
      operationId: `load-${cfg.seed}-${i}`,
      traceContext: cfg.traceOrigins,
      maxConcurrencyPerOrigin: cfg.maxConcurrencyPerOrigin,
    }).then(
      (r) => {
        outcomes[i] = { outcome: 'resolved', traceId: r.traceId, total: r.total, settledAt: clock() };
      },
      (e) => {
        outcomes[i] = { outcome: 'rejected', traceId: e?.traceId ?? null, code: e?.code ?? null, message: String(e?.message ?? e), settledAt: clock() };
      },
    );
  });
  let timer = null;
  const gaveUp = new Promise((resolve) => {
    timer = setTimeout(() => resolve(false), cfg.timeoutMs);
  });
  const allSettled = await Promise.race([Promise.all(all).then(() => true), gaveUp]);
  clearTimeout(timer);
  return { allSettled, startedAt, settleMs: performance.now() - t0, outcomes };
}
