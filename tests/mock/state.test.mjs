// What the services keep and what the log says each request did: the order service's 409s, createdBy,
// reply and effect in the log, GET /scenarios/<id>/state and idempotent replays. node --test tests/mock/
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useMock, ITEMS, ADDRESS, PAYMENT } from './helpers.mjs';

const h = useMock();
const { sid, at, call, post, configure, logOf, stateOf, orderBody } = h;

const CHECK = { customerId: 'c1', email: 'c1@example.test', cartId: 'k1' };
const NOTE = { orderId: 'ord-1', email: 'c1@example.test', template: 'order-confirmed' };

const reserve = (s, headers) => post(`${at('inventory', s)}/reservations`, { cartId: 'k1', items: ITEMS }, headers);
const authorize = (s, body = PAYMENT, headers) => post(`${at('payment', s)}/authorizations`, body, headers);
const release = (s, id) => call(`${at('inventory', s)}/reservations/${id}`, { method: 'DELETE' });
const voidAuth = (s, id) => post(`${at('payment', s)}/authorizations/${id}/void`, undefined);
const order = (s, body, headers) => post(`${at('order', s)}/orders`, body, headers);

describe('the order service refuses orders it must not create (409)', () => {
  test('unknown or released reservation, unknown, declined or voided authorization', async () => {
    const s = sid('refuse');
    const body = await orderBody(s); // res-1, auth-1
    const declined = (await authorize(s, { ...PAYMENT, paymentMethodId: 'pm_declined' })).json.authorizationId;
    const voided = (await authorize(s)).json.authorizationId;
    await voidAuth(s, voided);
    const released = (await reserve(s)).json.reservationId;
    await release(s, released);
    const cases = [
      [{ reservationId: 'res-9' }, 'reservationId', 'reservation res-9 does not exist'],
      [{ reservationId: released }, 'reservationId', `reservation ${released} is no longer held (released)`],
      [{ authorizationId: 'auth-9' }, 'authorizationId', 'authorization auth-9 does not exist'],
      [{ authorizationId: declined }, 'authorizationId', `authorization ${declined} is not live (declined)`],
      [{ authorizationId: voided }, 'authorizationId', `authorization ${voided} is not live (voided)`],
    ];
    for (const [change, field, error] of cases) {
      const r = await order(s, { ...body, ...change });
      assert.deepEqual([r.status, r.json], [409, { error, field }], JSON.stringify(change));
    }
    // The reservation is checked first; body validation comes before both.
    const both = await order(s, { ...body, reservationId: 'res-9', authorizationId: 'auth-9' });
    assert.equal(both.json.field, 'reservationId');
    const { total, ...noTotal } = body;
    assert.deepEqual((await order(s, { ...noTotal, reservationId: 'res-9' })).json, { error: 'total missing', field: 'total' });
    assert.deepEqual((await call(`${at('order', s)}/orders`)).json.orders, [], 'no order was made');
    assert.equal((await order(s, body)).status, 201, 'the backed order goes through');
  });

  test('a 409 is not kept for its Idempotency-Key: the retry with a held reservation creates the order', async () => {
    const s = sid('refuse-key');
    const body = await orderBody(s);
    const headers = { 'Idempotency-Key': 'k-409' };
    const refused = await order(s, { ...body, reservationId: 'res-9' }, headers);
    assert.equal(refused.status, 409);
    const created = await order(s, body, headers);
    assert.deepEqual([created.status, created.json, created.headers.get('idempotent-replayed')], [201, { orderId: 'ord-1', status: 'confirmed' }, null]);
    const again = await order(s, { ...body, reservationId: 'res-9' }, headers);
    assert.deepEqual([again.status, again.json, again.headers.get('idempotent-replayed')], [201, created.json, 'true']);
  });
});

