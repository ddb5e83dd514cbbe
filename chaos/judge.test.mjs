// The judge judged: one order placed cleanly, as the mock logs it and as the caller records
// it, gives no discrepancy; each invariant is then broken once, by hand, and must be found.
// A judge that cannot fail proves nothing (the chaos runs so far never broke 2 and 6).
//
//   node --test chaos/
import test from 'node:test';
import assert from 'node:assert/strict';
import { judgeRun, judgeLoad } from './judge.mjs';

const TRACE = 'a'.repeat(32);
const OP = 'chaos-1-node-0';
const T0 = 1_000_000;

/** The order flow's requests, replies and effects, in order, 10 ms apart. */
const FLOW = [
  ['customer', 'GET', '/customers/c-gold-0', 200, { id: 'c-gold-0', email: 'c-gold-0@example.test', tier: 'gold' }],
  ['cart', 'GET', '/carts/k-0', 200, { id: 'k-0', items: [{ sku: 'SKU-1', quantity: 2 }, { sku: 'SKU-2', quantity: 1 }] }],
  ['inventory', 'POST', '/reservations', 201, { reservationId: 'res-1', cartId: 'k-0' }, { created: 'res-1' }],
  ['pricing', 'POST', '/quotes', 200, { currency: 'USD', subtotal: 8498, discount: 850 }],
  ['shipping', 'POST', '/quotes', 200, { cost: 1499, carrier: 'Swiftline' }],
  ['fraud', 'POST', '/checks', 200, { decision: 'approve' }],
  ['tax', 'POST', '/quotes', 200, { amount: 631 }],
  ['payment', 'POST', '/authorizations', 201, { authorizationId: 'auth-1', status: 'authorized' }, { created: 'auth-1' }],
  ['order', 'POST', '/orders', 201, { orderId: 'ord-1', status: 'confirmed' }, { created: 'ord-1' }],
  ['notification', 'POST', '/notifications', 202, { notificationId: 'ntf-1' }, { created: 'ntf-1' }],
];
const TOTAL = 8498 - 850 + 1499 + 631;

function entry(seq, [service, method, path, status, body, effect], { trace = TRACE, key } = {}) {
  const at = T0 + seq * 10;
  return {
    seq, scenario: 'chaos-node', service, via: 'direct', method, path, query: {},
    headers: { traceparent: `00-${trace}-${String(seq).padStart(16, '0')}-01`, ...(method === 'GET' || path === '/quotes' ? {} : { 'idempotency-key': key ?? `${OP}:${service}` }) },
    body: null, arrivedAt: at, repliedAt: at + 5, status, aborted: false, nth: seq, wait: 5,
    reply: { status, body }, ...(effect ? { effect } : {}),
  };
}

function record(i, status) {
  return { state: 'ok', status, attempts: 1, startMs: i * 10, endMs: i * 10 + 5, error: null, queuedMs: 0, sharedFrom: null };
}

/** One order, resolved: what the caller keeps, the mock's log and its state. */
function clean() {
  const calls = Object.fromEntries(FLOW.map((f, i) => [f[0], record(i, f[3])]));
  const sub = {
    n: 1, startedAt: T0, elapsedMs: 120, outcome: 'resolved', aborted: false, abortedAtMs: null, loopLagMs: 0, traceId: TRACE,
    result: {
      orderId: 'ord-1', status: 'confirmed', total: TOTAL, currency: 'USD', reservationId: 'res-1', authorizationId: 'auth-1',
      shipping: { cost: 1499, carrier: 'Swiftline' }, tax: { amount: 631 }, notification: { sent: true, notificationId: 'ntf-1' }, calls, traceId: TRACE,
    },
    error: null,
  };
  const run = { orders: [{ index: 0, operationId: OP, request: {}, abortAtMs: null, submissions: [sub] }], wallMs: 200 };
  const log = FLOW.map((f, i) => entry(i + 1, f));
  const state = {
    reservations: [{ reservationId: 'res-1', released: false, createdBy: { key: `${OP}:inventory`, seq: 3 } }],
    authorizations: [{ authorizationId: 'auth-1', status: 'authorized', amount: TOTAL, createdBy: { key: `${OP}:payment`, seq: 8 } }],
    orders: [{ orderId: 'ord-1', status: 'confirmed', reservationId: 'res-1', authorizationId: 'auth-1', total: TOTAL, createdBy: { key: `${OP}:order`, seq: 9 } }],
    notifications: [{ notificationId: 'ntf-1', createdBy: { key: `${OP}:notification`, seq: 10 } }],
  };
  return { run, log, state, sub };
}

