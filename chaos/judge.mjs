// The judge of a chaos run: the eight invariants of issue 12, checked from what the mock
// services did (their request log and their final state), not from what the library said.
// The library's records (result, ComposeError.calls, .compensations) are only compared
// against the services' side.
//
// Inputs, per runtime:
//   run    what chaos/caller.js returned: {orders: [{operationId, request, submissions}]}
//   log    GET /log?scenario=<id>: every request the services received, in arrival order,
//          with its headers (traceparent, idempotency-key), fault, reply {status, body}
//          (what the handler answered, also when a lose-reply fault swallowed it), effect
//          ({created|released|voided|cancelled: id}) and replayed
//   state  GET /scenarios/<id>/state: reservations, authorizations, orders, notifications,
//          each with createdBy {key, seq} (the log entry that created it)
// Every log entry is tied to its composition by the trace id of its traceparent header.
//
// The composer mode (chaos/run.mjs --composer; cfg.composer holds createComposer's options)
// adds three kinds of record the same promises hold for: a call served by the composer's
// cache (`cached: true`) sent nothing of its own, and its reply is one the services gave
// another composition for the very same request, recently enough (that reply is then what
// the money is checked against); a hedged read (`hedged: true`) may have a second request per
// attempt, and `hedgeWon` says which reply was used; a call its origin's circuit breaker
// refused (CIRCUIT_OPEN) sent nothing for that attempt, and fails the composition only when
// it is required.
//
// Output: {summary, discrepancies}; a discrepancy is {invariant, operationId, traceId,
// submission, expected, found}.

export const INVARIANTS = Object.freeze([
  { id: 1, name: 'settled', says: 'every composition settled within its deadline + 100 ms (its compensations\' time aside); none left pending' },
  { id: 2, name: 'exactly once', says: 'per operationId at most one order and one live authorization; every write (the safe quotes aside) carries its <operationId>:<call> Idempotency-Key; a resubmission never creates a second order' },
  { id: 3, name: 'nothing hidden', says: 'every order belongs to a composition that resolved with it or reported the order call unknown; every write that took effect is ok or unknown in its composition\'s records' },
  { id: 4, name: 'undone means undone', says: 'after a failed composition each reservation and authorization it got is released/voided, or its compensation is reported failed, unknown or not-run with a reason the state confirms; nothing live goes unreported' },
  { id: 5, name: 'reports are true', says: 'each record\'s state, status, attempts (and replayed, resubmit) agree with the service log and state' },
  { id: 6, name: 'money', says: 'each resolved total = subtotal - discount + shipping.cost + tax.amount of the replies given; the authorization and the stored order carry it' },
  { id: 7, name: 'nothing undone under an order', says: 'every order keeps a held reservation and a live authorization' },
  { id: 8, name: 'placed means resolved', says: 'no composition whose order call is ok (or whose order reply was delivered) rejects' },
]);

/** Slack of invariant 1, in milliseconds past the deadline. */
export const SETTLE_SLACK_MS = 100;

// ------------------------------------------------------------------ reading the log

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/** The trace id of a logged request's traceparent header, or null. */
export function traceOf(entry) {
  const m = TRACEPARENT.exec(entry.headers?.traceparent ?? '');
  return m ? m[1] : null;
}

// composeOrder's calls (README, "Results"): service, method and path of each, and of the two undos.
const FORWARD = {
  customer: ['GET', /^\/customers\/[^/]+$/],
  cart: ['GET', /^\/carts\/[^/]+$/],
  inventory: ['POST', /^\/reservations$/],
  pricing: ['POST', /^\/quotes$/],
  shipping: ['POST', /^\/quotes$/],
  fraud: ['POST', /^\/checks$/],
  tax: ['POST', /^\/quotes$/],
  payment: ['POST', /^\/authorizations$/],
  order: ['POST', /^\/orders$/],
  notification: ['POST', /^\/notifications$/],
};
const UNDO = {
  inventory: ['DELETE', /^\/reservations\/([^/]+)$/],
  payment: ['POST', /^\/authorizations\/([^/]+)\/void$/],
};
/** The writes that have an undo, and the id field of their reply. */
const UNDOABLE = { inventory: 'reservationId', payment: 'authorizationId' };

/** The composeOrder call a logged request belongs to ("inventory", "inventory.compensate"), or null. */
export function callOf(entry) {
  const f = FORWARD[entry.service];
  if (f && entry.method === f[0] && f[1].test(entry.path)) return entry.service;
  const u = UNDO[entry.service];
  if (u && entry.method === u[0] && u[1].test(entry.path)) return `${entry.service}.compensate`;
  return null;
}

/** composeOrder's quotes: POSTs the plan marks `safe`, which change nothing and carry no key. */
const SAFE = new Set(['pricing', 'shipping', 'tax']);

/** composeOrder's optional calls: one that fails, a refused one included, leaves the composition whole. */
const OPTIONAL = new Set(['notification']);

/**
 * The request composeOrder's plan (src/order/plan.json; the tax body is src/order/rules.rs's)
 * fills in for a call a composer may cache, `[method, path, body]`, from the order's request
 * and `used(call)`: the reply body the composition used for another call. Null when a reply
 * it needs is unknown.
 */
function cacheableRequest(call, request, used) {
  const cart = () => used('cart');
  const customer = () => used('customer');
  switch (call) {
    case 'customer': return ['GET', `/customers/${request.customerId}`, null];
    case 'cart': return ['GET', `/carts/${request.cartId}`, null];
    case 'pricing': return cart() && customer() ? ['POST', '/quotes', { items: cart().items, tier: customer().tier }] : null;
    case 'shipping': return cart() && customer() ? ['POST', '/quotes', { items: cart().items, address: customer().address, option: request.shippingOption }] : null;
    case 'tax': {
      const pricing = used('pricing');
      return pricing && customer() ? ['POST', '/quotes', { amount: pricing.subtotal - pricing.discount, address: customer().address }] : null;
    }
    default: return null;
  }
}
const CACHEABLE = ['customer', 'cart', 'pricing', 'shipping', 'tax'];

/** JSON with object keys sorted: two bodies that mean the same write the same text. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  return JSON.stringify(value ?? null);
}

/** How old a reply the composer's cache serves for `call` may be: maxAgeMs plus any staleWhileRevalidateMs. */
function maxAgeOf(cfg, call) {
  const policy = cfg.composer?.cache?.[call];
  return policy ? policy.maxAgeMs + (policy.staleWhileRevalidateMs ?? 0) : Infinity;
}

/** What makes two requests of a call the same to a composer's cache (the headers aside: the plan's are fixed). */
const requestKey = (call, method, path, body) => `${call}\n${method}\n${path}\n${method === 'GET' ? '' : canonical(body)}`;

const isWrite = (entry) => entry.method !== 'GET' && entry.method !== 'HEAD' && !SAFE.has(callOf(entry));

