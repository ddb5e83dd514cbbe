// Tests of the mock order services (mock/services.mjs): node --test tests/mock/
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { startServices, SERVICE_NAMES, PORT_LAYOUT } from '../../mock/services.mjs';
import { useMock, ITEMS, ADDRESS } from './helpers.mjs';

const CLI = fileURLToPath(new URL('../../mock/cli.mjs', import.meta.url));
const CHAOS_DEFAULTS = {
  rate: 0.2, seed: 7, retryAfter: 1, slowBodyMs: 1000,
  kinds: { 429: 1, 500: 1, 503: 1, reset: 1, 'reset-mid-body': 1, 'lose-reply': 1, hang: 1, 'slow-body': 1, decline: 1, reject: 1 },
};

const h = useMock();
const { sid, at, call, post, configure, logOf, nextEvent, orderBody } = h;

// ------------------------------------------------------------------------------------------

describe('ports', () => {
  test('startServices returns admin, gateway and one distinct origin per service; JSON has no close', () => {
    assert.deepEqual(Object.keys(h.mock.services), SERVICE_NAMES);
    const urls = [h.mock.adminUrl, h.mock.gatewayUrl, ...Object.values(h.mock.services)];
    assert.equal(new Set(urls).size, 12);
    for (const u of urls) assert.match(u, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(h.mock))), ['adminUrl', 'gatewayUrl', 'services']);
    assert.equal(typeof h.mock.close, 'function');
  });

  test('a busy port fails with a message naming it, and nothing is left listening', async () => {
    const blocker = net.createServer();
    await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
    const busy = blocker.address().port;
    // Put the busy port at the gateway position: base = busy - 1.
    try {
      await assert.rejects(startServices({ port: busy - 1 }), (err) => {
        // Normally "port <busy> (gateway) … is already in use"; if busy-1 happens to be taken too,
        // that one is named first and <busy> is listed after it.
        assert.match(err.message, /port \d+ \((admin|gateway)\) on 127\.0\.0\.1 is already in use/);
        assert.ok(err.message.includes(String(busy)), err.message);
        return true;
      });
    } finally {
      blocker.close();
    }
  });

  test('consecutive ports from a fixed base', async (t) => {
    // Find a base whose 12 ports are free (a few attempts; ports may be taken by others).
    for (let attempt = 0; attempt < 5; attempt++) {
      const base = 20000 + Math.floor(Math.random() * 40000);
      let m;
      try {
        m = await startServices({ port: base });
      } catch {
        continue;
      }
      try {
        assert.equal(m.adminUrl, `http://127.0.0.1:${base}`);
        assert.equal(m.gatewayUrl, `http://127.0.0.1:${base + 1}`);
        SERVICE_NAMES.forEach((name, i) => assert.equal(m.services[name], `http://127.0.0.1:${base + 2 + i}`));
        assert.equal(PORT_LAYOUT.length, 12);
      } finally {
        await m.close();
      }
      return;
    }
    t.skip('no free range of 12 ports found');
  });
});