describe('the log says what each request did', () => {
  test('effect: created, released, voided, cancelled; a change made twice is an effect once', async () => {
    const s = sid('effects');
    const body = await orderBody(s); // res-1, auth-1
    await order(s, body); // ord-1
    await authorize(s, { ...PAYMENT, paymentMethodId: 'pm_declined' }); // auth-2, declined: created too
    await post(`${at('notification', s)}/notifications`, NOTE); // ntf-1
    await post(`${at('order', s)}/orders/ord-1/cancel`, undefined);
    await post(`${at('order', s)}/orders/ord-1/cancel`, undefined);
    await voidAuth(s, 'auth-1');
    await voidAuth(s, 'auth-1');
    await release(s, 'res-1');
    await release(s, 'res-1');
    await post(`${at('tax', s)}/quotes`, { amount: 100, address: ADDRESS });
    await call(`${at('inventory', s)}/reservations/res-1`);
    const log = await logOf(s);
    assert.deepEqual(log.map((e) => [e.service, e.method, e.effect ?? null]), [
      ['inventory', 'POST', { created: 'res-1' }],
      ['payment', 'POST', { created: 'auth-1' }],
      ['order', 'POST', { created: 'ord-1' }],
      ['payment', 'POST', { created: 'auth-2' }],
      ['notification', 'POST', { created: 'ntf-1' }],
      ['order', 'POST', { cancelled: 'ord-1' }],
      ['order', 'POST', null],
      ['payment', 'POST', { voided: 'auth-1' }],
      ['payment', 'POST', null],
      ['inventory', 'DELETE', { released: 'res-1' }],
      ['inventory', 'DELETE', null],
      ['tax', 'POST', null],
      ['inventory', 'GET', null],
    ]);
  });

  test('reply: the status and body of normal replies, errors and replays, a snapshot of what was sent', async () => {
    const s = sid('replies');
    const key = { 'Idempotency-Key': 'k-1' };
    const first = await reserve(s, key);
    const replay = await reserve(s, key);
    const held = await call(`${at('inventory', s)}/reservations/res-1`);
    await release(s, 'res-1');
    await post(`${at('inventory', s)}/reservations`, { items: ITEMS }); // 400
    await call(`${at('inventory', s)}/reservations/res-9`); // 404
    await call(`${at('inventory', s)}/reservations`); // 405
    await post(`${at('inventory', s)}/reservations`, '{"cartId":'); // invalid JSON: 400
    await order(s, { customerId: 'c', cartId: 'k', reservationId: 'res-1', authorizationId: 'a', total: 1, currency: 'USD' }); // 409
    const log = await logOf(s);
    assert.deepEqual(log.map((e) => e.reply), [
      { status: 201, body: first.json },
      { status: 201, body: first.json },
      { status: 200, body: held.json },
      { status: 200, body: { released: true } },
      { status: 400, body: { error: 'cartId missing', field: 'cartId' } },
      { status: 404, body: { error: 'reservation res-9 not found' } },
      { status: 405, body: { error: 'method GET not allowed on /reservations (allowed: POST)' } },
      { status: 400, body: { error: log[7].reply.body.error } },
      { status: 409, body: { error: 'reservation res-1 is no longer held (released)', field: 'reservationId' } },
    ]);
    assert.equal(held.json.released, false);
    assert.match(log[7].reply.body.error, /^invalid JSON body/);
    assert.deepEqual(log.map((e) => [e.replayed ?? false, e.effect ?? null]).slice(0, 2), [[false, { created: 'res-1' }], [true, null]],
      'a replay is marked and has no effect');
    assert.ok(log.slice(2).every((e, i) => i === 1 || e.effect === undefined), 'errors have no effect');
  });

  test('transport faults have no reply; lose-reply has the reply that was never sent, and its effect', async () => {
    const s = sid('fault-replies');
    await configure(s, { faults: { pricing: { status: 503, times: 1 }, payment: { type: 'lose-reply', times: 2 } } });
    assert.equal((await post(`${at('pricing', s)}/quotes`, { items: ITEMS, tier: 'gold' })).status, 503);
    await assert.rejects(authorize(s), TypeError);
    // lose-reply loses error replies too
    await assert.rejects(authorize(s, { ...PAYMENT, amount: 'x' }), TypeError);
    const [faulted, lost, lostError] = await logOf(s);
    assert.deepEqual([faulted.fault, faulted.status, 'reply' in faulted], [{ status: 503, times: 1 }, 503, false]);
    assert.deepEqual([lost.reset, lost.status, lost.reply, lost.effect],
      [true, null, { status: 201, body: { authorizationId: 'auth-1', status: 'authorized' } }, { created: 'auth-1' }]);
    assert.deepEqual([lostError.reset, lostError.reply.status, lostError.effect], [true, 400, undefined]);
  });
});