/** The client could read the whole reply: headers sent, the body not cut, the client still there. */
export function delivered(entry) {
  return entry.status !== null && !entry.aborted && !entry.reset;
}

/** When a reply was sent in full: a body streamed in pieces (slow-body) ends after its headers. */
const completeAt = (entry) => entry.endedAt ?? entry.repliedAt;

/** A connection reset before any reply byte: the case where Chromium resends the request by itself. */
const resetBeforeReply = (entry) => Boolean(entry.reset) && entry.status === null;

/** A fault's kind for the table: "500", "503 Retry-After", "429", "hang", "slow-body", ... */
export function faultKind(fault) {
  if (typeof fault === 'string') return fault;
  if (fault.type) return fault.type;
  return fault.retryAfter !== undefined ? `${fault.status} Retry-After` : String(fault.status);
}

const is2xx = (s) => Number.isInteger(s) && s >= 200 && s < 300;
const callsOf = (sub) => sub.result?.calls ?? sub.error?.calls ?? null;
const compensationsOf = (sub) => sub.error?.compensations ?? [];
const opOfKey = (key) => (typeof key === 'string' && key.includes(':') ? key.slice(0, key.indexOf(':')) : null);
const short = (v) => (v === undefined ? 'undefined' : JSON.stringify(v));

// ------------------------------------------------------------------ the index

/**
 * Everything the invariants look up: submissions by trace id and by operationId, the log's
 * domain requests grouped by trace and call, log entries by seq, and the state by id.
 */
function buildIndex(run, log, state) {
  const byTrace = new Map(); // traceId → {order, sub}
  const byOp = new Map(); // operationId → order
  for (const order of run.orders) {
    byOp.set(order.operationId, order);
    for (const sub of order.submissions) if (sub.traceId) byTrace.set(sub.traceId, { order, sub });
  }
  const groups = new Map(); // traceId → Map(call → entries, in arrival order)
  const bySeq = new Map();
  const domain = [];
  for (const e of log) {
    if (e.path === '/lab' || e.path.startsWith('/lab/')) continue;
    const entry = { ...e, trace: traceOf(e), call: callOf(e) };
    domain.push(entry);
    bySeq.set(entry.seq, entry);
    if (!entry.trace || !entry.call) continue;
    let calls = groups.get(entry.trace);
    if (!calls) groups.set(entry.trace, (calls = new Map()));
    if (!calls.has(entry.call)) calls.set(entry.call, []);
    calls.get(entry.call).push(entry);
  }
  const byId = (list, field) => new Map((list ?? []).map((x) => [x[field], x]));
  const reservations = byId(state.reservations, 'reservationId');
  const authorizations = byId(state.authorizations, 'authorizationId');
  const orders = byId(state.orders, 'orderId');
  const ordersOn = new Map(); // reservation or authorization id → orders standing on it
  for (const o of orders.values()) {
    for (const id of [o.reservationId, o.authorizationId]) {
      if (!ordersOn.has(id)) ordersOn.set(id, []);
      ordersOn.get(id).push(o);
    }
  }
  /** The log entry that created a resource, and the submission it belongs to. */
  const creator = (resource) => {
    const entry = bySeq.get(resource?.createdBy?.seq) ?? null;
    const owner = entry?.trace ? byTrace.get(entry.trace) ?? null : null;
    return { entry, owner, op: owner?.order.operationId ?? opOfKey(resource?.createdBy?.key) };
  };
  const entriesOf = (traceId, call) => groups.get(traceId)?.get(call) ?? [];
  // The replies a composer's cache may have kept: each cacheable call's requests answered 2xx
  // in full, by request.
  const byRequest = new Map();
  for (const e of domain) {
    if (!CACHEABLE.includes(e.call) || !delivered(e) || !is2xx(e.status)) continue;
    const key = requestKey(e.call, e.method, e.path, e.body);
    if (!byRequest.has(key)) byRequest.set(key, []);
    byRequest.get(key).push(e);
  }
  return { byTrace, byOp, groups, bySeq, domain, reservations, authorizations, orders, ordersOn, creator, entriesOf, byRequest, used: new WeakMap() };
}

/** The last entry of a group whose reply reached the client, or null. */
const lastDelivered = (entries) => [...entries].reverse().find(delivered) ?? null;

/**
 * The reply a composition used for `call`, as the services gave it: its own last request's
 * that reached it, or, for a record served by the composer's cache, that of its source
 * (cacheSource). `{ entry, why }`: the log entry, or null and why none is found.
 */
function usedReply(ctx, at, call) {
  const { ix } = ctx;
  const { sub } = at;
  if (!ix.used.has(sub)) ix.used.set(sub, new Map());
  const memo = ix.used.get(sub);
  if (!memo.has(call)) {
    const rec = callsOf(sub)?.[call];
    // Its last 2xx that reached it: a hedged read's other request may have ended later with
    // an error (chaos-1-chromium-802: 200, then its hedge's 503).
    const own = [...ix.entriesOf(sub.traceId, call)].reverse().find((e) => delivered(e) && is2xx(e.status)) ?? null;
    memo.set(call, rec?.cached ? cacheSource(ctx, at, call, rec) : { entry: own, why: own ? null : 'no reply of its own reached it' });
  }
  return memo.get(call);
}

/**
 * Where a cached record's reply came from: the request the composition would have sent
 * (cacheableRequest, from the replies it used for the calls that request is built from),
 * answered 2xx in full to another composition no later than the record ended, and no
 * earlier than its call's maxAgeMs before that (cfg.composer.cache; with
 * staleWhileRevalidateMs, that much earlier still). Both bounds widen by SETTLE_SLACK_MS and
 * the most the caller's event loop ran late: the log's times are the services'. Of several,
 * the latest: the replies to one request are the same in this mock.
 */
function cacheSource(ctx, at, call, rec) {
  const { ix, cfg } = ctx;
  const { order, sub } = at;
  const used = (c) => usedReply(ctx, at, c).entry?.reply?.body ?? null;
  const request = cacheableRequest(call, order.request ?? {}, used);
  if (!request) return { entry: null, why: 'its request cannot be told: a reply it is built from is not known' };
  const maxAge = maxAgeOf(cfg, call);
  const usedAt = sub.startedAt + (Number.isFinite(rec.endMs) ? rec.endMs : sub.elapsedMs);
  const slack = SETTLE_SLACK_MS + (sub.loopLagMs ?? 0);
  const all = (ix.byRequest.get(requestKey(call, ...request)) ?? []).filter((e) => e.trace !== sub.traceId);
  const fits = all.filter((e) => completeAt(e) <= usedAt + slack && completeAt(e) >= usedAt - maxAge - slack);
  const entry = fits.reduce((a, e) => (!a || completeAt(e) > completeAt(a) ? e : a), null);
  if (entry) return { entry, why: null };
  const [method, path, body] = request;
  const nearest = [...all].sort((a, b) => Math.abs(completeAt(a) - usedAt) - Math.abs(completeAt(b) - usedAt)).slice(0, 3);
  const near = nearest.map((e) => `#${e.seq} ${Math.round(completeAt(e) - usedAt)} ms`).join(', ');
  return { entry: null, why: `no 2xx reply to ${method} ${call}${path}${body ? ` ${canonical(body)}` : ''} from ${Number.isFinite(maxAge) ? `${maxAge} ms before` : 'any time before'} it was used${near ? ` (the nearest, from its use: ${near})` : ' (none at all)'}` };
}