describe('domain endpoints', () => {
  test('customer: tier from id, address, 404 for missing…', async () => {
    const s = sid('cust');
    const std = await call(`${at('customer', s)}/customers/c1`);
    assert.equal(std.status, 200);
    assert.deepEqual(std.json, { id: 'c1', email: 'c1@example.test', tier: 'standard', address: ADDRESS });
    const gold = await call(`${at('customer', s)}/customers/vip-gold-7`);
    assert.equal(gold.json.tier, 'gold');
    const missing = await call(`${at('customer', s)}/customers/missing-1`);
    assert.equal(missing.status, 404);
    assert.equal(typeof missing.json.error, 'string');
  });

  test('cart: default, empty…, many-N, missing…', async () => {
    const s = sid('cart');
    assert.deepEqual((await call(`${at('cart', s)}/carts/k1`)).json, { id: 'k1', items: ITEMS });
    assert.deepEqual((await call(`${at('cart', s)}/carts/empty-1`)).json.items, []);
    const many = (await call(`${at('cart', s)}/carts/many-4`)).json;
    assert.deepEqual(many.items, [1, 2, 3, 4].map((i) => ({ sku: `SKU-${i}`, quantity: 1 })));
    assert.equal((await call(`${at('cart', s)}/carts/missing-x`)).status, 404);
  });

  test('inventory: reserve 201 with Location, get, release (compensation), 400s', async () => {
    const s = sid('inv');
    const r = await post(`${at('inventory', s)}/reservations`, { cartId: 'k1', items: ITEMS });
    assert.equal(r.status, 201);
    assert.deepEqual(r.json, { reservationId: 'res-1', cartId: 'k1' });
    assert.equal(r.headers.get('location'), `/s/${s}/reservations/res-1`);
    assert.equal((await post(`${at('inventory', s)}/reservations`, { cartId: 'k2', items: [] })).json.reservationId, 'res-2');

    const del = await call(`${at('inventory', s)}/reservations/res-1`, { method: 'DELETE' });
    assert.deepEqual([del.status, del.json], [200, { released: true }]);
    assert.equal((await call(`${at('inventory', s)}/reservations/res-1`)).json.released, true);
    assert.equal((await call(`${at('inventory', s)}/reservations/res-99`, { method: 'DELETE' })).status, 404);

    const noCart = await post(`${at('inventory', s)}/reservations`, { items: ITEMS });
    assert.deepEqual([noCart.status, noCart.json.error, noCart.json.field], [400, 'cartId missing', 'cartId']);
    const badItems = await post(`${at('inventory', s)}/reservations`, { cartId: 'k1', items: 'SKU-1' });
    assert.equal(badItems.status, 400);
    assert.match(badItems.json.error, /^items missing/);
    const badItem = await post(`${at('inventory', s)}/reservations`, { cartId: 'k1', items: [{ sku: 'SKU-1' }] });
    assert.match(badItem.json.error, /^items\[0\]\.quantity missing/);
  });

  test('pricing: subtotal from unit prices, 10% gold discount, 400s', async () => {
    const s = sid('price');
    const std = await post(`${at('pricing', s)}/quotes`, { items: ITEMS, tier: 'standard' });
    assert.deepEqual(std.json, { currency: 'USD', subtotal: 2 * 1999 + 4500, discount: 0 });
    const gold = await post(`${at('pricing', s)}/quotes`, { items: [...ITEMS, { sku: 'X', quantity: 3 }], tier: 'gold' });
    const subtotal = 2 * 1999 + 4500 + 3 * 1000;
    assert.deepEqual(gold.json, { currency: 'USD', subtotal, discount: Math.round(subtotal * 0.1) });
    const bad = await post(`${at('pricing', s)}/quotes`, { items: ITEMS });
    assert.deepEqual([bad.status, bad.json.error], [400, 'tier missing']);
  });

  test('shipping: standard / express, 400 on bad option or address', async () => {
    const s = sid('ship');
    const body = { items: ITEMS, address: ADDRESS, option: 'standard' };
    assert.deepEqual((await post(`${at('shipping', s)}/quotes`, body)).json, { cost: 599, carrier: 'Parcelway' });
    assert.deepEqual((await post(`${at('shipping', s)}/quotes`, { ...body, option: 'express' })).json, { cost: 1499, carrier: 'Swiftline' });
    const badOpt = await post(`${at('shipping', s)}/quotes`, { ...body, option: 'teleport' });
    assert.equal(badOpt.status, 400);
    assert.match(badOpt.json.error, /^option missing/);
    assert.match((await post(`${at('shipping', s)}/quotes`, { ...body, address: 'x' })).json.error, /^address missing/);
  });

  test('fraud: approve, 400 on bad body', async () => {
    const s = sid('fraud');
    const ok = await post(`${at('fraud', s)}/checks`, { customerId: 'c1', email: 'c1@example.test', cartId: 'k1' });
    assert.deepEqual([ok.status, ok.json], [200, { decision: 'approve' }]);
    const bad = await post(`${at('fraud', s)}/checks`, { customerId: 'c1', cartId: 'k1' });
    assert.deepEqual([bad.status, bad.json.error], [400, 'email missing']);
  });

  test('tax: 8.25% rounded, 400 on non-integer amount', async () => {
    const s = sid('tax');
    assert.deepEqual((await post(`${at('tax', s)}/quotes`, { amount: 10000, address: ADDRESS })).json, { amount: 825 });
    assert.deepEqual((await post(`${at('tax', s)}/quotes`, { amount: 7648, address: ADDRESS })).json, { amount: Math.round(7648 * 0.0825) });
    const bad = await post(`${at('tax', s)}/quotes`, { amount: 12.5, address: ADDRESS });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /^amount missing/);
  });

  test('payment: authorize 201, pm_declined → 200 declined, void, 400s', async () => {
    const s = sid('pay');
    const body = { customerId: 'c1', paymentMethodId: 'pm_visa', amount: 9000, currency: 'USD' };
    const ok = await post(`${at('payment', s)}/authorizations`, body);
    assert.deepEqual([ok.status, ok.json], [201, { authorizationId: 'auth-1', status: 'authorized' }]);
    const declined = await post(`${at('payment', s)}/authorizations`, { ...body, paymentMethodId: 'pm_declined' });
    assert.deepEqual([declined.status, declined.json.status], [200, 'declined']);
    const v = await post(`${at('payment', s)}/authorizations/auth-1/void`, undefined);
    assert.deepEqual([v.status, v.json], [200, { voided: true }]);
    assert.equal((await call(`${at('payment', s)}/authorizations/auth-1`)).json.status, 'voided');
    const bad = await post(`${at('payment', s)}/authorizations`, { ...body, amount: '9000' });
    assert.deepEqual([bad.status, bad.json.field], [400, 'amount']);
  });

  test('order: create 201, list per scenario, cancel, 400s', async () => {
    const s = sid('order');
    const body = await orderBody(s);
    assert.deepEqual([body.reservationId, body.authorizationId], ['res-1', 'auth-1']);
    const created = await post(`${at('order', s)}/orders`, body);
    assert.deepEqual([created.status, created.json], [201, { orderId: 'ord-1', status: 'confirmed' }]);
    const list = await call(`${at('order', s)}/orders`);
    assert.deepEqual(list.json.orders, [{ orderId: 'ord-1', status: 'confirmed', ...body }]);
    assert.deepEqual((await call(`${at('order', sid('other'))}/orders`)).json.orders, []);
    const cancel = await post(`${at('order', s)}/orders/ord-1/cancel`, undefined);
    assert.deepEqual([cancel.status, cancel.json.status], [200, 'cancelled']);
    const { total, ...noTotal } = body;
    assert.equal((await post(`${at('order', s)}/orders`, noTotal)).json.error, 'total missing');
  });

  test('notification: 202, 400 on bad body', async () => {
    const s = sid('ntf');
    const ok = await post(`${at('notification', s)}/notifications`, { orderId: 'ord-1', email: 'a@b.c', template: 'order-confirmed' });
    assert.deepEqual([ok.status, ok.json], [202, { notificationId: 'ntf-1' }]);
    assert.equal((await post(`${at('notification', s)}/notifications`, { orderId: 'ord-1', email: 'a@b.c' })).json.error, 'template missing');
  });

  test('invalid JSON → 400, non-object body → 400, unknown path → 404, wrong method → 405 with Allow', async () => {
    const s = sid('http');
    const invalid = await post(`${at('tax', s)}/quotes`, '{"amount": 1,');
    assert.equal(invalid.status, 400);
    assert.match(invalid.json.error, /invalid JSON/);
    assert.equal((await post(`${at('tax', s)}/quotes`, [1, 2])).status, 400);
    const nf = await call(`${at('tax', s)}/nope`);
    assert.equal(nf.status, 404);
    assert.equal(typeof nf.json.error, 'string');
    assert.equal((await call(`${h.mock.services.customer}/s/${s}//customers/c1`)).status, 404, 'double slash is not normalized');
    const wrong = await call(`${at('tax', s)}/quotes`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    assert.equal(typeof wrong.json.error, 'string');
  });
});