describe('GET /scenarios/<id>/state', () => {
  test('every resource as stored, in insertion order, with createdBy {key, seq}; the idempotency records', async () => {
    const s = sid('state');
    await reserve(s, { 'Idempotency-Key': 'k-res' }); // res-1
    await reserve(s, { 'Idempotency-Key': 'k-res' }); // replayed: creates nothing
    await reserve(s); // res-2, no key
    await authorize(s, { ...PAYMENT, paymentMethodId: 'pm_declined' }, { 'Idempotency-Key': 'k-auth' }); // auth-1
    await authorize(s); // auth-2
    await release(s, 'res-2');
    const body = { customerId: 'c1', cartId: 'k1', reservationId: 'res-1', authorizationId: 'auth-2', total: 9000, currency: 'USD' };
    await order(s, body, { 'Idempotency-Key': 'k-ord' });
    await post(`${at('notification', s)}/notifications`, { ...NOTE, notificationId: 'forged', extra: 1 });
    await post(`${at('tax', s)}/quotes`, { amount: 100, address: ADDRESS }, { 'Idempotency-Key': 'k-tax' });
    const seq = Object.fromEntries((await logOf(s)).filter((e) => e.effect?.created).map((e) => [e.effect.created, e.seq]));
    const state = await stateOf(s);
    assert.deepEqual(state, {
      reservations: [
        { reservationId: 'res-1', cartId: 'k1', items: ITEMS, released: false, createdBy: { key: 'k-res', seq: seq['res-1'] } },
        { reservationId: 'res-2', cartId: 'k1', items: ITEMS, released: true, createdBy: { key: null, seq: seq['res-2'] } },
      ],
      authorizations: [
        { authorizationId: 'auth-1', status: 'declined', ...PAYMENT, paymentMethodId: 'pm_declined', createdBy: { key: 'k-auth', seq: seq['auth-1'] } },
        { authorizationId: 'auth-2', status: 'authorized', ...PAYMENT, createdBy: { key: null, seq: seq['auth-2'] } },
      ],
      orders: [{ orderId: 'ord-1', status: 'confirmed', ...body, createdBy: { key: 'k-ord', seq: seq['ord-1'] } }],
      notifications: [{ notificationId: 'ntf-1', ...NOTE, createdBy: { key: null, seq: seq['ntf-1'] } }],
      idempotency: [
        { service: 'inventory', key: 'k-res', status: 201, body: { reservationId: 'res-1', cartId: 'k1' } },
        { service: 'payment', key: 'k-auth', status: 200, body: { authorizationId: 'auth-1', status: 'declined' } },
        { service: 'order', key: 'k-ord', status: 201, body: { orderId: 'ord-1', status: 'confirmed' } },
        { service: 'tax', key: 'k-tax', status: 200, body: { amount: 8 } },
      ],
    });
    assert.equal(new Set(Object.values(seq)).size, 6, 'six distinct creating requests');
  });

  test('createdBy stays out of the services\' replies', async () => {
    const s = sid('state-replies');
    const body = await orderBody(s);
    await order(s, body);
    for (const path of ['inventory/reservations/res-1', 'payment/authorizations/auth-1', 'order/orders/ord-1']) {
      const r = await call(`${at('gateway', s)}/${path}`);
      assert.equal(r.status, 200, path);
      assert.equal('createdBy' in r.json, false, path);
    }
    const [listed] = (await call(`${at('order', s)}/orders`)).json.orders;
    assert.deepEqual(listed, { orderId: 'ord-1', status: 'confirmed', ...body });
    assert.ok((await stateOf(s)).orders[0].createdBy.seq > 0);
  });

  test('a scenario with nothing: empty lists; DELETE /scenarios/<id> empties it; other methods 405; bad id 400', async () => {
    const s = sid('state-empty');
    const empty = { reservations: [], authorizations: [], orders: [], notifications: [], idempotency: [] };
    assert.deepEqual(await stateOf(s), empty);
    await reserve(s, { 'Idempotency-Key': 'k' });
    assert.equal((await stateOf(s)).reservations.length, 1);
    await call(`${h.mock.adminUrl}/scenarios/${s}`, { method: 'DELETE' });
    assert.deepEqual(await stateOf(s), empty);
    const put = await call(`${h.mock.adminUrl}/scenarios/${s}/state`, { method: 'PUT', body: {} });
    assert.deepEqual([put.status, put.headers.get('allow')], [405, 'GET']);
    assert.equal(typeof put.json.error, 'string');
    assert.equal((await call(`${h.mock.adminUrl}/scenarios/${s}/state`, { method: 'DELETE' })).status, 405);
    assert.equal((await call(`${h.mock.adminUrl}/scenarios/a.b/state`)).status, 400);
    assert.equal((await call(`${h.mock.adminUrl}/scenarios/${s}/state/x`)).status, 404);
  });
});

