// Fault injection in the mock services (mock/store.mjs, mock/faults.mjs): node --test tests/mock/
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { startServices } from '../../mock/services.mjs';
import { useMock, ITEMS } from './helpers.mjs';

const h = useMock();
const { sid, at, call, post, configure, put, logOf, nextEvent } = h;

const PAY = { customerId: 'c', paymentMethodId: 'pm_visa', amount: 100, currency: 'USD' };
const MIB = 1024 * 1024;

/** GET with node:http, counting body bytes until the reply ends or fails. */
function rawGet(url, { onResponse } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let bytes = 0;
      let chunks = 0;
      onResponse?.(res, req);
      res.on('data', (d) => {
        bytes += d.length;
        chunks += 1;
      });
      res.on('end', () => resolve({ res, bytes, chunks, complete: res.complete }));
      res.on('error', (err) => resolve({ res, bytes, chunks, complete: false, err }));
      res.on('close', () => resolve({ res, bytes, chunks, complete: res.complete }));
    });
    req.on('error', reject);
  });
}

describe('selection by request number: after and times', () => {
  const statuses = async (scenario, n) => {
    const out = [];
    for (let i = 0; i < n; i++) out.push((await call(`${at('cart', scenario)}/carts/k`)).status);
    return out;
  };

  test('after: N lets N requests through, then the fault applies to every later one', async () => {
    const s = sid('after');
    await configure(s, { faults: { cart: { status: 503, after: 2 } } });
    assert.deepEqual(await statuses(s, 5), [200, 200, 503, 503, 503]);
  });

  test('after + times: exactly requests after+1 … after+times', async () => {
    const s = sid('window');
    await configure(s, { faults: { cart: { status: 500, after: 1, times: 2 } } });
    assert.deepEqual(await statuses(s, 5), [200, 500, 500, 200, 200]);
    const log = await logOf(s);
    assert.deepEqual(log.map((e) => e.nth), [1, 2, 3, 4, 5]);
    assert.deepEqual(log.map((e) => e.fault ?? null), [null, { status: 500, after: 1, times: 2 }, { status: 500, after: 1, times: 2 }, null, null]);
  });

  test('{after: 1, times: 1} is only the 2nd request; times alone is the first N', async () => {
    const s = sid('second');
    await configure(s, { faults: { cart: { status: 502, after: 1, times: 1 } } });
    assert.deepEqual(await statuses(s, 3), [200, 502, 200]);
    await configure(s, { faults: { cart: { status: 502, times: 2 } } });
    assert.deepEqual(await statuses(s, 3), [502, 502, 200]);
  });

  test('the count is per service and scenario, shared by direct and gateway, restarted by PUT and DELETE', async () => {
    const s = sid('count');
    const other = sid('count-other');
    const cfg = { faults: { cart: { status: 503, after: 1, times: 1 }, customer: { status: 503, after: 1, times: 1 } } };
    await configure(s, cfg);
    await configure(other, cfg);
    assert.equal((await call(`${at('cart', s)}/carts/k`)).status, 200); // cart #1
    assert.equal((await call(`${at('customer', s)}/customers/c`)).status, 200); // customer #1
    assert.equal((await call(`${at('cart', other)}/carts/k`)).status, 200); // other scenario's cart #1
    assert.equal((await call(`${at('cart', s)}/lab/echo`)).status, 200); // lab: not counted
    assert.equal((await call(`${at('gateway', s)}/cart/carts/k`)).status, 503); // cart #2, through the gateway
    assert.equal((await call(`${at('cart', s)}/carts/k`)).status, 200); // cart #3
    await configure(s, cfg); // PUT: numbers start again
    assert.deepEqual(await statuses(s, 2), [200, 503]);
    await call(`${h.mock.adminUrl}/scenarios/${s}`, { method: 'DELETE' });
    await configure(s, cfg);
    assert.deepEqual(await statuses(s, 2), [200, 503]);
    const log = await logOf(s);
    assert.deepEqual(log.map((e) => [e.service, e.nth]), [['cart', 1], ['cart', 2]], 'DELETE cleared the log');
  });

  test('numbers go by arrival: an aborted request and a request the fault does not affect keep theirs', async () => {
    const s = sid('arrival');
    await configure(s, { faults: { payment: { type: 'decline', after: 2, times: 1 } } });
    // #1 leaves while still sending its body.
    const arrived = nextEvent('arrive', (e) => e.scenario === s);
    const aborted = nextEvent('abort', (e) => e.scenario === s);
    const first = http.request(`${at('payment', s)}/authorizations`, { method: 'POST', agent: false, headers: { 'content-length': 100 } });
    first.on('error', () => {});
    first.write('{"customerId":');
    await arrived;
    first.destroy();
    await aborted;
    // #2 is a GET the decline fault does not shape, #3 is declined, #4 is authorized again.
    assert.equal((await call(`${at('payment', s)}/authorizations/auth-0`)).status, 404);
    assert.equal((await post(`${at('payment', s)}/authorizations`, PAY)).json.status, 'declined');
    assert.equal((await post(`${at('payment', s)}/authorizations`, PAY)).json.status, 'authorized');
    const log = await logOf(s);
    assert.deepEqual(log.map((e) => [e.nth, e.aborted, e.fault?.type ?? null]), [
      [1, true, null], [2, false, null], [3, false, 'decline'], [4, false, null],
    ]);
  });

  test('concurrent requests: the first to arrive is #1, whatever order they finish in', async () => {
    const s = sid('race');
    await configure(s, { jitter: { cart: 40 }, faults: { cart: { status: 503, times: 1 } } });
    const firstArrived = nextEvent('arrive', (e) => e.scenario === s);
    const first = call(`${at('cart', s)}/carts/a`);
    await firstArrived;
    const rest = await Promise.all([1, 2, 3].map(() => call(`${at('cart', s)}/carts/b`)));
    assert.equal((await first).status, 503);
    assert.deepEqual(rest.map((r) => r.status), [200, 200, 200]);
  });
});