const judge = ({ run, log, state }, runtime = 'node') => judgeRun({ runtime, run, log, state, cfg: { deadlineMs: 2000 } });
const invariants = (judged) => [...new Set(judged.discrepancies.map((d) => d.invariant))].sort();

/** Turns a clean resolved submission into a rejected one with the given error fields. */
function reject(sub, fields) {
  sub.error = { composeError: true, name: 'ComposeError', message: 'x', status: null, calls: sub.result.calls, compensations: [], traceId: TRACE, call: null, ...fields };
  sub.result = null;
  sub.outcome = 'rejected';
}

test('a clean order gives no discrepancy', () => {
  const judged = judge(clean());
  assert.deepEqual(judged.discrepancies, []);
  assert.equal(judged.summary.resolved, 1);
});

test('1: settled past the deadline, or never', () => {
  const late = clean();
  late.sub.elapsedMs = 2101;
  assert.deepEqual(invariants(judge(late)), [1]);
  // The event loop's measured lateness is allowed for, and no more than it.
  const busy = clean();
  Object.assign(busy.sub, { elapsedMs: 2140, loopLagMs: 50 });
  assert.deepEqual(invariants(judge(busy)), []);
  busy.sub.elapsedMs = 2151;
  assert.deepEqual(invariants(judge(busy)), [1]);
  const pending = clean();
  Object.assign(pending.sub, { outcome: 'pending', result: null, elapsedMs: 25000 });
  assert.ok(invariants(judge(pending)).includes(1));
});

test('2: a second order for the operation; a write without its key', () => {
  const twice = clean();
  twice.state.orders.push({ ...twice.state.orders[0], orderId: 'ord-2', createdBy: { key: `${OP}:order`, seq: 11 } });
  twice.log.push(entry(11, FLOW[8]));
  assert.ok(invariants(judge(twice)).includes(2));
  const keyless = clean();
  keyless.log[5].headers['idempotency-key'] = 'something-else:fraud';
  assert.deepEqual(invariants(judge(keyless)), [2]);
  delete keyless.log[5].headers['idempotency-key'];
  assert.deepEqual(invariants(judge(keyless)), [2]);
  // A quote is `safe`: it changes nothing, and carries no key (the clean flow's have none).
  assert.equal(clean().log[3].headers['idempotency-key'], undefined);
});

test('3: a write that took effect, recorded failed', () => {
  const hidden = clean();
  Object.assign(hidden.sub.result.calls.notification, { state: 'failed', status: 500, error: { code: 'HTTP_STATUS', message: 'x' } });
  hidden.sub.result.notification = { sent: false, state: 'failed' };
  assert.ok(invariants(judge(hidden)).includes(3));
});