describe('HTTP behaviour', () => {
  const checkCors = (headers) => {
    assert.equal(headers.get('access-control-allow-origin'), '*');
    assert.match(headers.get('access-control-expose-headers'), /^\*, Retry-After, Location, Idempotency-Key/);
    assert.equal(headers.get('cross-origin-resource-policy'), 'cross-origin');
    assert.equal(headers.get('timing-allow-origin'), '*');
  };

  test('CORS and CORP headers on replies of services, gateway, errors and admin', async () => {
    checkCors((await call(`${h.mock.services.customer}/customers/c1`)).headers);
    checkCors((await call(`${h.mock.gatewayUrl}/cart/carts/k1`)).headers);
    checkCors((await call(`${h.mock.services.order}/nowhere`)).headers);
    checkCors((await call(`${h.mock.adminUrl}/health`)).headers);
  });

  test('preflight: 204, methods, echoed headers, max-age, no latency, not logged', async () => {
    const s = sid('pre');
    await configure(s, { defaultLatency: 5000 });
    for (const base of [at('payment', s), at('gateway', s), h.mock.adminUrl]) {
      const started = performance.now();
      const res = await fetch(`${base}/authorizations`, {
        method: 'OPTIONS',
        headers: { 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,idempotency-key' },
      });
      assert.equal(res.status, 204);
      assert.ok(performance.now() - started < 2000, 'preflight must not wait for latency');
      assert.equal(res.headers.get('access-control-allow-methods'), 'GET, POST, PUT, PATCH, DELETE, OPTIONS');
      assert.equal(res.headers.get('access-control-allow-headers'), 'content-type,idempotency-key');
      assert.equal(res.headers.get('access-control-max-age'), '600');
      checkCors(res.headers);
    }
    const bare = await fetch(`${h.mock.services.cart}/x`, { method: 'OPTIONS' });
    assert.equal(bare.headers.get('access-control-allow-headers'), '*');
    assert.deepEqual(await logOf(s), []);
  });

  test('preflight allows traceparent, and the request carries it into the log', async () => {
    // The composer sends a W3C traceparent to the origins it is told to (allowedOrigins):
    // a browser asks for it in a preflight, even for a GET.
    const s = sid('trace');
    const pre = await fetch(`${at('customer', s)}/customers/c1`, {
      method: 'OPTIONS',
      headers: { 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'traceparent' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-headers'), 'traceparent');
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    assert.equal((await call(`${at('customer', s)}/customers/c1`, { headers: { traceparent } })).status, 200);
    const [entry] = await logOf(s);
    assert.equal(entry.headers.traceparent, traceparent);
  });

  test('Idempotency-Key is echoed', async () => {
    const r = await call(`${h.mock.services.customer}/customers/c1`, { headers: { 'Idempotency-Key': 'k-1' } });
    assert.equal(r.headers.get('idempotency-key'), 'k-1');
  });
});

describe('scenarios', () => {
  test('config and log are per scenario; path logged without prefix', async () => {
    const a = sid('iso-a');
    const b = sid('iso-b');
    await configure(a, { faults: { customer: { status: 503 } } });
    assert.equal((await call(`${at('customer', a)}/customers/c1?x=1`)).status, 503);
    assert.equal((await call(`${at('customer', b)}/customers/c1`)).status, 200);
    assert.equal((await call(`${h.mock.services.customer}/customers/c1`)).status, 200, 'default scenario unaffected');

    const logA = await logOf(a);
    assert.equal(logA.length, 1);
    const [e] = logA;
    assert.equal(e.scenario, a);
    assert.equal(e.service, 'customer');
    assert.equal(e.method, 'GET');
    assert.equal(e.path, '/customers/c1');
    assert.deepEqual(e.query, { x: '1' });
    assert.equal(e.status, 503);
    assert.equal(typeof e.seq, 'number');
    assert.equal(e.headers['user-agent'] !== undefined, true);
    assert.ok(e.arrivedAt > Date.now() - 60_000 && e.repliedAt >= e.arrivedAt);
    assert.deepEqual((await logOf(b)).map((x) => x.scenario), [b]);
  });

  test('GET returns the config, DELETE resets config, log and id counters', async () => {
    const s = sid('reset');
    const cfg = {
      latency: { tax: 5 }, defaultLatency: 1, jitter: { cart: 3 }, defaultJitter: 2,
      faults: { fraud: 'reject', payment: { status: 429, retryAfter: 2 } },
    };
    assert.deepEqual(await configure(s, cfg), cfg);
    assert.deepEqual((await call(`${h.mock.adminUrl}/scenarios/${s}`)).json, cfg);
    await post(`${at('inventory', s)}/reservations`, { cartId: 'k', items: [] });
    const del = await call(`${h.mock.adminUrl}/scenarios/${s}`, { method: 'DELETE' });
    assert.deepEqual(del.json, { latency: {}, defaultLatency: 0, jitter: {}, defaultJitter: 0, faults: {} });
    assert.deepEqual(await logOf(s), []);
    assert.equal((await post(`${at('inventory', s)}/reservations`, { cartId: 'k', items: [] })).json.reservationId, 'res-1');
  });

  test('bad configs are rejected with 400', async () => {
    const s = sid('badcfg');
    for (const bad of [
      { latency: { nosuch: 1 } }, { latency: { tax: -1 } }, { faults: { tax: 'explode' } },
      { faults: { tax: 'decline' } }, { faults: { tax: { status: 99 } } }, { oops: 1 },
    ]) {
      const r = await call(`${h.mock.adminUrl}/scenarios/${s}`, { method: 'PUT', body: bad });
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(typeof r.json.error, 'string');
    }
    assert.equal((await call(`${h.mock.adminUrl}/scenarios/${s}`, { method: 'PUT', body: '{' })).status, 400);
  });

  test('log: all scenarios without ?scenario; DELETE clears one scenario', async () => {
    const a = sid('loga');
    const b = sid('logb');
    await call(`${at('cart', a)}/carts/k`);
    await call(`${at('cart', b)}/carts/k`);
    const all = (await call(`${h.mock.adminUrl}/log`)).json;
    assert.ok(all.some((e) => e.scenario === a) && all.some((e) => e.scenario === b));
    assert.ok(all.every((e, i) => i === 0 || e.seq > all[i - 1].seq));
    await call(`${h.mock.adminUrl}/log?scenario=${a}`, { method: 'DELETE' });
    assert.deepEqual(await logOf(a), []);
    assert.equal((await logOf(b)).length, 1);
  });
});

describe('latency', () => {
  test('per-service and default latency delay the reply (repliedAt - arrivedAt ≥ configured)', async () => {
    const s = sid('lat');
    await configure(s, { latency: { cart: 60 }, defaultLatency: 25 });
    await Promise.all([call(`${at('cart', s)}/carts/k`), call(`${at('customer', s)}/customers/c`)]);
    const log = await logOf(s);
    const by = Object.fromEntries(log.map((e) => [e.service, e]));
    assert.ok(by.cart.repliedAt - by.cart.arrivedAt >= 60, `cart took ${by.cart.repliedAt - by.cart.arrivedAt}`);
    assert.ok(by.customer.repliedAt - by.customer.arrivedAt >= 25);
    assert.ok(by.customer.repliedAt - by.customer.arrivedAt < 60, 'customer uses defaultLatency, not cart latency');
  });

  test('startServices latency becomes the default scenario config, other scenarios start at 0', async () => {
    const m = await startServices({ port: 0, latency: { tax: 30 }, defaultLatency: 10 });
    try {
      const cfg = await (await fetch(`${m.adminUrl}/scenarios/default`)).json();
      assert.deepEqual(cfg, { latency: { tax: 30 }, defaultLatency: 10, jitter: {}, defaultJitter: 0, faults: {} });
      await fetch(`${m.services.tax}/quotes`, { method: 'POST', body: JSON.stringify({ amount: 1, address: {} }) });
      const [e] = await (await fetch(`${m.adminUrl}/log?scenario=default`)).json();
      assert.ok(e.repliedAt - e.arrivedAt >= 30);
      const other = await (await fetch(`${m.adminUrl}/scenarios/x`)).json();
      assert.equal(other.defaultLatency, 0);
    } finally {
      await m.close();
    }
  });
});

describe('faults', () => {
  test('{status, retryAfter} → that status, JSON error, Retry-After header', async () => {
    const s = sid('f-status');
    await configure(s, { faults: { pricing: { status: 503, retryAfter: 3 } } });
    const r = await post(`${at('pricing', s)}/quotes`, { items: ITEMS, tier: 'gold' });
    assert.equal(r.status, 503);
    assert.equal(typeof r.json.error, 'string');
    assert.equal(r.headers.get('retry-after'), '3');
  });

  test('times: the fault applies to the first N requests only', async () => {
    const s = sid('f-times');
    await configure(s, { faults: { cart: { status: 500, times: 1 } } });
    assert.equal((await call(`${at('cart', s)}/carts/k`)).status, 500);
    assert.equal((await call(`${at('cart', s)}/carts/k`)).status, 200);
  });

  test('hang: no reply until the client aborts; log keeps repliedAt null and marks aborted', async () => {
    const s = sid('f-hang');
    await configure(s, { faults: { shipping: 'hang' } });
    const ac = new AbortController();
    const hung = nextEvent('arrive', (e) => e.scenario === s);
    const aborted = nextEvent('abort', (e) => e.scenario === s);
    const pending = fetch(`${at('shipping', s)}/quotes`, {
      method: 'POST', body: JSON.stringify({ items: ITEMS, address: ADDRESS, option: 'standard' }), signal: ac.signal,
    });
    await hung;
    ac.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    await aborted;
    const [e] = await logOf(s);
    assert.equal(e.repliedAt, null);
    assert.equal(e.status, null);
    assert.equal(e.aborted, true);
    assert.equal(e.fault, 'hang');
    assert.deepEqual(e.body.option, 'standard');
  });

  test('reset: the client sees a network error', async () => {
    const s = sid('f-reset');
    await configure(s, { faults: { tax: 'reset' } });
    await assert.rejects(post(`${at('tax', s)}/quotes`, { amount: 1, address: ADDRESS }), TypeError);
    const log = await logOf(s);
    assert.ok(log.length >= 1);
    assert.ok(log.every((e) => e.repliedAt === null && e.fault === 'reset'));
  });

  test('not-json: 200 text/plain "not json"', async () => {
    const s = sid('f-nj');
    await configure(s, { faults: { customer: 'not-json' } });
    const r = await call(`${at('customer', s)}/customers/c1`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/plain/);
    assert.equal(r.text, 'not json');
  });

  test('decline (payment), reject / review (fraud)', async () => {
    const s = sid('f-dom');
    await configure(s, { faults: { payment: 'decline', fraud: 'reject' } });
    const pay = await post(`${at('payment', s)}/authorizations`, { customerId: 'c', paymentMethodId: 'pm_visa', amount: 1, currency: 'USD' });
    assert.deepEqual([pay.status, pay.json.status], [200, 'declined']);
    const check = { customerId: 'c', email: 'c@example.test', cartId: 'k' };
    assert.equal((await post(`${at('fraud', s)}/checks`, check)).json.decision, 'reject');
    await configure(s, { faults: { fraud: { type: 'review' } } });
    assert.equal((await post(`${at('fraud', s)}/checks`, check)).json.decision, 'review');
    // domain faults still validate the body
    assert.equal((await post(`${at('fraud', s)}/checks`, {})).status, 400);
  });
});

describe('gateway', () => {
  test('routes /<service>/<path>, logs the service-relative path with via=gateway', async () => {
    const s = sid('gw');
    const r = await call(`${at('gateway', s)}/customer/customers/gold-9`);
    assert.deepEqual([r.status, r.json.tier], [200, 'gold']);
    const order = await post(`${at('gateway', s)}/order/orders`, await orderBody(s, 'gateway'));
    assert.equal(order.headers.get('location'), `/s/${s}/order/orders/ord-1`);
    const log = await logOf(s);
    assert.deepEqual(log.map((e) => [e.service, e.path, e.via]), [
      ['customer', '/customers/gold-9', 'gateway'], ['inventory', '/reservations', 'gateway'],
      ['payment', '/authorizations', 'gateway'], ['order', '/orders', 'gateway'],
    ]);
  });

  test('unknown service → 404; gateway lab endpoints are logged as service "gateway"', async () => {
    const s = sid('gw2');
    assert.equal((await call(`${at('gateway', s)}/warehouse/x`)).status, 404);
    assert.equal((await call(`${at('gateway', s)}/lab/items?n=1`)).json.count, 1);
    assert.deepEqual((await logOf(s)).map((e) => e.service), ['gateway', 'gateway']);
  });

  test('scenario latency applies through the gateway', async () => {
    const s = sid('gw3');
    await configure(s, { latency: { tax: 40 } });
    await post(`${at('gateway', s)}/tax/quotes`, { amount: 100, address: ADDRESS });
    const [e] = await logOf(s);
    assert.ok(e.repliedAt - e.arrivedAt >= 40);
  });
});

describe('idempotency', () => {
  test('a repeated POST with the same Idempotency-Key replays the reply without acting twice', async () => {
    const s = sid('idem');
    const body = await orderBody(s);
    const first = await post(`${at('order', s)}/orders`, body, { 'Idempotency-Key': 'key-1' });
    const again = await post(`${at('order', s)}/orders`, body, { 'Idempotency-Key': 'key-1' });
    assert.deepEqual([again.status, again.json], [first.status, first.json]);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.headers.get('location'), first.headers.get('location'));
    const other = await post(`${at('order', s)}/orders`, body, { 'Idempotency-Key': 'key-2' });
    assert.equal(other.json.orderId, 'ord-2');
    assert.equal((await call(`${at('order', s)}/orders`)).json.orders.length, 2);
    const orderLog = (await logOf(s)).filter((e) => e.service === 'order');
    assert.deepEqual(orderLog.map((e) => e.replayed ?? false), [false, true, false, false]);
  });

  test('a failed attempt (fault) is not stored: the retry acts', async () => {
    const s = sid('idem2');
    await configure(s, { faults: { inventory: { status: 503, times: 1 } } });
    const body = { cartId: 'k', items: ITEMS };
    assert.equal((await post(`${at('inventory', s)}/reservations`, body, { 'Idempotency-Key': 'x' })).status, 503);
    const retry = await post(`${at('inventory', s)}/reservations`, body, { 'Idempotency-Key': 'x' });
    assert.deepEqual([retry.status, retry.json.reservationId], [201, 'res-1']);
  });
});

describe('lab endpoints', () => {
  test('echo returns method, path, query, headers, body for every method', async () => {
    const s = sid('lab');
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      const body = method === 'GET' ? undefined : { n: 1 };
      const r = await call(`${at('cart', s)}/lab/echo?a=1&a=2&b=x`, { method, body, headers: { 'X-Trace': 't1' } });
      assert.equal(r.status, 200);
      assert.equal(r.json.method, method);
      assert.equal(r.json.path, '/lab/echo');
      assert.deepEqual(r.json.query, { a: ['1', '2'], b: 'x' });
      assert.equal(r.json.headers['x-trace'], 't1');
      assert.deepEqual(r.json.body, body ?? null);
    }
    assert.ok((await logOf(s)).every((e) => e.service === 'cart' && e.path === '/lab/echo'));
    const deeper = await call(`${at('cart', s)}/lab/echo/12345678901234567890/x`);
    assert.deepEqual([deeper.status, deeper.json.path], [200, '/lab/echo/12345678901234567890/x']);
  });

  test('items, not-json, empty, big', async () => {
    const base = h.mock.services.fraud;
    assert.deepEqual((await call(`${base}/lab/items?n=2`)).json, { items: [{ id: 1, name: 'item-1' }, { id: 2, name: 'item-2' }], count: 2 });
    assert.equal((await call(`${base}/lab/items`)).json.count, 3);
    const nj = await call(`${base}/lab/not-json`);
    assert.deepEqual([nj.status, nj.text, nj.json], [200, 'not json', undefined]);
    const empty = await call(`${base}/lab/empty`);
    assert.deepEqual([empty.status, empty.text], [204, '']);
    const big = await call(`${base}/lab/big?kb=64`);
    assert.equal(Buffer.byteLength(big.text), 64 * 1024);
    assert.ok(Array.isArray(big.json.rows) && big.json.rows.length > 100);
  });

  test('echo-text quotes the request line, Authorization and X- headers and the raw body as text', async () => {
    const s = sid('echotext');
    const r = await call(`${at('pricing', s)}/lab/echo-text?token=t%201&a=1&a=2`, {
      method: 'POST',
      body: '{"card":"4111",  "n":12345678901234567890}',
      headers: { Authorization: 'Bearer abc', 'X-Api-Key': 'k1', Accept: 'text/plain' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(
      r.text,
      'POST /lab/echo-text?token=t+1&a=1&a=2\nauthorization: Bearer abc\nx-api-key: k1\n\n{"card":"4111",  "n":12345678901234567890}',
    );
    const get = await call(`${at('pricing', s)}/lab/echo-text`);
    assert.equal(get.text, 'GET /lab/echo-text\n\n');
    assert.equal((await logOf(s)).length, 2);
  });

  test('raw answers the exact text it is given, as JSON unless ?type says otherwise', async () => {
    const base = h.mock.services.order;
    const text = '{"__proto__":{"polluted":1},"id":12345678901234567890}';
    const r = await call(`${base}/lab/raw?body=${encodeURIComponent(text)}`);
    assert.deepEqual([r.status, r.text, r.headers.get('content-type')], [200, text, 'application/json; charset=utf-8']);
    assert.equal(Object.getPrototypeOf(r.json), Object.prototype, 'the test parse keeps __proto__ as data');
    const post = await call(`${base}/lab/raw?body=oops&type=text%2Fhtml`, { method: 'POST', body: {} });
    assert.deepEqual([post.text, post.headers.get('content-type')], ['oops', 'text/html']);
    assert.equal((await call(`${base}/lab/raw`)).status, 400);
    assert.equal((await call(`${base}/lab/raw?body=x&type=a%0D%0Ab`)).status, 400);
    assert.equal((await call(`${base}/lab/raw?body=x`, { method: 'OPTIONS' })).status, 204, 'a preflight, not the endpoint');
  });

  test('?delay, ?status, ?retryAfter, ?fault=reset; scenario faults do not apply to lab', async () => {
    const s = sid('lab2');
    await configure(s, { faults: { tax: { status: 500 } } });
    const r = await call(`${at('tax', s)}/lab/echo?delay=30&status=503&retryAfter=1`);
    assert.equal(r.status, 503);
    assert.equal(r.json.method, 'GET');
    assert.equal(r.headers.get('retry-after'), '1');
    const [e] = await logOf(s);
    assert.ok(e.repliedAt - e.arrivedAt >= 30);
    await assert.rejects(call(`${at('tax', s)}/lab/echo?fault=reset`), TypeError);
    assert.equal((await call(`${at('tax', s)}/lab/items?delay=abc`)).status, 400);
    assert.equal((await call(`${at('tax', s)}/lab/items`, { method: 'POST', body: {} })).status, 405);
  });

  test('?replayed=true marks the reply Idempotent-Replayed; any other value is refused', async () => {
    const s = sid('lab3');
    const marked = await call(`${at('order', s)}/lab/echo?replayed=true`, { method: 'POST', body: {} });
    assert.equal(marked.status, 200);
    assert.equal(marked.headers.get('idempotent-replayed'), 'true');
    assert.equal((await call(`${at('order', s)}/lab/echo`)).headers.get('idempotent-replayed'), null);
    assert.equal((await call(`${at('order', s)}/lab/echo?replayed=yes`)).status, 400);
  });

  test('?encoding=gzip|deflate|br sends the body compressed, with its Content-Encoding', async () => {
    const s = sid('lab4');
    const raw = (url) => new Promise((resolve, reject) => {
      http.get(url, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, bytes: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
    const decode = { gzip: zlib.gunzipSync, deflate: zlib.inflateSync, br: zlib.brotliDecompressSync };
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const r = await raw(`${at('order', s)}/lab/echo?encoding=${encoding}`);
      assert.equal(r.headers['content-encoding'], encoding);
      assert.equal(Number(r.headers['content-length']), r.bytes.length);
      assert.equal(JSON.parse(decode[encoding](r.bytes).toString()).method, 'GET');
    }
    assert.equal((await raw(`${at('order', s)}/lab/echo`)).headers['content-encoding'], undefined);
    assert.equal((await call(`${at('order', s)}/lab/echo?encoding=zip`)).status, 400);
  });
});

describe('admin', () => {
  test('health, info, scenarios list, unknown → 404', async () => {
    assert.deepEqual((await call(`${h.mock.adminUrl}/health`)).json, { ok: true });
    assert.deepEqual((await call(`${h.mock.adminUrl}/info`)).json, JSON.parse(JSON.stringify(h.mock)));
    const s = sid('list');
    await configure(s, {});
    assert.ok((await call(`${h.mock.adminUrl}/scenarios`)).json.scenarios.includes(s));
    assert.equal((await call(`${h.mock.adminUrl}/nope`)).status, 404);
    assert.equal((await call(`${h.mock.adminUrl}/health`, { method: 'POST' })).status, 405);
  });
});

describe('lifecycle', () => {
  test('close() finishes with a hanging request open and frees the ports', async () => {
    const m = await startServices({ port: 0 });
    const arrived = once(m.events, 'arrive');
    await fetch(`${m.adminUrl}/scenarios/default`, { method: 'PUT', body: JSON.stringify({ faults: { order: 'hang' } }) });
    const pending = fetch(`${m.services.order}/orders`);
    const idle = await fetch(`${m.services.cart}/carts/k`); // leaves an idle keep-alive connection
    await idle.text();
    await arrived;
    const started = performance.now();
    await m.close();
    assert.ok(performance.now() - started < 1000, 'close() must not wait for the hanging request');
    await assert.rejects(pending, TypeError);
    const port = Number(new URL(m.services.order).port);
    await assert.rejects(new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => {
        sock.destroy();
        resolve();
      });
      sock.on('error', reject);
    }), { code: 'ECONNREFUSED' });
    await m.close(); // idempotent
  });

  test('CLI prints one JSON line, serves, and exits 0 on SIGTERM', async () => {
    const args = ['--port', '0', '--latency', '5', '--latency', 'tax=7', '--jitter', 'cart=3', '--chaos', '0.2', '--chaos-seed', '7'];
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      const line = await new Promise((resolve, reject) => {
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
        });
        child.on('exit', (code) => reject(new Error(`cli exited early with ${code}`)));
      });
      const info = JSON.parse(line);
      assert.deepEqual(Object.keys(info), ['adminUrl', 'gatewayUrl', 'services']);
      const cfg = await (await fetch(`${info.adminUrl}/scenarios/default`)).json();
      assert.deepEqual(cfg, { latency: { tax: 7 }, defaultLatency: 5, jitter: { cart: 3 }, defaultJitter: 0, faults: {}, chaos: CHAOS_DEFAULTS });
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = await exited;
      assert.equal(code, 0);
      assert.equal(out.trim().split('\n').length, 1, 'exactly one stdout line');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