describe('latency, jitter and delay', () => {
  test('jitter: each wait is latency + uniform [0, jitter); replies never early; not all equal', async () => {
    const s = sid('jitter');
    await configure(s, { latency: { customer: 20 }, jitter: { customer: 30 }, defaultJitter: 10 });
    await Promise.all(Array.from({ length: 20 }, () => call(`${at('customer', s)}/customers/c`)));
    await call(`${at('cart', s)}/carts/k`);
    const log = await logOf(s);
    const customer = log.filter((e) => e.service === 'customer');
    assert.equal(customer.length, 20);
    for (const e of customer) {
      assert.ok(e.wait >= 20 && e.wait < 50, `wait ${e.wait}`);
      const took = e.repliedAt - e.arrivedAt;
      assert.ok(took >= e.wait, `replied after ${took} ms, before its wait of ${e.wait} ms`);
      assert.ok(took < 50 + 1000, `replied after ${took} ms`);
    }
    assert.ok(new Set(customer.map((e) => e.wait)).size > 1, 'jitter draws differ');
    const cart = log.find((e) => e.service === 'cart');
    assert.ok(cart.wait >= 0 && cart.wait < 10, `defaultJitter applies to cart: ${cart.wait}`);
  });

  test('no jitter: the wait is exactly the latency', async () => {
    const s = sid('nojitter');
    await configure(s, { latency: { tax: 15 } });
    await call(`${at('tax', s)}/quotes`, { method: 'POST', body: { amount: 1, address: {} } });
    const [e] = await logOf(s);
    assert.equal(e.wait, 15);
  });

  test('startServices takes jitter for the default scenario', async () => {
    const m = await startServices({ port: 0, jitter: 7 });
    try {
      const cfg = await (await fetch(`${m.adminUrl}/scenarios/default`)).json();
      assert.deepEqual([cfg.jitter, cfg.defaultJitter], [{}, 7]);
    } finally {
      await m.close();
    }
  });

  test('{type:"delay", ms, times:1}: the first request is slow and otherwise normal, the second is not', async () => {
    const s = sid('delay');
    const fault = { type: 'delay', ms: 150, times: 1 };
    await configure(s, { latency: { customer: 10 }, faults: { customer: fault } });
    const started = performance.now();
    const slow = await call(`${at('customer', s)}/customers/gold-1`);
    const tookMs = performance.now() - started;
    assert.deepEqual([slow.status, slow.json.tier], [200, 'gold']);
    assert.ok(tookMs >= 160, `took ${tookMs} ms`);
    assert.equal((await call(`${at('customer', s)}/customers/c`)).status, 200);
    const [a, b] = await logOf(s);
    assert.deepEqual([a.wait, a.fault], [160, fault]);
    assert.ok(a.repliedAt - a.arrivedAt >= 160);
    assert.deepEqual([b.wait, b.fault], [10, undefined]);
  });

  test('a request aborted during its delay shows the delay fault', async () => {
    const s = sid('delay-abort');
    await configure(s, { faults: { order: { type: 'delay', ms: 60_000 } } });
    const ac = new AbortController();
    const arrived = nextEvent('arrive', (e) => e.scenario === s);
    const aborted = nextEvent('abort', (e) => e.scenario === s);
    const pending = fetch(`${at('order', s)}/orders`, { signal: ac.signal });
    await arrived;
    ac.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    const e = await aborted;
    assert.deepEqual([e.aborted, e.status, e.fault], [true, null, { type: 'delay', ms: 60_000 }]);
  });
});