test('3: a declined authorization that drained after another failure is told by its own record', () => {
  const drained = clean();
  const { calls } = drained.sub.result;
  for (const c of ['order', 'notification']) Object.assign(calls[c], { state: 'skipped', status: null, attempts: 0, startMs: null, endMs: null });
  Object.assign(calls.payment, { state: 'failed', status: 200, error: { code: 'PAYMENT_DECLINED', message: 'x' } });
  Object.assign(calls.inventory, { state: 'unknown', status: null, error: { code: 'TIMEOUT', message: 'x' } });
  reject(drained.sub, { code: 'TIMEOUT', call: 'inventory', resubmit: 'same-operation' });
  drained.sub.error.compensations = [{ call: 'inventory', state: 'not-run', status: null, attempts: 0, startMs: null, endMs: null, error: null, reason: 'unknown' }];
  drained.log = drained.log.slice(0, 8);
  drained.log[2] = { ...drained.log[2], status: null, aborted: true, reply: undefined, effect: undefined };
  drained.log[7] = { ...drained.log[7], status: 200, reply: { status: 200, body: { authorizationId: 'auth-1', status: 'declined' } }, fault: 'decline', chaos: true };
  drained.state.reservations = [];
  drained.state.authorizations[0].status = 'declined';
  drained.state.orders = [];
  drained.state.notifications = [];
  assert.deepEqual(judge(drained).discrepancies.filter((d) => d.invariant === 3), []);
  const hidden = structuredClone(drained);
  hidden.run.orders[0].submissions[0].error.calls.payment.error.code = 'HTTP_STATUS';
  assert.ok(invariants(judge(hidden)).includes(3));
});

/** The clean order failed at tax (a 500): its reservation held, nothing after tax sent or undone yet. */
function failedAtTax() {
  const run = clean();
  const { calls } = run.sub.result;
  for (const c of ['payment', 'order', 'notification']) Object.assign(calls[c], { state: 'not-sent', status: null, attempts: 0, startMs: null, endMs: null });
  reject(run.sub, { code: 'HTTP_STATUS', call: 'tax', resubmit: 'new-operation' });
  Object.assign(calls.tax, { state: 'failed', status: 500, error: { code: 'HTTP_STATUS', message: 'x' } });
  run.log = run.log.slice(0, 7);
  run.log[6] = { ...run.log[6], status: 500, reply: undefined, fault: { status: 500 }, chaos: true };
  run.state.authorizations = [];
  run.state.orders = [];
  run.state.notifications = [];
  return run;
}

test('4: a failed composition leaves its reservation live without saying so', () => {
  const left = failedAtTax();
  assert.ok(invariants(judge(left)).includes(4));
  // The same, with the release logged and the state showing it: undone, nothing to find.
  const undone = structuredClone(left);
  undone.sub = undone.run.orders[0].submissions[0];
  undone.sub.error.compensations = [{ call: 'inventory', state: 'ok', status: 200, attempts: 1, startMs: 80, endMs: 85, error: null, reason: null }];
  undone.log.push(entry(8, ['inventory', 'DELETE', '/reservations/res-1', 200, { released: true }, { released: 'res-1' }], { key: `${OP}:inventory.compensate` }));
  undone.state.reservations[0].released = true;
  assert.deepEqual(judge(undone).discrepancies, []);
});

test('4: an undo answered 200 by a slow-body fault (the mock did nothing) is what the service told', () => {
  // chaos-1-node-381: the release got the fault's 200 body in full, the reservation stayed held.
  const told = failedAtTax();
  told.sub.error.compensations = [{ call: 'inventory', state: 'ok', status: 200, attempts: 1, startMs: 80, endMs: 85, error: null, reason: null }];
  told.log.push({ ...entry(8, ['inventory', 'DELETE', '/reservations/res-1', 200], { key: `${OP}:inventory.compensate` }), reply: undefined, fault: { type: 'slow-body', ms: 1000 }, chaos: true });
  assert.deepEqual(judge(told).discrepancies, []);
  // The same 200 with no fault in the log: the library said undone, and it is not.
  const untrue = structuredClone(told);
  delete untrue.log.at(-1).fault;
  delete untrue.log.at(-1).chaos;
  assert.ok(invariants(judge(untrue)).includes(4));
});