describe('idempotent replays', () => {
  // One POST per service (and the two POSTs on a resource), each with what it needs made first.
  const POSTS = [
    ['inventory', '/reservations', () => ({ cartId: 'k1', items: ITEMS }), 201],
    ['pricing', '/quotes', () => ({ items: ITEMS, tier: 'gold' }), 200],
    ['shipping', '/quotes', () => ({ items: ITEMS, address: ADDRESS, option: 'express' }), 200],
    ['fraud', '/checks', () => CHECK, 200],
    ['tax', '/quotes', () => ({ amount: 1000, address: ADDRESS }), 200],
    ['payment', '/authorizations', () => PAYMENT, 201],
    ['payment', '/authorizations/auth-1/void', () => undefined, 200],
    ['order', '/orders', (s) => orderBody(s), 201],
    ['order', '/orders/ord-1/cancel', () => undefined, 200],
    ['notification', '/notifications', () => NOTE, 202],
  ];

  for (const [service, path, makeBody, status] of POSTS) {
    test(`${service} POST ${path}: a 2xx is replayed with its status and body, marked Idempotent-Replayed`, async () => {
      const s = sid(`replay-${service}`);
      if (path.includes('auth-1')) await authorize(s);
      if (path.includes('ord-1')) await order(s, await orderBody(s));
      const body = await makeBody(s);
      const url = `${at(service, s)}${path}`;
      const headers = { 'Idempotency-Key': `key-${service}` };
      const before = (await logOf(s)).length;
      const first = await post(url, body, headers);
      const again = await post(url, body, headers);
      assert.equal(first.status, status, first.text);
      assert.deepEqual([again.status, again.json, again.headers.get('location')], [first.status, first.json, first.headers.get('location')]);
      assert.equal(first.headers.get('idempotent-replayed'), null);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(again.headers.get('idempotency-key'), `key-${service}`);
      assert.match(again.headers.get('access-control-expose-headers'), /(^|, )Idempotent-Replayed(,|$)/);
      const [e1, e2] = (await logOf(s)).slice(before);
      assert.deepEqual([e1.replayed, e2.replayed, e2.effect], [undefined, true, undefined]);
      const records = (await stateOf(s)).idempotency.filter((r) => r.key === `key-${service}`);
      assert.deepEqual(records, [{ service, key: `key-${service}`, status: first.status, body: first.json }]);
    });
  }

  test('a replay acts once: one reservation for two requests with the same key', async () => {
    const s = sid('replay-once');
    await reserve(s, { 'Idempotency-Key': 'once' });
    await reserve(s, { 'Idempotency-Key': 'once' });
    assert.deepEqual((await stateOf(s)).reservations.map((r) => r.reservationId), ['res-1']);
  });
});