describe('faults in the body', () => {
  test('reset-mid-body: headers arrive, then reading the body fails; logged as reset', async () => {
    const s = sid('cut');
    await configure(s, { faults: { tax: 'reset-mid-body' } });
    const resetSeen = nextEvent('reset', (e) => e.scenario === s);
    const res = await fetch(`${at('tax', s)}/quotes`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    assert.ok(Number(res.headers.get('content-length')) > 100);
    await assert.rejects(res.text(), TypeError);
    const e = await resetSeen;
    assert.deepEqual([e.fault, e.reset, e.status, e.aborted], ['reset-mid-body', true, 200, false]);
  });

  test('lose-reply: the write happens, the reply is lost, and a retry with the same key gets it replayed', async () => {
    const s = sid('lost');
    await configure(s, { faults: { payment: { type: 'lose-reply', times: 1 } } });
    const headers = { 'Content-Type': 'application/json', 'Idempotency-Key': 'k-lost' };
    const init = { method: 'POST', body: JSON.stringify(PAY), headers };
    await assert.rejects(fetch(`${at('payment', s)}/authorizations`, init), TypeError);
    const retry = await fetch(`${at('payment', s)}/authorizations`, init);
    assert.equal(retry.status, 201);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    const body = await retry.json();
    assert.equal(body.authorizationId, 'auth-1', 'the authorization made by the lost request');
    assert.equal((await fetch(`${at('payment', s)}/authorizations/auth-2`)).status, 404, 'no second authorization');
    const posts = (await logOf(s)).filter((e) => e.method === 'POST');
    assert.equal(posts.length, 2);
    assert.deepEqual([posts[0].fault, posts[0].reset, posts[0].status], [{ type: 'lose-reply', times: 1 }, true, null]);
    assert.equal(posts[1].replayed, true);
  });

  test('reset-mid-body: about half the Content-Length arrives before the connection closes', async () => {
    const s = sid('cut-raw');
    await configure(s, { faults: { customer: 'reset-mid-body' } });
    const r = await rawGet(`${at('customer', s)}/customers/c`);
    const length = Number(r.res.headers['content-length']);
    assert.equal(r.res.statusCode, 200);
    assert.equal(r.complete, false);
    assert.equal(r.bytes, Math.floor(length / 2));
  });

  test('slow-body: headers at once, a valid JSON body in several chunks over at least ms', async () => {
    const s = sid('slow');
    await configure(s, { faults: { pricing: { type: 'slow-body', ms: 300 } } });
    const started = performance.now();
    const res = await fetch(`${at('pricing', s)}/quotes`, { method: 'POST', body: JSON.stringify({ items: ITEMS, tier: 'gold' }) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    const chunks = [];
    for await (const chunk of res.body) chunks.push(Buffer.from(chunk));
    const tookMs = performance.now() - started;
    assert.ok(chunks.length > 1, `${chunks.length} chunk(s)`);
    const text = Buffer.concat(chunks).toString();
    assert.equal(Buffer.byteLength(text), Number(res.headers.get('content-length')));
    assert.deepEqual(JSON.parse(text).fault, 'slow-body');
    assert.ok(tookMs >= 300, `body complete after ${tookMs} ms`);
    const [e] = await logOf(s);
    assert.deepEqual([e.status, e.aborted, e.fault], [200, false, { type: 'slow-body', ms: 300 }]);
  });

  test('slow-body: the client leaving mid-body stops the writes and marks the entry aborted', async () => {
    const s = sid('slow-abort');
    await configure(s, { faults: { pricing: { type: 'slow-body', ms: 60_000 } } });
    const ac = new AbortController();
    const aborted = nextEvent('abort', (e) => e.scenario === s);
    const res = await fetch(`${at('pricing', s)}/quotes`, { method: 'POST', body: '{}', signal: ac.signal });
    assert.equal(res.status, 200);
    ac.abort();
    const e = await aborted;
    assert.deepEqual([e.status, e.aborted], [200, true]);
  });

  test('huge-body: exactly mb MiB of valid JSON, Content-Length set', async () => {
    const s = sid('huge');
    await configure(s, { faults: { cart: { type: 'huge-body', mb: 3 } } });
    const res = await fetch(`${at('cart', s)}/carts/k`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    assert.equal(res.headers.get('content-length'), String(3 * MIB));
    const buf = Buffer.from(await res.arrayBuffer());
    assert.equal(buf.length, 3 * MIB);
    const doc = JSON.parse(buf.toString());
    assert.equal(doc.fault, 'huge-body');
    assert.ok(Array.isArray(doc.pad) && doc.pad.length > 3000);
  });

  test('huge-body: the default is 6 MiB; a slow reader still gets every byte (backpressure)', async () => {
    const s = sid('huge-default');
    assert.deepEqual((await configure(s, { faults: { cart: 'huge-body' } })).faults.cart, { type: 'huge-body', mb: 6 });
    const r = await rawGet(`${at('cart', s)}/carts/k`, {
      onResponse: (res) => {
        // A reader slower than the writer: the socket's buffers fill and the mock waits for 'drain'.
        res.on('data', () => {
          res.pause();
          setImmediate(() => res.resume());
        });
      },
    });
    assert.equal(r.complete, true);
    assert.equal(r.bytes, 6 * MIB);
  });

  test('huge-body: a client leaving mid-body marks the entry aborted', async () => {
    const s = sid('huge-abort');
    await configure(s, { faults: { cart: { type: 'huge-body', mb: 64 } } });
    const aborted = nextEvent('abort', (e) => e.scenario === s);
    const res = await fetch(`${at('cart', s)}/carts/k`);
    const reader = res.body.getReader();
    await reader.read();
    await reader.cancel();
    const e = await aborted;
    assert.deepEqual([e.status, e.aborted], [200, true]);
  });

  test('empty: 200 application/json with Content-Length 0; {status:204}: an empty 204', async () => {
    const s = sid('empty');
    await configure(s, { faults: { customer: 'empty', cart: { status: 204 } } });
    const empty = await call(`${at('customer', s)}/customers/c`);
    assert.deepEqual([empty.status, empty.text, empty.headers.get('content-length')], [200, '', '0']);
    assert.match(empty.headers.get('content-type'), /^application\/json/);
    const none = await call(`${at('cart', s)}/carts/k`);
    assert.deepEqual([none.status, none.text], [204, '']);
    const log = await logOf(s);
    assert.deepEqual(log.map((e) => [e.status, e.fault]), [[200, 'empty'], [204, { status: 204 }]]);
  });

  test('body faults come after the latency and before body validation', async () => {
    const s = sid('order-of');
    await configure(s, { defaultLatency: 40, faults: { tax: 'empty', pricing: 'huge-body', fraud: 'slow-body' } });
    await Promise.all([
      post(`${at('tax', s)}/quotes`, 'not json at all'),
      post(`${at('pricing', s)}/quotes`, {}),
      post(`${at('fraud', s)}/checks`, {}),
    ]);
    for (const e of await logOf(s)) {
      assert.equal(e.status, 200, e.service);
      assert.ok(e.repliedAt - e.arrivedAt >= 40, `${e.service} replied after ${e.repliedAt - e.arrivedAt} ms`);
    }
  });
});

describe('redirect', () => {
  test('307 to another origin\'s lab echo; Location is exposed; the body is small JSON', async () => {
    const s = sid('redir');
    await configure(s, { faults: { payment: 'redirect' } });
    const r = await call(`${at('payment', s)}/authorizations`, { method: 'POST', body: PAY, redirect: 'manual' });
    assert.equal(r.status, 307);
    const location = r.headers.get('location');
    assert.equal(location, `${h.mock.services.notification}/s/${s}/lab/echo`);
    assert.notEqual(new URL(location).origin, new URL(h.mock.services.payment).origin);
    assert.match(r.headers.get('access-control-expose-headers'), /Location/);
    assert.deepEqual(r.json, { redirect: location });
    const [e] = await logOf(s);
    assert.deepEqual([e.service, e.status, e.fault], ['payment', 307, { type: 'redirect', to: 'notification', status: 307 }]);
  });

  test('following it logs the request, headers included, on the other service', async () => {
    const s = sid('redir-follow');
    await configure(s, { faults: { payment: { type: 'redirect', to: 'order' } } });
    const r = await call(`${at('payment', s)}/authorizations`, { method: 'POST', body: PAY, headers: { 'X-Trace': 'trace-1' } });
    assert.equal(r.redirected, true);
    assert.equal(r.url, `${h.mock.services.order}/s/${s}/lab/echo`);
    assert.deepEqual([r.status, r.json.method, r.json.body], [200, 'POST', PAY], '307 keeps the method and body');
    const log = await logOf(s);
    assert.deepEqual(log.map((e) => [e.service, e.path, e.status]), [['payment', '/authorizations', 307], ['order', '/lab/echo', 200]]);
    assert.equal(log[1].headers['x-trace'], 'trace-1');
    assert.equal(log[1].nth, null, 'lab requests are not numbered');
  });

  test('a faulted notification redirects to customer; status 303 turns the POST into a GET; gateway too', async () => {
    const s = sid('redir-303');
    assert.deepEqual((await configure(s, { faults: { notification: { type: 'redirect', status: 303 } } })).faults.notification,
      { type: 'redirect', to: 'customer', status: 303 });
    const r = await call(`${at('gateway', s)}/notification/notifications`, { method: 'POST', body: { orderId: 'o' }, redirect: 'manual' });
    assert.deepEqual([r.status, r.headers.get('location')], [303, `${h.mock.services.customer}/s/${s}/lab/echo`]);
    const followed = await post(`${at('notification', s)}/notifications`, { orderId: 'o' });
    assert.deepEqual([followed.status, followed.json.method], [200, 'GET']);
  });

  test('in the default scenario the Location has no /s/ prefix', async () => {
    const m = await startServices({ port: 0 });
    try {
      await fetch(`${m.adminUrl}/scenarios/default`, { method: 'PUT', body: JSON.stringify({ faults: { cart: { type: 'redirect', status: 308 } } }) });
      const res = await fetch(`${m.services.cart}/carts/k`, { redirect: 'manual' });
      assert.deepEqual([res.status, res.headers.get('location')], [308, `${m.services.notification}/lab/echo`]);
    } finally {
      await m.close();
    }
  });
});

describe('fault config', () => {
  test('defaults are filled in; parameterless string faults stay strings', async () => {
    const s = sid('norm');
    const cfg = await configure(s, {
      faults: {
        cart: 'slow-body', pricing: 'huge-body', payment: 'redirect', notification: 'redirect',
        tax: 'reset-mid-body', customer: 'empty', order: { type: 'delay', ms: 5, after: 1, times: 2 },
        inventory: { type: 'hang', after: 0 },
      },
    });
    assert.deepEqual(cfg.faults, {
      cart: { type: 'slow-body', ms: 1000 },
      pricing: { type: 'huge-body', mb: 6 },
      payment: { type: 'redirect', to: 'notification', status: 307 },
      notification: { type: 'redirect', to: 'customer', status: 307 },
      tax: 'reset-mid-body',
      customer: 'empty',
      order: { type: 'delay', ms: 5, after: 1, times: 2 },
      inventory: { type: 'hang', after: 0 },
    });
  });

  test('invalid faults and jitter get a 400 naming the problem', async () => {
    const s = sid('bad');
    const services = 'customer, cart, inventory, pricing, shipping, fraud, tax, payment, order, notification';
    const cases = [
      [{ payment: { type: 'huge-body', mb: 65 } }, 'faults.payment.mb must be an integer number of MiB 1..64'],
      [{ payment: { type: 'huge-body', mb: 1.5 } }, 'faults.payment.mb must be an integer number of MiB 1..64'],
      [{ tax: { type: 'slow-body', ms: -1 } }, 'faults.tax.ms must be a number of milliseconds between 0 and 600000'],
      [{ tax: 'delay' }, 'faults.tax: fault "delay" needs "ms", e.g. {"type":"delay","ms":500}'],
      [{ tax: { type: 'delay', ms: '5' } }, 'faults.tax.ms must be a number of milliseconds between 0 and 600000'],
      [{ tax: { type: 'redirect', to: 'tax' } }, 'faults.tax.to must be another service than tax (another origin)'],
      [{ tax: { type: 'redirect', to: 'bank' } }, `faults.tax.to must be a service name (one of ${services})`],
      [{ tax: { type: 'redirect', status: 305 } }, 'faults.tax.status must be one of 301, 302, 303, 307, 308'],
      [{ tax: { status: 503, after: -1 } }, 'faults.tax.after must be a non-negative integer (the number of requests let through first)'],
      [{ tax: { type: 'hang', times: 0 } }, 'faults.tax.times must be a positive integer'],
      [{ tax: { type: 'empty', mb: 1 } }, 'faults.tax: unknown key "mb" for fault "empty" (allowed: type, after, times)'],
      [{ tax: { type: 'not-json', retryAfter: 1 } }, 'faults.tax.retryAfter only goes with "status"'],
      [{ tax: { type: 'hang', status: 500 } },
        'faults.tax: give either "status" or "type", not both (of the types, only "redirect" takes a status)'],
      [{ tax: { status: 503, ms: 1 } }, 'faults.tax: unknown key "ms" for a status fault (allowed: status, retryAfter, after, times)'],
      [{ tax: 'explode' }, 'faults.tax: unknown fault "explode" (known: hang, reset, reset-mid-body, lose-reply, not-json, empty, slow-body, huge-body, redirect, delay, reject, review, decline, or {status})'],
    ];
    for (const [faults, message] of cases) {
      const r = await put(s, { faults });
      assert.deepEqual([r.status, r.json.error], [400, message], JSON.stringify(faults));
    }
    for (const [config, message] of [
      [{ jitter: { tax: -5 } }, 'jitter.tax must be a number of milliseconds between 0 and 600000'],
      [{ jitter: { bank: 5 } }, `jitter: unknown service "bank" (known: ${services})`],
      [{ jitter: 5 }, 'jitter must be an object {<service>: ms}'],
      [{ defaultJitter: 'x' }, 'defaultJitter must be a number of milliseconds between 0 and 600000'],
    ]) {
      const r = await put(s, config);
      assert.deepEqual([r.status, r.json.error], [400, message], JSON.stringify(config));
    }
  });
});

describe('closing', () => {
  test('streams the client left, and open ones, leave nothing behind: the process exits after close()', async () => {
    // A child process starts a mock, leaves a slow body and a huge body mid-way (waiting for the mock to
    // see each abort), opens another slow body and a delay, then calls close(). The child must then exit
    // by itself: a timer or socket left behind would keep it alive.
    const script = `
      import { startServices } from ${JSON.stringify(new URL('../../mock/services.mjs', import.meta.url).href)};
      import http from 'node:http';
      import { once } from 'node:events';
      const m = await startServices({ port: 0 });
      await fetch(m.adminUrl + '/scenarios/default', { method: 'PUT', body: JSON.stringify({ faults: {
        cart: { type: 'slow-body', ms: 600000 }, pricing: { type: 'huge-body', mb: 64 }, order: { type: 'delay', ms: 600000 },
      } }) });
      const open = (url) => new Promise((resolve) => http.get(url, { agent: false }, resolve).on('error', () => {}));
      for (const url of [m.services.cart + '/carts/k', m.services.pricing + '/quotes']) {
        const aborted = once(m.events, 'abort');
        const res = await open(url);
        res.destroy();
        await aborted;
      }
      const stillOpen = await open(m.services.cart + '/carts/k');
      stillOpen.on('error', () => {});
      const arrived = once(m.events, 'arrive');
      http.get(m.services.order + '/orders', { agent: false }).on('error', () => {});
      await arrived;
      await m.close();
      process.stdout.write('closed');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    try {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      const [code, signal] = await once(child, 'exit');
      assert.deepEqual([code, signal, out], [0, null, 'closed'], 'the child exits by itself after close()');
    } finally {
      clearTimeout(killer);
    }
  });
});