test('4: a reservation replayed to the composition that made it (a browser resend) may be left whole, as the log shows', () => {
  const left = clean();
  const { calls } = left.sub.result;
  for (const c of ['payment', 'order', 'notification']) Object.assign(calls[c], { state: 'not-sent', status: null, attempts: 0, startMs: null, endMs: null });
  calls.inventory.replayed = true;
  reject(left.sub, { code: 'HTTP_STATUS', call: 'tax', resubmit: 'same-operation' });
  Object.assign(calls.tax, { state: 'failed', status: 422, error: { code: 'HTTP_STATUS', message: 'x' } });
  left.sub.error.compensations = [{ call: 'inventory', state: 'not-run', status: null, attempts: 0, startMs: null, endMs: null, error: null, reason: 'replayed' }];
  left.log = left.log.slice(0, 7);
  left.log[6] = { ...left.log[6], status: 422, reply: undefined, fault: { status: 422 }, chaos: true };
  // The first request acted, its reply was lost, and the browser resent it: the resend
  // got the replay, which is all the composition saw.
  const resend = { ...entry(4, FLOW[2]), replayed: true };
  delete resend.effect;
  left.log = [...left.log.slice(0, 3).map((e, i) => (i === 2 ? { ...e, status: null, aborted: true, reset: true, fault: 'lose-reply', chaos: true } : e)), resend, ...left.log.slice(3).map((e) => ({ ...e, seq: e.seq + 1 }))];
  left.state.authorizations = [];
  left.state.orders = [];
  left.state.notifications = [];
  assert.deepEqual(judge(left, 'chromium').discrepancies.filter((d) => d.invariant === 4), []);
  // Without the replay in the log, the same report is not confirmed.
  const unconfirmed = structuredClone(left);
  unconfirmed.log = unconfirmed.log.filter((e) => !e.replayed);
  assert.ok(invariants(judge(unconfirmed, 'chromium')).includes(4));
});

test('5: a record that says ok where the service answered 503; more requests than attempts', () => {
  const lie = clean();
  lie.log[1] = { ...lie.log[1], status: 503, reply: undefined, fault: { status: 503, retryAfter: 1 }, chaos: true };
  assert.ok(invariants(judge(lie)).includes(5));
  const extra = clean();
  extra.log.splice(1, 0, { ...entry(1, FLOW[1]), seq: 1.5, status: 500, reply: undefined, fault: { status: 500 } });
  assert.ok(invariants(judge(extra)).includes(5));
  // In Chromium, a request reset before any reply byte may be resent by the browser itself.
  const resent = clean();
  resent.log.splice(1, 0, { ...entry(1, FLOW[1]), seq: 1.5, status: null, reply: undefined, reset: true, fault: 'reset' });
  assert.ok(invariants(judge(resent, 'node')).includes(5));
  assert.deepEqual(judge(resent, 'chromium').discrepancies, []);
});

test('6: a total that is not what the replies add up to', () => {
  const money = clean();
  money.sub.result.total = TOTAL + 1;
  assert.deepEqual(invariants(judge(money)), [6]);
  const stored = clean();
  stored.state.authorizations[0].amount = TOTAL - 100;
  assert.deepEqual(invariants(judge(stored)), [6]);
});

test('7: an order whose reservation was released', () => {
  const under = clean();
  under.state.reservations[0].released = true;
  under.log.push(entry(11, ['inventory', 'DELETE', '/reservations/res-1', 200, { released: true }, { released: 'res-1' }], { key: `${OP}:inventory.compensate` }));
  assert.ok(invariants(judge(under)).includes(7));
});

test('8: a composition whose order call is ok, rejected', () => {
  const placed = clean();
  reject(placed.sub, { code: 'TIMEOUT', resubmit: 'same-operation' });
  placed.sub.elapsedMs = 2000;
  assert.ok(invariants(judge(placed)).includes(8));
});

/**
 * The invariants broken by a composition that ended with TIMEOUT at 2,010 ms (order unknown,
 * nothing after it sent) whose order reply the log shows as `reply` says.
 */
function timedOutOrder(reply) {
  const x = clean();
  reject(x.sub, { code: 'TIMEOUT', resubmit: 'same-operation' });
  Object.assign(x.sub, { elapsedMs: 2010, loopLagMs: 40 });
  Object.assign(x.sub.error.calls.order, { state: 'unknown', status: null, endMs: 2000, error: { code: 'TIMEOUT', message: 'x' } });
  Object.assign(x.sub.error.calls.notification, { state: 'not-sent', status: null, attempts: 0, startMs: null, endMs: null });
  x.log = x.log.slice(0, 9);
  Object.assign(x.log[8], reply);
  x.state.notifications = [];
  return invariants(judge(x));
}