const liveReservation = (r) => Boolean(r) && !r.released;
const liveAuthorization = (a) => Boolean(a) && a.status === 'authorized';

/** A submission named for an example: "submission 2 (rejected TIMEOUT)". */
function describeSub(sub) {
  const how = sub.outcome === 'rejected' ? `rejected ${sub.error.code}${sub.error.call ? ` at ${sub.error.call}` : ''}`
    : sub.outcome === 'threw' ? `threw ${sub.error.name}: ${sub.error.message}`
      : sub.outcome;
  return `submission ${sub.n} (${how}${sub.aborted ? ', aborted by its caller' : ''})`;
}

// ------------------------------------------------------------------ the invariants

/**
 * Judges one runtime's run. cfg: {runtime, deadlineMs}. Returns {summary, discrepancies}.
 */
export function judgeRun({ runtime, run, log, state, cfg }) {
  const ix = buildIndex(run, log, state);
  const found = [];
  const add = (invariant, { order, sub }, expected, what) => found.push({
    invariant,
    runtime,
    operationId: order?.operationId ?? null,
    submission: sub?.n ?? null,
    traceId: sub?.traceId ?? null,
    expected,
    found: what,
  });
  const ctx = { ix, add, runtime, cfg, run };
  checkSettled(ctx, run);
  checkExactlyOnce(ctx);
  checkNothingHidden(ctx);
  checkUndone(ctx);
  checkReports(ctx, run);
  checkMoney(ctx, run);
  checkNothingUndoneUnderOrder(ctx);
  checkPlacedMeansResolved(ctx, run);
  return { summary: summarize(ix, run), discrepancies: found };
}

/** Each submission that settled with records: resolved or rejected. */
function* settledSubs(run) {
  for (const order of run.orders) {
    for (const sub of order.submissions) if (sub.outcome === 'resolved' || sub.outcome === 'rejected') yield { order, sub };
  }
}

/** Milliseconds from the first compensation's start to the last one's end (0 when none ran). */
export function compensationSpan(sub) {
  const ran = compensationsOf(sub).filter((c) => Number.isFinite(c.startMs) && Number.isFinite(c.endMs));
  if (ran.length === 0) return 0;
  return Math.max(...ran.map((c) => c.endMs)) - Math.min(...ran.map((c) => c.startMs));
}

/** The latest endMs of a submission's call records: when the engine itself says it was done. */
function lastRecordEnd(sub) {
  return Math.max(0, ...Object.values(callsOf(sub) ?? {}).map((c) => c.endMs).filter(Number.isFinite));
}

// 1. Every composition settled within its deadline + 100 ms, its compensations aside; none pending.
// The most the caller's event loop ran late while it was in flight is added: the deadline's
// timer cannot fire before the loop gets to it, however busy the machine is (a loaded CI
// machine made a page run 150 ms late).
function checkSettled({ add, cfg }, run) {
  const base = cfg.deadlineMs + SETTLE_SLACK_MS;
  for (const order of run.orders) {
    for (const sub of order.submissions) {
      const at = { order, sub };
      if (sub.outcome === 'pending') {
        add(1, at, `settled within ${base} ms (+ its compensations)`,
          `still pending after ${Math.round(sub.elapsedMs)} ms (watchdog)${sub.lateOutcome ? `; ${sub.lateOutcome} after ${Math.round(sub.lateMs)} ms` : '; never settled during the run'}`);
        continue;
      }
      if (sub.outcome === 'threw') {
        add(1, at, 'resolved, or rejected with a ComposeError', `threw ${sub.error.name}: ${sub.error.message}`);
        continue;
      }
      const span = compensationSpan(sub);
      const net = sub.elapsedMs - span;
      const limit = base + (sub.loopLagMs ?? 0);
      if (net > limit) {
        add(1, at, `settled within ${Math.round(limit)} ms (${base} + the event loop's lateness), compensations aside`,
          `settled after ${Math.round(sub.elapsedMs)} ms, ${Math.round(span)} ms of it compensations: ${Math.round(net)} ms (${describeSub(sub)}; `
          + `the records end at ${Math.round(lastRecordEnd(sub))} ms; the event loop ran up to ${Math.round(sub.loopLagMs ?? NaN)} ms late meanwhile)`);
      }
    }
  }
}