test('8, from the log: an order reply sent well before the deadline, recorded unknown', () => {
  const lost = (sentAt) => timedOutOrder({ arrivedAt: T0 + sentAt - 5, repliedAt: T0 + sentAt });
  assert.ok(lost(1500).includes(8)); // 500 ms before the deadline: the engine had it
  assert.ok(!lost(1900).includes(8)); // 100 ms: within the slack plus the loop's lateness
});

test('8, from the log: a slow body counts from its end, not from its headers', () => {
  // Headers 1000 ms before the cut, the body's last piece `endedAt` ms after the start.
  const slow = (endedAt) => timedOutOrder({
    arrivedAt: T0 + 995, repliedAt: T0 + 1000, endedAt: T0 + endedAt, fault: { type: 'slow-body', ms: 1000 },
  });
  assert.ok(!slow(1995).includes(8)); // the body ended as the time limit came: a race, not a loss
  assert.ok(slow(1200).includes(8)); // the body ended 800 ms before: the engine had it
});

test('load: more requests of one composition on the wire than the limit', () => {
  const outcomes = [{ outcome: 'resolved', traceId: TRACE, settledAt: T0 + 100 }];
  const four = [0, 1, 2, 3].map((i) => ({ ...entry(i + 1, FLOW[i + 2]), via: 'gateway', arrivedAt: T0, repliedAt: T0 + 50 }));
  const at = (limit) => judgeLoad({ load: { allSettled: true, settleMs: 100, outcomes }, log: four, limit });
  assert.equal(at(4).discrepancies.length, 0);
  assert.equal(at(4).summary.peakPerCompositionOrigin, 4);
  assert.equal(at(3).discrepancies.length, 1);
});

// ------------------------------------------------------------------ the composer mode

const OP2 = 'chaos-1-node-1';
const TRACE2 = 'b'.repeat(32);
const ADDRESS = { city: 'X' };
const COMPOSER = { cache: Object.fromEntries(['customer', 'cart', 'pricing', 'shipping', 'tax'].map((c) => [c, { maxAgeMs: 300 }])) };
const judgeComposer = ({ run, log, state }, runtime = 'node') => judgeRun({ runtime, run, log, state, cfg: { deadlineMs: 2000, composer: COMPOSER } });
const REQUEST = { customerId: 'c-gold-0', cartId: 'k-0', paymentMethodId: 'pm_visa', shippingOption: 'standard' };

/**
 * Two orders through one composer: the clean order's composition (trace a...) sends every
 * request, with the bodies the plan fills in; a second one (trace b..., 100 ms later) gets
 * customer, cart and the three quotes from the cache and sends its writes.
 */
function cachedPair() {
  const x = clean();
  x.run.orders[0].request = { ...REQUEST };
  const [customer, cart, , pricing, shipping, , tax] = x.log;
  customer.reply.body.address = ADDRESS;
  const { items } = cart.reply.body;
  pricing.body = { items, tier: 'gold' };
  shipping.body = { items, address: ADDRESS, option: 'standard' };
  tax.body = { amount: 8498 - 850, address: ADDRESS };
  const CACHED = new Set(['customer', 'cart', 'pricing', 'shipping', 'tax']);
  const ids = { inventory: ['reservationId', 'res-2'], payment: ['authorizationId', 'auth-2'], order: ['orderId', 'ord-2'], notification: ['notificationId', 'ntf-2'] };
  const own = FLOW.filter((f) => !CACHED.has(f[0])).map((f, i) => {
    const [service, method, path, status, body, effect] = f;
    const id = ids[service];
    return entry(11 + i, [service, method, path, status, id ? { ...body, [id[0]]: id[1] } : body, effect ? { created: id[1] } : undefined], { trace: TRACE2, key: `${OP2}:${service}` });
  });
  const calls = Object.fromEntries(FLOW.map((f, i) => [f[0], CACHED.has(f[0])
    ? { ...record(0, f[3]), attempts: 0, startMs: 0, endMs: 1, cached: true, ageMs: 20 }
    : record(i, f[3])]));
  const sub = {
    n: 1, startedAt: T0 + 100, elapsedMs: 120, outcome: 'resolved', aborted: false, abortedAtMs: null, loopLagMs: 0, traceId: TRACE2,
    result: {
      orderId: 'ord-2', status: 'confirmed', total: TOTAL, currency: 'USD', reservationId: 'res-2', authorizationId: 'auth-2',
      shipping: { cost: 1499, carrier: 'Swiftline' }, tax: { amount: 631 }, notification: { sent: true, notificationId: 'ntf-2' }, calls, traceId: TRACE2,
    },
    error: null,
  };
  x.run.orders.push({ index: 1, operationId: OP2, request: { ...REQUEST }, abortAtMs: null, submissions: [sub] });
  x.log.push(...own);
  const by = (call) => ({ key: `${OP2}:${call}`, seq: own.find((e) => e.service === call).seq });
  x.state.reservations.push({ reservationId: 'res-2', released: false, createdBy: by('inventory') });
  x.state.authorizations.push({ authorizationId: 'auth-2', status: 'authorized', amount: TOTAL, createdBy: by('payment') });
  x.state.orders.push({ orderId: 'ord-2', status: 'confirmed', reservationId: 'res-2', authorizationId: 'auth-2', total: TOTAL, createdBy: by('order') });
  x.state.notifications.push({ notificationId: 'ntf-2', createdBy: by('notification') });
  return { ...x, cached: sub };
}

test('composer: cached calls with a source in the log give no discrepancy, and their money is the source\'s', () => {
  const pair = cachedPair();
  assert.deepEqual(judgeComposer(pair).discrepancies, []);
  assert.deepEqual(judgeComposer(pair).summary.cachedByCall, { customer: 1, cart: 1, pricing: 1, shipping: 1, tax: 1 });
  // The money is checked against the cached replies' sources, not left unchecked.
  pair.cached.result.total = TOTAL + 1;
  assert.deepEqual(invariants(judgeComposer(pair)), [6]);
});

test('composer: a cached record with a request of its own, or attempts', () => {
  const own = cachedPair();
  own.log.push(entry(20, FLOW[3], { trace: TRACE2 }));
  assert.deepEqual(invariants(judgeComposer(own)), [5]);
  const attempts = cachedPair();
  attempts.cached.result.calls.cart.attempts = 1;
  assert.deepEqual(invariants(judgeComposer(attempts)), [5]);
});

test('composer: a cached reply without a source: none at all, another request\'s, or too old', () => {
  const none = cachedPair();
  none.log = none.log.filter((e) => !(e.service === 'shipping' && e.trace !== TRACE2));
  assert.ok(invariants(judgeComposer(none)).includes(5));
  // A quote for another tier is another request: it cannot be this one's source.
  const other = cachedPair();
  other.log[3].body.tier = 'standard';
  assert.ok(invariants(judgeComposer(other)).includes(5));
  // Used 600 ms after its only source answered, with maxAgeMs 300.
  const old = cachedPair();
  old.cached.startedAt = T0 + 600;
  assert.ok(invariants(judgeComposer(old)).includes(5));
  const age = cachedPair();
  age.cached.result.calls.tax.ageMs = 301;
  assert.deepEqual(invariants(judgeComposer(age)), [5]);
});