// 2. Exactly once.
function checkExactlyOnce({ ix, add }) {
  const perOp = (resources, live) => {
    const map = new Map();
    for (const r of resources.values()) {
      if (!live(r)) continue;
      const { op } = ix.creator(r);
      if (!map.has(op)) map.set(op, []);
      map.get(op).push(r);
    }
    return map;
  };
  const at = (op) => ({ order: ix.byOp.get(op) ?? { operationId: op }, sub: null });
  for (const [op, list] of perOp(ix.orders, () => true)) {
    if (list.length > 1) {
      add(2, at(op), 'at most one order per operationId',
        `${list.length} orders: ${list.map((o) => `${o.orderId} (by ${o.createdBy?.key ?? 'no key'}, log #${o.createdBy?.seq})`).join(', ')}`);
    }
  }
  for (const [op, list] of perOp(ix.authorizations, liveAuthorization)) {
    if (list.length > 1) {
      add(2, at(op), 'at most one live authorization per operationId',
        `${list.length} live: ${list.map((a) => a.authorizationId).join(', ')}`);
    }
  }
  // Every write carries the key of its call, so that no write can reach a service twice
  // without the same key (retries, Chromium's resends and resubmissions included).
  const seen = new Set();
  for (const e of ix.domain) {
    if (!isWrite(e)) continue;
    const owner = e.trace ? ix.byTrace.get(e.trace) : null;
    const key = e.headers['idempotency-key'];
    const expected = owner && e.call ? `${owner.order.operationId}:${e.call}` : null;
    const bad = !key ? 'no Idempotency-Key' : expected && key !== expected ? `Idempotency-Key ${key}` : null;
    if (!bad) continue;
    const once = `${e.trace}\n${e.call}\n${bad}`;
    if (seen.has(once)) continue;
    seen.add(once);
    add(2, owner ?? at(opOfKey(key)), expected ? `every ${e.method} ${e.service}${e.path} with Idempotency-Key ${expected}` : 'every write with an Idempotency-Key',
      `log #${e.seq} ${e.method} ${e.service}${e.path} with ${bad}`);
  }
  // A resubmission never creates a second order: the submissions of one operation that
  // resolved all name the same order, and it is the one that exists.
  for (const order of ix.byOp.values()) {
    const ids = [...new Set(order.submissions.filter((s) => s.outcome === 'resolved').map((s) => s.result.orderId))];
    if (ids.length > 1) add(2, { order, sub: order.submissions.at(-1) }, 'one orderId for every resolved submission', `resolved with ${ids.join(' and ')}`);
  }
}

// 3. Nothing hidden.
function checkNothingHidden({ ix, add }) {
  for (const o of ix.orders.values()) {
    const { op, entry } = ix.creator(o);
    const order = ix.byOp.get(op);
    const subs = order?.submissions ?? [];
    const told = subs.some((s) => (s.outcome === 'resolved' && s.result.orderId === o.orderId)
      || (s.outcome === 'rejected' && s.error.calls?.order?.state === 'unknown'));
    if (!told) {
      add(3, { order: order ?? { operationId: op }, sub: subs.at(-1) ?? null },
        `a submission resolved with ${o.orderId}, or reported the order call unknown`,
        subs.length ? subs.map((s) => `${describeSub(s)}: order ${callsOf(s)?.order?.state ?? 'no record'}`).join('; ')
          : `no composition of that operation (created by log #${entry?.seq ?? '?'})`);
    }
  }
  for (const e of ix.domain) {
    if (!e.effect) continue;
    const owner = e.trace ? ix.byTrace.get(e.trace) : null;
    const effect = JSON.stringify(e.effect);
    if (!owner) {
      const op = opOfKey(e.headers['idempotency-key']);
      add(3, { order: ix.byOp.get(op) ?? { operationId: op }, sub: null }, 'every write that took effect belongs to a known composition',
        `log #${e.seq} ${e.method} ${e.service}${e.path} ${effect} with traceparent ${e.headers.traceparent ?? 'none'}`);
      continue;
    }
    const { sub } = owner;
    if (sub.outcome !== 'resolved' && sub.outcome !== 'rejected') continue; // no records: invariant 1 reports it
    if (!e.call) {
      add(3, owner, 'only the requests of composeOrder', `log #${e.seq} ${e.method} ${e.service}${e.path} ${effect}`);
      continue;
    }
    if (e.call.endsWith('.compensate')) {
      const call = e.call.slice(0, -'.compensate'.length);
      const comp = compensationsOf(sub).find((c) => c.call === call);
      if (!comp || (comp.state !== 'ok' && comp.state !== 'unknown')) {
        add(3, owner, `the undo of ${call} (log #${e.seq}, ${effect}) reported ok or unknown`,
          comp ? `compensation ${comp.state}${comp.reason ? ` (${comp.reason})` : ''}` : `no compensation record for ${call} (${describeSub(sub)})`);
      }
      continue;
    }
    const rec = callsOf(sub)?.[e.call];
    // A declined authorization exists at the payment service, but it is the answer
    // PAYMENT_DECLINED reports: nothing was hidden. The payment record says so itself when
    // another failure (a timeout elsewhere) came first and the payment, in flight, drained.
    const declined = e.call === 'payment' && e.reply?.body?.status === 'declined' && rec?.state === 'failed'
      && (sub.error?.code === 'PAYMENT_DECLINED' || rec.error?.code === 'PAYMENT_DECLINED');
    if (declined) continue;
    if (!rec || (rec.state !== 'ok' && rec.state !== 'unknown')) {
      add(3, owner, `${e.call} (log #${e.seq}, ${effect}) recorded ok or unknown`,
        rec ? `${e.call} ${rec.state}${rec.error ? ` (${rec.error.code})` : ''} in ${describeSub(sub)}` : `no record of ${e.call}`);
    }
  }
}

/**
 * Why a compensation that did not run may be right, as the run and the services confirm it:
 * the caller aborted (nothing more is sent); a write of this composition is unknown (the
 * write itself, the order that stands on it, or any other: the operation is then left whole
 * for a resubmission under the same operationId); a write of this composition was answered
 * with a replay (the same); or the resource was made by another request with the same key
 * (an earlier submission), so this composition has nothing of its own to undo.
 */
function notRunConfirmed(ix, sub, call, resource) {
  if (sub.aborted) return 'the caller aborted';
  const writes = Object.keys(callsOf(sub) ?? {}).filter((name) => FORWARD[name][0] !== 'GET');
  const unknown = writes.find((name) => callsOf(sub)[name]?.state === 'unknown');
  if (unknown) return `${unknown} is unknown`;
  // A write whose request the service answered with a replay: an earlier request with its
  // key made it (an earlier submission's, or the browser's own resend of this one's), and
  // the operation is then left whole for a resubmission. The log, not the record, says so.
  const replayed = writes.find((name) => ix.entriesOf(sub.traceId, name).some((e) => e.replayed));
  if (replayed) return `${replayed} was answered with a replay (log)`;
  const { entry } = ix.creator(resource);
  if (entry && entry.trace !== sub.traceId) return `made by log #${entry.seq}, another composition`;
  return null;
}

/**
 * Whether the composition's undo of `call` was answered 2xx by a transport fault that does
 * not run the handler (the mock's slow-body streams a fault body with 200 instead of the
 * reply): the service said it was done and did nothing, so a compensation reported `ok` is
 * what the service told, not the library's doing. Such a reply normally ends after the
 * call's time limit (1,000 ms of body); it is read in full only when the event loop was late
 * enough that the reply and the timer were due at once (chaos-1-node-381 in the full
 * composer run, its loop 324 ms late).
 */
function undoAnsweredByFault(ix, sub, call) {
  return ix.entriesOf(sub.traceId, `${call}.compensate`)
    .some((e) => delivered(e) && is2xx(e.status) && !e.effect && e.fault && faultKind(e.fault) === 'slow-body');
}

// 4. Undone means undone.
function checkUndone({ ix, add }) {
  const resourceOf = (call, id) => (call === 'inventory' ? ix.reservations.get(id) : ix.authorizations.get(id));
  const isLive = (call, r) => (call === 'inventory' ? liveReservation(r) : liveAuthorization(r));
  const noun = (call) => (call === 'inventory' ? 'reservation' : 'authorization');
  // (a) each failed composition: what it got (made, or replayed to it) is undone or reported.
  for (const order of ix.byOp.values()) {
    for (const sub of order.submissions) {
      if (sub.outcome !== 'rejected') continue;
      for (const [call, field] of Object.entries(UNDOABLE)) {
        const ids = new Set(ix.entriesOf(sub.traceId, call)
          .filter((e) => is2xx(e.reply?.status) && typeof e.reply.body?.[field] === 'string')
          .map((e) => e.reply.body[field]));
        for (const id of ids) {
          const r = resourceOf(call, id);
          if (!r) {
            add(4, { order, sub }, `${noun(call)} ${id} in the ${call} service's state`, 'absent');
            continue;
          }
          if (!isLive(call, r)) continue;
          if (ix.ordersOn.has(id)) continue; // an order stands on it: leaving it is right (7 and 3 judge the order)
          const comp = compensationsOf(sub).find((c) => c.call === call);
          const rec = sub.error.calls?.[call];
          if (comp?.state === 'failed' || comp?.state === 'unknown') continue;
          if (comp?.state === 'ok' && undoAnsweredByFault(ix, sub, call)) continue;
          if (!comp && rec?.state === 'unknown') continue;
          if (comp?.state === 'not-run' && comp.reason && notRunConfirmed(ix, sub, call, r)) continue;
          add(4, { order, sub }, `${noun(call)} ${id} undone, or its compensation reported failed, unknown or not-run with a reason the state confirms`,
            `${id} still live; ${comp ? `compensation ${comp.state}${comp.reason ? ` ("${comp.reason}")` : ' without a reason'}` : 'no compensation record'}; ${call} ${rec?.state} (${describeSub(sub)})`);
        }
      }
    }
  }
  // (b) nothing live that its operation did not report.
  for (const [call, resources] of [['inventory', ix.reservations], ['payment', ix.authorizations]]) {
    for (const r of resources.values()) {
      const id = r[UNDOABLE[call]];
      if (!isLive(call, r) || ix.ordersOn.has(id)) continue;
      const { op, entry, owner } = ix.creator(r);
      const order = ix.byOp.get(op);
      const reported = (order?.submissions ?? []).some((s) => s.outcome === 'rejected'
        && (['failed', 'unknown', 'not-run'].includes(compensationsOf(s).find((c) => c.call === call)?.state)
          || s.error.calls?.[call]?.state === 'unknown' || undoAnsweredByFault(ix, s, call)));
      if (reported) continue;
      add(4, { order: order ?? { operationId: op }, sub: owner?.sub ?? order?.submissions.at(-1) ?? null },
        `no live ${noun(call)} without an order unless its composition reported it`,
        `${id} (log #${entry?.seq ?? '?'}) live, no order on it; ${(order?.submissions ?? []).map(describeSub).join('; ') || 'no composition of that operation'}`);
    }
  }
}

/**
 * How many log entries a record's attempts allow. Node sends each attempt once; Chromium
 * resends a request by itself once when a reused connection is reset before any reply byte,
 * so each such reset may add an entry. An attempt cut short (abort, deadline, timeout) may
 * not have reached the service at all.
 */
function allowedEntries(rec, entries, runtime) {
  const cutShort = rec.state === 'cancelled' || rec.state === 'unknown' || ['TIMEOUT', 'ABORTED'].includes(rec.error?.code);
  const resends = runtime === 'chromium' ? entries.filter(resetBeforeReply).length : 0;
  // A hedged read's attempts may each have sent a second request (the budget decides which).
  const hedges = rec.hedged ? rec.attempts : 0;
  return { min: Math.max(0, rec.attempts - (cutShort ? 1 : 0)), max: rec.attempts + hedges + resends, cutShort };
}

/**
 * A cached record: ok, attempts 0, no request of its own in its composition's trace, and a
 * source (cacheSource) with its status, no older than the record's maxAgeMs allows.
 */
function checkCached(ctx, at, label, rec, entries, seqs) {
  const { add, cfg } = ctx;
  if (entries.length) add(5, at, `${label} cached: no request of its own`, seqs);
  if (rec.state !== 'ok' || rec.attempts !== 0) add(5, at, `${label} cached: ok with attempts 0`, `${short(rec.state)}, attempts ${rec.attempts}`);
  const maxAge = maxAgeOf(cfg, label);
  if (!(Number.isFinite(rec.ageMs) && rec.ageMs >= 0 && rec.ageMs <= maxAge)) add(5, at, `${label} cached: ageMs from 0 to ${maxAge}`, short(rec.ageMs));
  const { entry, why } = usedReply(ctx, at, label);
  if (!entry) add(5, at, `${label} cached: a reply the services gave to the same request`, why);
  else if (entry.status !== rec.status) add(5, at, `${label} cached with status ${rec.status}: its source's (log #${entry.seq})`, `${entry.status}`);
}

/** One record (a call's or a compensation's) against the log entries of that call. */
function checkRecord(ctx, at, label, rec, entries) {
  const { add, runtime } = ctx;
  if (rec.sharedFrom) return; // a shared read sent nothing of its own
  const n = entries.length;
  const seqs = entries.map((e) => `#${e.seq} ${e.status ?? (e.aborted ? 'aborted' : e.reset ? 'reset' : 'no reply')}${e.fault ? ` ${faultKind(e.fault)}` : ''}`).join(', ');
  if (rec.cached) return checkCached(ctx, at, label, rec, entries, seqs);
  const { min, max, cutShort } = allowedEntries(rec, entries, runtime);
  if (n < min || n > max) {
    add(5, at, `${label}: ${min === max ? min : `${min}-${max}`} request(s) in the log for ${rec.attempts} attempt(s)`, `${n}${n ? ` (${seqs})` : ''}`);
  }
  const last = entries.at(-1) ?? null;
  const statusSeen = (s) => entries.some((e) => e.status === s);
  // The reply used: the last request's; of a hedged read, the hedge's (the later of the
  // last two) when it won, else the first request's when every attempt was hedged (the last
  // two are then the last attempt's pair), or either of the last two (the budget may have
  // left the last attempt unhedged, and hedgeWon tells of the last hedged one).
  const usable = (e) => e && delivered(e) && is2xx(e.status) && e.status === rec.status;
  const resent = runtime === 'chromium' ? entries.filter(resetBeforeReply).length : 0;
  const paired = rec.hedged && n >= 2 && n - resent >= 2 * rec.attempts;
  // In Chromium the log's order of the two is not the order they were sent in: a first
  // request reset before any reply byte is resent by the browser itself, and that resend can
  // arrive after the hedge, won or lost (runs saw 429; reset; the hedge, 200; the resend,
  // aborted: hedgeWon true; and lose-reply; the hedge, aborted; the resend, 200: hedgeWon
  // false); and a first request waiting inside the browser for one of its 6 connections to
  // the origin can reach it after the hedge, which took another (a full run saw the first,
  // 200, arrive before the hedge, aborted, with hedgeWon true, which this explains). There any
  // of the last two, and of one more per resend, may be the one used (chaos-1-chromium-585:
  // the first 200, the hedge reset, its resend aborted, with hedgeWon false).
  const candidates = !rec.hedged ? [last]
    : resent || runtime === 'chromium' ? entries.slice(-(2 + resent)).reverse()
      : rec.hedgeWon ? [last] : paired ? [entries.at(-2)] : [last, entries.at(-2)];
  const used = candidates.find(usable) ?? null;
  switch (rec.state) {
    case 'ok':
      if (!used) {
        const which = !rec.hedged ? 'its last request'
          : resent || runtime === 'chromium' ? `one of its last ${2 + resent} requests (Chromium: their order in the log is not the order they were sent in)`
            : rec.hedgeWon ? 'its hedge, the last request' : paired ? 'its last attempt\'s first request (hedgeWon false)' : 'its first request or its last';
        add(5, at, `${label} ok with status ${rec.status}: ${which} answered ${rec.status} and the reply reached the client`, last ? seqs : 'no request in the log');
      } else if ('replayed' in rec && Boolean(rec.replayed) !== Boolean(used.replayed)) {
        add(5, at, `${label} replayed: ${Boolean(used.replayed)} (log #${used.seq})`, `replayed: ${rec.replayed}`);
      }
      break;
    case 'failed':
      // A hedged read that failed twice reports the error that came first: either request's.
      if (rec.status !== null && !(cutShort || rec.hedged ? statusSeen(rec.status) : last?.status === rec.status)) {
        add(5, at, `${label} failed with status ${rec.status}: what its ${cutShort || rec.hedged ? '' : 'last '}request was answered`, seqs || 'no request in the log');
      } else if (rec.status === null && last && (rec.hedged ? entries.slice(-2).every(delivered) : delivered(last))
        // CIRCUIT_OPEN: the refused attempt sent nothing; the last request was an earlier attempt's.
        && !['TIMEOUT', 'BAD_RESPONSE', 'ABORTED', 'CIRCUIT_OPEN'].includes(rec.error?.code)) {
        add(5, at, `${label} failed without a status (${rec.error?.code}): no reply reached the client`, seqs);
      }
      break;
    case 'unknown':
    case 'cancelled':
      if (rec.status !== null && !statusSeen(rec.status)) add(5, at, `${label} ${rec.state} with status ${rec.status}: the service answered it`, seqs || 'no request in the log');
      break;
    case 'not-sent':
    case 'skipped':
    case 'not-run':
      if (n > 0) add(5, at, `${label} ${rec.state}: no request`, seqs);
      break;
    default:
      add(5, at, `${label}: a known state`, `state ${short(rec.state)}`);
  }
}

// 5. Reports are true.
function checkReports(ctx, run) {
  const { ix, add } = ctx;
  for (const at of settledSubs(run)) {
    const { sub } = at;
    const calls = callsOf(sub) ?? {};
    const groups = ix.groups.get(sub.traceId) ?? new Map();
    for (const name of Object.keys(FORWARD)) {
      const rec = calls[name];
      if (!rec) {
        add(5, at, `a record of ${name}`, 'none');
        continue;
      }
      checkRecord(ctx, at, name, rec, groups.get(name) ?? []);
    }
    const comps = compensationsOf(sub);
    for (const call of Object.keys(UNDO)) {
      const entries = groups.get(`${call}.compensate`) ?? [];
      const comp = comps.find((c) => c.call === call);
      if (comp) checkRecord(ctx, at, `${call}.compensate`, comp, entries);
      else if (entries.length) add(5, at, `no undo of ${call} without a compensation record`, entries.map((e) => `#${e.seq}`).join(', '));
    }
    checkCircuit(ctx, at);
    if (sub.outcome === 'resolved') checkResult(ctx, at);
    else checkAdvice(ctx, at);
  }
}

/**
 * A call its origin's circuit breaker refused (CIRCUIT_OPEN) follows the usual rules: an
 * optional one leaves the composition whole, a required one fails it; a rejection with
 * CIRCUIT_OPEN names a refused required call and the origin the run's services give it.
 * That it sent nothing for the refused attempt is checkRecord's count: `attempts` holds only
 * the attempts that went.
 */
function checkCircuit({ add, run }, at) {
  const { sub } = at;
  for (const [name, rec] of Object.entries(callsOf(sub) ?? {})) {
    if (rec?.error?.code !== 'CIRCUIT_OPEN') continue;
    if (rec.state !== 'failed' && rec.state !== 'unknown') add(5, at, `${name} refused by its circuit: failed (or unknown, a write an earlier attempt may have made)`, short(rec.state));
    if (sub.outcome === 'resolved' && !OPTIONAL.has(name)) add(5, at, `a rejection, since the required ${name} was refused by its circuit`, 'resolved');
  }
  if (sub.outcome !== 'rejected' || sub.error.code !== 'CIRCUIT_OPEN') return;
  const { call, origin } = sub.error;
  const rec = callsOf(sub)?.[call];
  if (!rec || rec.error?.code !== 'CIRCUIT_OPEN' || OPTIONAL.has(call)) {
    add(5, at, 'CIRCUIT_OPEN names a required call its circuit refused', `call ${short(call)}: ${rec ? `${rec.state}${rec.error ? ` (${rec.error.code})` : ''}` : 'no record'}`);
  }
  const url = run.services?.[call];
  if (url && 'origin' in sub.error && origin !== new URL(url).origin) add(5, at, `CIRCUIT_OPEN's origin ${new URL(url).origin}, ${call}'s`, short(origin));
}

/** A resolved result's ids and notification against the replies and the state. */
function checkResult({ ix, add }, at) {
  const { sub } = at;
  const r = sub.result;
  const body = (call) => lastDelivered(ix.entriesOf(sub.traceId, call))?.reply?.body ?? null;
  for (const [call, field, value] of [['inventory', 'reservationId', r.reservationId], ['payment', 'authorizationId', r.authorizationId], ['order', 'orderId', r.orderId]]) {
    const given = body(call)?.[field];
    if (given !== value) add(5, at, `result.${field} = the ${call} reply's ${short(given)}`, short(value));
  }
  const stored = ix.orders.get(r.orderId);
  if (stored && (stored.reservationId !== r.reservationId || stored.authorizationId !== r.authorizationId)) {
    add(5, at, `order ${r.orderId} stands on ${r.reservationId} and ${r.authorizationId}`, `${stored.reservationId} and ${stored.authorizationId}`);
  }
  const n = r.notification ?? {};
  const rec = r.calls?.notification;
  if ('state' in n && n.state !== rec?.state) add(5, at, `notification.state ${short(rec?.state)}, as its record`, short(n.state));
  if (n.sent === true) {
    const given = body('notification')?.notificationId;
    if (rec?.state !== 'ok' || given !== n.notificationId) add(5, at, `notification sent: ok, with the reply's notificationId ${short(given)}`, `${rec?.state}, ${short(n.notificationId)}`);
  } else if (rec?.state === 'ok') {
    add(5, at, 'notification.sent true when its call is ok', short(n));
  }
}

/**
 * The resubmit advice (when the build gives one) against the services' state. Checked only
 * where it can be: nothing resubmits after "new-operation", so what is left in effect then is
 * what this composition left.
 */
function checkAdvice({ ix, add }, at) {
  const { sub, order } = at;
  const advice = sub.error.resubmit;
  if (typeof advice !== 'string') return;
  const calls = sub.error.calls ?? {};
  const unknown = Object.entries(calls).filter(([, c]) => c?.state === 'unknown').map(([k]) => k);
  // What this composition made that is still in effect, leaving aside what its compensations
  // report as not undone (failed, unknown, not-run): the README leaves that to the caller to
  // reconcile, whatever the advice.
  const reported = new Set(compensationsOf(sub).filter((c) => c.state !== 'ok' || undoAnsweredByFault(ix, sub, c.call)).map((c) => c.call));
  const made = [];
  for (const [call, resources] of [['inventory', ix.reservations], ['payment', ix.authorizations], ['order', ix.orders]]) {
    if (reported.has(call)) continue;
    for (const e of ix.entriesOf(sub.traceId, call)) {
      const id = e.effect?.created;
      if (!id) continue;
      const r = resources.get(id);
      const inEffect = call === 'inventory' ? liveReservation(r) : call === 'payment' ? liveAuthorization(r) : r?.status === 'confirmed';
      if (inEffect) made.push(id);
    }
  }
  if (advice === 'new-operation' && (unknown.length || (made.length && sub === order.submissions.at(-1)))) {
    add(5, at, 'resubmit "same-operation" when a write is unknown, or one it made is still in effect and not reported in compensations',
      `"new-operation" with ${[unknown.length ? `unknown: ${unknown.join(', ')}` : '', made.length ? `in effect: ${made.join(', ')}` : ''].filter(Boolean).join('; ')}`);
  }
  if (advice === 'same-operation' && !unknown.length && !made.length && reported.size === 0) {
    add(5, at, 'resubmit "new-operation" when nothing is unknown and nothing it made remains', '"same-operation"');
  }
  if (advice !== 'new-operation' && advice !== 'same-operation') add(5, at, 'resubmit "same-operation" or "new-operation"', short(advice));
}

// 6. Money.
function checkMoney(ctx, run) {
  const { ix, add } = ctx;
  for (const at of settledSubs(run)) {
    const { sub } = at;
    if (sub.outcome !== 'resolved') continue;
    // A cached quote's reply is its source's: the one the services gave another composition.
    const reply = (call) => usedReply(ctx, at, call).entry?.reply?.body ?? null;
    const pricing = reply('pricing');
    const shipping = reply('shipping');
    const tax = reply('tax');
    if (!pricing || !shipping || !tax) {
      add(6, at, 'the pricing, shipping and tax replies in the log (a cached one\'s source\'s)', `pricing ${short(pricing)}, shipping ${short(shipping)}, tax ${short(tax)}`);
      continue;
    }
    const total = pricing.subtotal - pricing.discount + shipping.cost + tax.amount;
    const how = `${pricing.subtotal} - ${pricing.discount} + ${shipping.cost} + ${tax.amount} = ${total}`;
    const r = sub.result;
    if (r.total !== total) add(6, at, `total ${how}`, `result.total ${r.total}`);
    const auth = ix.authorizations.get(r.authorizationId);
    if (auth?.amount !== total) add(6, at, `authorization ${r.authorizationId} of ${total}`, auth ? `${auth.amount}` : 'no such authorization');
    const stored = ix.orders.get(r.orderId);
    if (stored?.total !== total) add(6, at, `order ${r.orderId} stored with total ${total}`, stored ? `${stored.total}` : 'no such order');
  }
}

// 7. Nothing undone under an order.
function checkNothingUndoneUnderOrder({ ix, add }) {
  const undoneBy = (kind, id) => ix.domain.find((e) => e.effect?.[kind] === id) ?? null;
  for (const o of ix.orders.values()) {
    if (o.status !== 'confirmed') continue;
    const { op } = ix.creator(o);
    const order = ix.byOp.get(op) ?? { operationId: op };
    for (const [what, id, live, kind] of [
      ['reservation', o.reservationId, liveReservation(ix.reservations.get(o.reservationId)), 'released'],
      ['authorization', o.authorizationId, liveAuthorization(ix.authorizations.get(o.authorizationId)), 'voided'],
    ]) {
      if (live) continue;
      const e = undoneBy(kind, id);
      const by = e?.trace ? ix.byTrace.get(e.trace) : null;
      add(7, { order, sub: by?.sub ?? null }, `order ${o.orderId} keeps its ${what} ${id} ${what === 'reservation' ? 'held' : 'live'}`,
        e ? `${kind} by log #${e.seq} (${e.headers['idempotency-key']}), ${by ? describeSub(by.sub) : 'no known composition'}` : `${id} is ${kind} or missing`);
    }
  }
}

// 8. Placed means resolved.
function checkPlacedMeansResolved({ ix, add, cfg }, run) {
  for (const at of settledSubs(run)) {
    const { sub } = at;
    if (sub.outcome !== 'rejected') continue;
    const rec = sub.error.calls?.order;
    // From the log: an order reply the service sent in full well before the composition stopped
    // listening (its deadline, its abort, or its settling, whichever came first). "Well before":
    // SETTLE_SLACK_MS plus the most its event loop ran late, since a reply sent closer to the
    // cut may still have been on its way through the browser or the loop when the cut came.
    const cutAt = sub.startedAt + Math.min(sub.elapsedMs, cfg.deadlineMs, sub.abortedAtMs ?? Infinity);
    const margin = SETTLE_SLACK_MS + (sub.loopLagMs ?? 0);
    const placed = ix.entriesOf(sub.traceId, 'order')
      .find((e) => delivered(e) && is2xx(e.status) && completeAt(e) + margin < cutAt);
    if (rec?.state === 'ok' || placed) {
      add(8, at, 'resolved, since its order was placed', `${describeSub(sub)}; order ${rec?.state}${placed ? `, its ${placed.status} reply (log #${placed.seq}, ${placed.reply?.body?.orderId}) sent in full ${Math.round(cutAt - completeAt(placed))} ms before the ${cutAt - sub.startedAt < sub.elapsedMs ? (sub.aborted && sub.abortedAtMs < cfg.deadlineMs ? 'abort' : 'deadline') : 'end'} (the event loop at most ${Math.round(sub.loopLagMs ?? 0)} ms late)` : ''}`);
    }
  }
}

// ------------------------------------------------------------------ the figures

function count(list, keyOf) {
  const out = {};
  for (const x of list) {
    const k = keyOf(x);
    if (k === undefined || k === null) continue;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** The table's figures for one runtime: from the callers, the records and the log. */
function summarize(ix, run) {
  const subs = run.orders.flatMap((o) => o.submissions);
  const finals = run.orders.map((o) => o.submissions.at(-1));
  const records = subs.flatMap((s) => Object.values(callsOf(s) ?? {}));
  const comps = subs.flatMap(compensationsOf);
  let logRetries = 0;
  for (const calls of ix.groups.values()) for (const entries of calls.values()) logRetries += entries.length - 1;
  const live = (map, isLive) => [...map.values()].filter((r) => isLive(r) && !ix.ordersOn.has(r.reservationId ?? r.authorizationId)).length;
  return {
    orders: run.orders.length,
    compositions: subs.length,
    resolved: finals.filter((s) => s.outcome === 'resolved').length,
    failed: finals.filter((s) => s.outcome === 'rejected').length,
    pending: subs.filter((s) => s.outcome === 'pending').length,
    threw: subs.filter((s) => s.outcome === 'threw').length,
    resubmitted: run.orders.filter((o) => o.submissions.length > 1).length,
    resubmittedResolved: run.orders.filter((o) => o.submissions.length > 1 && o.submissions[1].outcome === 'resolved').length,
    aborted: subs.filter((s) => s.aborted).length,
    maxLoopLagMs: Math.max(0, ...subs.map((s) => s.loopLagMs ?? 0)),
    rejectionsByCode: count(subs.filter((s) => s.outcome === 'rejected'), (s) => s.error.code),
    requests: ix.domain.length,
    faults: count(ix.domain.filter((e) => e.chaos), (e) => faultKind(e.fault)),
    retriesRecorded: [...records, ...comps].reduce((n, c) => n + Math.max(0, (c.attempts ?? 0) - 1), 0),
    retriesLogged: logRetries,
    compensations: count(comps, (c) => c.state),
    undoneAtServices: ix.domain.filter((e) => e.effect?.released || e.effect?.voided).length,
    unknownCalls: records.filter((c) => c.state === 'unknown').length,
    unknownByCall: count(subs.flatMap((s) => Object.entries(callsOf(s) ?? {})), ([k, c]) => (c.state === 'unknown' ? k : null)),
    replayedRecords: records.filter((c) => c.replayed === true).length,
    adviceGiven: subs.some((s) => s.error && 'resubmit' in s.error),
    // The composer mode's: records served by the cache (by call), hedged, and refused by a circuit.
    cachedByCall: count(subs.flatMap((s) => Object.entries(callsOf(s) ?? {})), ([k, c]) => (c.cached ? k : null)),
    hedged: records.filter((c) => c.hedged === true).length,
    hedgeWon: records.filter((c) => c.hedgeWon === true).length,
    circuitOpenByCall: count(subs.flatMap((s) => Object.entries(callsOf(s) ?? {})), ([k, c]) => (c.error?.code === 'CIRCUIT_OPEN' ? k : null)),
    ordersInState: ix.orders.size,
    liveReservationsWithoutOrder: live(ix.reservations, liveReservation),
    liveAuthorizationsWithoutOrder: live(ix.authorizations, liveAuthorization),
    wallMs: run.wallMs,
  };
}

// ------------------------------------------------------------------ the load check

/**
 * The most requests of one group on the wire at once, from the server's times: each entry
 * is on the wire from arrivedAt to repliedAt, or, without a reply (the client went away),
 * until `openEnd(entry)`: the latest it can have ended.
 */
export function peakOnWire(entries, openEnd) {
  const edges = [];
  for (const e of entries) {
    edges.push([e.arrivedAt, 1]);
    edges.push([e.repliedAt ?? openEnd(e), -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]); // an end before a start at the same instant
  let now = 0;
  let peak = 0;
  for (const [, d] of edges) {
    now += d;
    peak = Math.max(peak, now);
  }
  return peak;
}

/**
 * Judges the load check: every composition settled and resolved (no faults were injected),
 * and no composition ever had more than `limit` requests to one origin on the wire at once.
 */
export function judgeLoad({ load, log, limit }) {
  const found = [];
  const add = (traceId, expected, what) => found.push({ invariant: 'load', runtime: 'chromium', operationId: null, submission: null, traceId, expected, found: what });
  const pending = load.outcomes.filter((o) => o === null).length;
  if (!load.allSettled || pending) add(null, `all ${load.outcomes.length} compositions settled`, `${pending} still pending after ${Math.round(load.settleMs)} ms`);
  // A rejection is reported (summary.rejected), not judged: the check is that all settle and
  // that the limit holds; why fault-free compositions fail under load is for the docs to say.
  const rejected = load.outcomes.filter((o) => o?.outcome === 'rejected');
  const origin = (e) => (e.via === 'gateway' ? 'gateway' : e.service);
  const domain = log.filter((e) => !e.path.startsWith('/lab'));
  // A request without a reply ended at the latest when its composition settled (the engine
  // aborts what is in flight before it settles); one of no known composition, at the log's end.
  const settledAt = new Map(load.outcomes.filter(Boolean).map((o) => [o.traceId, o.settledAt]));
  const logEnd = Math.max(0, ...domain.map((e) => e.repliedAt ?? e.arrivedAt));
  const end = (e) => settledAt.get(traceOf(e)) ?? logEnd;
  const byGroup = new Map();
  for (const e of domain) {
    if (!traceOf(e)) continue; // no composition to count it against: a stray, reported below
    const key = `${traceOf(e)}\n${origin(e)}`;
    if (!byGroup.has(key)) byGroup.set(key, []);
    byGroup.get(key).push(e);
  }
  let peak = 0;
  let worst = null;
  for (const [key, entries] of byGroup) {
    const p = peakOnWire(entries, end);
    if (p > peak) [peak, worst] = [p, key];
  }
  if (peak > limit) add(worst.split('\n')[0], `at most ${limit} requests of one composition to one origin on the wire`, `${peak} to ${worst.split('\n')[1]}`);
  const traced = new Set(load.outcomes.map((o) => o?.traceId).filter(Boolean));
  const strays = domain.filter((e) => !traced.has(traceOf(e)));
  if (strays.length) add(null, 'every request belongs to one of the compositions', `${strays.length} requests with another or no traceparent`);
  const perOrigin = new Map();
  for (const e of domain) {
    if (!perOrigin.has(origin(e))) perOrigin.set(origin(e), []);
    perOrigin.get(origin(e)).push(e);
  }
  return {
    summary: {
      compositions: load.outcomes.length,
      settled: load.outcomes.length - pending,
      resolved: load.outcomes.filter((o) => o?.outcome === 'resolved').length,
      rejectedByCode: count(rejected, (o) => o.code),
      firstRejection: rejected[0] ? `${rejected[0].code}: ${rejected[0].message}` : null,
      settleMs: load.settleMs,
      requests: domain.length,
      peakPerCompositionOrigin: peak,
      limit,
      peakAllCompositionsPerOrigin: Math.max(0, ...[...perOrigin.values()].map((l) => peakOnWire(l, end))),
    },
    discrepancies: found,
  };
}