test('composer: a hedged read has two requests, and hedgeWon names the reply used', () => {
  // The first request hung and was aborted; the hedge answered.
  const hedged = clean();
  hedged.log[0] = { ...hedged.log[0], status: null, aborted: true, reply: undefined, fault: 'hang', chaos: true };
  hedged.log.splice(1, 0, { ...entry(1, FLOW[0]), seq: 1.5 });
  Object.assign(hedged.sub.result.calls.customer, { hedged: true, hedgeWon: true });
  assert.deepEqual(judge(hedged).discrepancies, []);
  const lost = structuredClone(hedged);
  lost.run.orders[0].submissions[0].result.calls.customer.hedgeWon = false;
  assert.deepEqual(invariants(judge(lost)), [5]);
  const unsaid = structuredClone(hedged);
  unsaid.run.orders[0].submissions[0].result.calls.customer.hedged = false;
  assert.deepEqual(invariants(judge(unsaid)), [5]);
  // The first request answered and the hedge was aborted: hedgeWon false.
  const first = clean();
  first.log.splice(1, 0, { ...entry(1, FLOW[0]), seq: 1.5, status: null, aborted: true, reply: undefined });
  Object.assign(first.sub.result.calls.customer, { hedged: true, hedgeWon: false });
  assert.deepEqual(judge(first).discrepancies, []);
  first.sub.result.calls.customer.hedgeWon = true;
  assert.deepEqual(invariants(judge(first)), [5]);
  // Chromium resent a first request reset before any reply byte, after the hedge had gone:
  // the hedge (200) is the second to last, the resend (aborted when the hedge won) the last.
  // As the Chromium run of chaos-1-chromium-137 logged it.
  const resent = clean();
  resent.log.splice(0, 1,
    { ...entry(1, FLOW[0]), seq: 0.2, status: 429, reply: undefined, fault: { status: 429 }, chaos: true },
    { ...entry(1, FLOW[0]), seq: 0.4, status: null, reset: true, reply: undefined, fault: 'reset', chaos: true },
    { ...entry(1, FLOW[0]), seq: 0.6 },
    { ...entry(1, FLOW[0]), seq: 0.8, status: null, aborted: true, reply: undefined });
  Object.assign(resent.sub.result.calls.customer, { attempts: 2, hedged: true, hedgeWon: true });
  assert.deepEqual(judge(resent, 'chromium').discrepancies, []);
  assert.deepEqual(invariants(judge(resent, 'node')), [5]); // Node resends nothing: 4 requests for 2 attempts + 1 hedge
  // And the other way round (chaos-1-chromium-214): the first request's reply lost, the hedge
  // aborted, Chromium's resend of the first answered 200 last: hedgeWon false.
  const lostReply = clean();
  lostReply.log.splice(0, 1,
    { ...entry(1, FLOW[0]), seq: 0.2, status: null, reset: true, reply: undefined, fault: 'lose-reply', chaos: true },
    { ...entry(1, FLOW[0]), seq: 0.4, status: null, aborted: true, reply: undefined },
    { ...entry(1, FLOW[0]), seq: 0.6 });
  Object.assign(lostReply.sub.result.calls.customer, { hedged: true, hedgeWon: false });
  assert.deepEqual(judge(lostReply, 'chromium').discrepancies, []);
  assert.deepEqual(invariants(judge(lostReply, 'node')), [5]);
  // chaos-1-chromium-585: the first request answered 200; the hedge was reset before any
  // reply byte and resent by the browser, and the resend was aborted: three requests.
  const hedgeResent = clean();
  hedgeResent.log.splice(1, 0,
    { ...entry(1, FLOW[0]), seq: 1.2, status: null, reset: true, reply: undefined, fault: 'reset', chaos: true },
    { ...entry(1, FLOW[0]), seq: 1.4, status: null, aborted: true, reply: undefined });
  Object.assign(hedgeResent.sub.result.calls.customer, { hedged: true, hedgeWon: false });
  assert.deepEqual(judge(hedgeResent, 'chromium').discrepancies, []);
  hedgeResent.log[0] = { ...hedgeResent.log[0], status: null, aborted: true, reply: undefined };
  assert.deepEqual(invariants(judge(hedgeResent, 'chromium')), [5]); // no reply of the three reached it
});

const CIRCUIT = { code: 'CIRCUIT_OPEN', message: 'x' };

test('composer: an optional call refused by its circuit sent nothing and leaves the order whole', () => {
  const refused = clean();
  refused.log = refused.log.slice(0, 9);
  refused.state.notifications = [];
  Object.assign(refused.sub.result.calls.notification, { state: 'failed', status: null, attempts: 0, startMs: 90, endMs: 90, error: CIRCUIT });
  refused.sub.result.notification = { sent: false, state: 'failed' };
  assert.deepEqual(judge(refused).discrepancies, []);
  // A request in the log for it: the refused attempt sent one after all.
  const sent = structuredClone(refused);
  sent.log.push({ ...entry(10, FLOW[9]), status: 500, reply: undefined, effect: undefined });
  assert.deepEqual(invariants(judge(sent)), [5]);
  // A required call refused, and the composition resolved all the same.
  const required = clean();
  required.log = required.log.filter((e) => e.service !== 'fraud');
  Object.assign(required.sub.result.calls.fraud, { state: 'failed', status: null, attempts: 0, startMs: 50, endMs: 50, error: CIRCUIT });
  assert.deepEqual(invariants(judge(required)), [5]);
});

test('composer: a composition failed with CIRCUIT_OPEN names the refused required call and its origin', () => {
  const failed = clean();
  failed.run.services = { payment: 'http://127.0.0.1:4601/s/chaos-node' };
  const { calls } = failed.sub.result;
  Object.assign(calls.payment, { state: 'failed', status: null, attempts: 0, startMs: 70, endMs: 70, error: CIRCUIT });
  for (const c of ['order', 'notification']) Object.assign(calls[c], { state: 'not-sent', status: null, attempts: 0, startMs: null, endMs: null });
  reject(failed.sub, { code: 'CIRCUIT_OPEN', call: 'payment', origin: 'http://127.0.0.1:4601', retryAt: Date.now(), resubmit: 'new-operation' });
  failed.sub.error.compensations = [{ call: 'inventory', state: 'ok', status: 200, attempts: 1, startMs: 75, endMs: 80, error: null, reason: null }];
  failed.log = [...failed.log.slice(0, 7), entry(8, ['inventory', 'DELETE', '/reservations/res-1', 200, { released: true }, { released: 'res-1' }], { key: `${OP}:inventory.compensate` })];
  failed.state.reservations[0].released = true;
  failed.state.authorizations = [];
  failed.state.orders = [];
  failed.state.notifications = [];
  assert.deepEqual(judge(failed).discrepancies, []);
  const elsewhere = structuredClone(failed);
  elsewhere.run.orders[0].submissions[0].error.origin = 'http://127.0.0.1:4602';
  assert.deepEqual(invariants(judge(elsewhere)), [5]);
  const unnamed = structuredClone(failed);
  unnamed.run.orders[0].submissions[0].error.call = 'order';
  assert.deepEqual(invariants(judge(unnamed)), [5]);
});

test('composer: a cached quote\'s request is built from the 2xx its composition used, not a hedge\'s later error', () => {
  // chaos-1-chromium-802: customer 200, then its hedge's 503; pricing, shipping and tax cached.
  const pair = cachedPair();
  const reply = { ...pair.log[0].reply, body: { ...pair.log[0].reply.body } };
  pair.log.push(
    { ...entry(30, FLOW[0], { trace: TRACE2 }), reply },
    { ...entry(31, FLOW[0], { trace: TRACE2 }), status: 503, reply: { status: 503, body: { error: 'x' } }, fault: { status: 503, retryAfter: 1 }, chaos: true },
  );
  Object.assign(pair.cached.result.calls.customer, { cached: false, ageMs: null, attempts: 1, hedged: true, hedgeWon: false });
  assert.deepEqual(judgeComposer(pair, 'chromium').discrepancies, []);
  // Its customer's reply unknown, no quote's request can be told: its sources are not found.
  pair.log.splice(-2, 1);
  pair.cached.result.calls.customer.state = 'failed';
  assert.ok(invariants(judgeComposer(pair, 'chromium')).includes(5));
});
