// Random faults per scenario ("chaos", mock/chaos.mjs): node --test tests/mock/
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServices } from '../../mock/services.mjs';
import { fnv1a32 } from '../../mock/chaos.mjs';
import { useMock, PAYMENT } from './helpers.mjs';

const h = useMock();
const { sid, at, call, post, configure, put, logOf, logUntil, nextEvent } = h;

const CHECK = { customerId: 'c1', email: 'c1@example.test', cartId: 'k1' };
const ALL_KINDS = ['429', '500', '503', 'reset', 'reset-mid-body', 'lose-reply', 'hang', 'slow-body', 'decline', 'reject'];

// ------------------------------------------------------------------ the documented draw, written again here

/** FNV-1a, 32 bits, over UTF-8 (as mock/README.md documents it). */
function fnv1a(text) {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash;
}
const draw = (seed, service, nth, salt) => fnv1a(`${seed}:${service}:${nth}:${salt}`) / 2 ** 32;

/** Where a kind applies (decline and reject: one endpoint each). */
function applies(kind, { service, method, path }) {
  if (kind === 'decline') return service === 'payment' && method === 'POST' && path === '/authorizations';
  if (kind === 'reject') return service === 'fraud' && method === 'POST' && path === '/checks';
  return true;
}

/** The fault the README says request `nth` gets (in its logged form), or null. */
function expectedFault(chaos, { service, nth, method, path }) {
  if (!(draw(chaos.seed, service, nth, 'fault') < chaos.rate)) return null;
  const kinds = ALL_KINDS.filter((k) => chaos.kinds[k] !== undefined && applies(k, { service, method, path }));
  if (kinds.length === 0) return null;
  const x = draw(chaos.seed, service, nth, 'kind') * kinds.reduce((sum, k) => sum + chaos.kinds[k], 0);
  let upTo = 0;
  const kind = kinds.find((k) => x < (upTo += chaos.kinds[k]));
  return {
    429: { status: 429 }, 500: { status: 500 }, 503: { status: 503, retryAfter: chaos.retryAfter },
    'slow-body': { type: 'slow-body', ms: chaos.slowBodyMs },
  }[kind] ?? kind;
}

/** A request that may fail at the network level (reset, reset-mid-body, lose-reply): its reply, or 'network error'. */
async function attempt(url, init) {
  try {
    return await call(url, init);
  } catch (err) {
    assert.equal(err.name, 'TypeError', String(err));
    return 'network error';
  }
}

// ------------------------------------------------------------------

describe('the draw', () => {
  test('the hash is FNV-1a 32 (reference values), and the test\'s copy agrees with the mock\'s', () => {
    for (const [text, hash] of [['', 0x811c9dc5], ['a', 0xe40c292c], ['foobar', 0xbf9cf968]]) {
      assert.equal(fnv1a(text), hash, text);
      assert.equal(fnv1a32(text), hash, text);
    }
    assert.equal(fnv1a32('7:payment:12:kind'), fnv1a('7:payment:12:kind'));
  });

  test('the faults in the log are the ones the documented function picks, per (seed, service, nth)', async () => {
    const s = sid('draw');
    // Every kind but hang (it would wait for the client to give up); a short slow body.
    const kinds = Object.fromEntries(ALL_KINDS.filter((k) => k !== 'hang').map((k, i) => [k, 1 + (i % 3)]));
    const chaos = { rate: 0.5, seed: 8, kinds, retryAfter: 2, slowBodyMs: 5 };
    await configure(s, { chaos });
    const requests = [
      ['payment', 'POST', '/authorizations', PAYMENT],
      ['payment', 'GET', '/authorizations/auth-1'],
      ['fraud', 'POST', '/checks', CHECK],
      ['cart', 'GET', '/carts/k1'],
    ];
    const expected = [];
    const count = {};
    for (let round = 0; round < 20; round++) {
      for (const [service, method, path, body] of requests) {
        count[service] = (count[service] ?? 0) + 1;
        expected.push([service, count[service], expectedFault(chaos, { service, nth: count[service], method, path })]);
        await attempt(`${at(service, s)}${path}`, { method, body });
      }
    }
    const log = await logOf(s);
    assert.deepEqual(log.map((e) => [e.service, e.nth, e.fault ?? null]), expected);
    for (const e of log) assert.equal(e.chaos, e.fault === undefined ? undefined : true, `${e.service} #${e.nth}`);
    // Not vacuous: this seed picks every kind given, and no fault, somewhere; decline never lands on the GET.
    const picked = new Set(expected.map(([, , f]) => (f === null ? 'none' : f.type ?? String(f.status ?? f))));
    assert.deepEqual([...picked].sort(), ['none', ...Object.keys(kinds)].sort());
    assert.ok(log.every((e) => e.fault !== 'decline' || (e.method === 'POST' && e.path === '/authorizations')));
  });

  test('the same seed and arrival order give the same faults; another seed gives others', async () => {
    const run = async (seed) => {
      const s = sid(`seed-${seed}`);
      await configure(s, { chaos: { rate: 0.3, seed, kinds: { 500: 1, 503: 1, 429: 1 } } });
      for (let i = 0; i < 20; i++) await call(`${at('customer', s)}/customers/c1`);
      return (await logOf(s)).map((e) => e.status);
    };
    const a = await run(3);
    assert.deepEqual(await run(3), a);
    assert.notDeepEqual(await run(4), a);
    assert.ok(a.includes(200) && a.some((status) => status !== 200), JSON.stringify(a));
  });
});

describe('rate and kinds', () => {
  test('rate 0 faults nothing', async () => {
    const s = sid('rate0');
    await configure(s, { chaos: { rate: 0 } });
    for (let i = 0; i < 10; i++) {
      assert.equal((await call(`${at('cart', s)}/carts/k1`)).status, 200);
      assert.equal((await post(`${at('payment', s)}/authorizations`, PAYMENT)).status, 201);
    }
    const log = await logOf(s);
    assert.equal(log.length, 20);
    assert.ok(log.every((e) => e.fault === undefined && e.chaos === undefined));
  });

  test('rate 1 faults every domain request', async () => {
    const s = sid('rate1');
    const kinds = Object.fromEntries(ALL_KINDS.filter((k) => k !== 'hang').map((k) => [k, 1]));
    await configure(s, { chaos: { rate: 1, kinds, slowBodyMs: 0 } });
    for (let i = 0; i < 10; i++) {
      await attempt(`${at('tax', s)}/quotes`, { method: 'POST', body: { amount: 1, address: {} } });
      await attempt(`${at('fraud', s)}/checks`, { method: 'POST', body: CHECK });
      await attempt(`${at('customer', s)}/nowhere`); // unknown paths of a service count too
    }
    const log = await logOf(s);
    assert.equal(log.length, 30);
    for (const e of log) assert.deepEqual([e.chaos, e.fault !== undefined], [true, true], JSON.stringify(e));
  });

  test('kinds and their weights are respected; 503 carries Retry-After, 429 none', async () => {
    const s = sid('kinds');
    const chaos = { rate: 1, seed: 11, kinds: { 429: 3, 503: 1 }, retryAfter: 4 };
    await configure(s, { chaos });
    const seen = [];
    for (let i = 0; i < 30; i++) {
      const r = await call(`${at('cart', s)}/carts/k1`);
      seen.push([r.status, r.headers.get('retry-after')]);
    }
    const expected = Array.from({ length: 30 }, (_, i) => expectedFault({ slowBodyMs: 1000, ...chaos }, { service: 'cart', nth: i + 1 }));
    assert.deepEqual(seen, expected.map((f) => [f.status, f.status === 503 ? '4' : null]));
    const n429 = seen.filter(([status]) => status === 429).length;
    assert.ok(n429 > 15 && n429 < 30, `weights 3:1 gave ${n429} of 30 as 429`);
    assert.deepEqual((await logOf(s)).map((e) => e.fault), expected);
  });

  test('decline only on POST /authorizations, reject only on POST /checks; elsewhere no fault', async () => {
    const s = sid('only');
    await configure(s, { chaos: { rate: 1, kinds: { decline: 1, reject: 1 } } });
    const declined = await post(`${at('payment', s)}/authorizations`, PAYMENT);
    assert.deepEqual([declined.status, declined.json], [200, { authorizationId: 'auth-1', status: 'declined' }]);
    assert.equal((await call(`${at('payment', s)}/authorizations/auth-1`)).status, 200);
    assert.equal((await post(`${at('payment', s)}/authorizations/auth-1/void`, undefined)).status, 200);
    assert.equal((await post(`${at('fraud', s)}/checks`, CHECK)).json.decision, 'reject');
    assert.equal((await call(`${at('cart', s)}/carts/k1`)).status, 200);
    assert.equal((await post(`${at('payment', s)}/authorizations`, { ...PAYMENT, amount: 'x' })).status, 400, 'still validates');
    const log = await logOf(s);
    assert.deepEqual(log.map((e) => [e.service, e.method, e.path, e.fault ?? null, e.chaos ?? false]), [
      ['payment', 'POST', '/authorizations', 'decline', true],
      ['payment', 'GET', '/authorizations/auth-1', null, false],
      ['payment', 'POST', '/authorizations/auth-1/void', null, false],
      ['fraud', 'POST', '/checks', 'reject', true],
      ['cart', 'GET', '/carts/k1', null, false],
      ['payment', 'POST', '/authorizations', null, false],
    ]);
  });

  test('hang and slow-body are applied as the explicit faults are', async () => {
    const s = sid('hang');
    await configure(s, { chaos: { rate: 1, kinds: { hang: 1 } } });
    const ac = new AbortController();
    const aborted = nextEvent('abort', (e) => e.scenario === s);
    const pending = fetch(`${at('shipping', s)}/quotes`, { method: 'POST', body: '{}', signal: ac.signal });
    const [hung] = await logUntil(s, (log) => log[0]?.fault === 'hang');
    assert.deepEqual([hung.chaos, hung.status], [true, null]);
    ac.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    assert.equal((await aborted).aborted, true);

    const slow = sid('slow');
    await configure(slow, { chaos: { rate: 1, kinds: { 'slow-body': 1 }, slowBodyMs: 40 } });
    const started = performance.now();
    const r = await call(`${at('pricing', slow)}/quotes`, { method: 'POST', body: {} });
    assert.deepEqual([r.status, r.json.fault], [200, 'slow-body']);
    assert.ok(performance.now() - started >= 40);
    const [e] = await logOf(slow);
    assert.deepEqual([e.fault, e.chaos], [{ type: 'slow-body', ms: 40 }, true]);
    // The reply is complete at endedAt, its last piece, not at repliedAt, its headers.
    assert.ok(e.endedAt - e.repliedAt >= 40 * 0.9, `endedAt ${e.endedAt}, repliedAt ${e.repliedAt}`);
  });

  test('lose-reply: the action runs and its reply is lost; the retry with the key gets it replayed', async () => {
    const s = sid('lose');
    await configure(s, { chaos: { rate: 1, kinds: { 'lose-reply': 1 } } });
    const headers = { 'Idempotency-Key': 'k-lose' };
    assert.equal(await attempt(`${at('payment', s)}/authorizations`, { method: 'POST', body: PAYMENT, headers }), 'network error');
    await configure(s, { chaos: { rate: 0 } }); // keeps the scenario's state and idempotency records
    const retry = await post(`${at('payment', s)}/authorizations`, PAYMENT, headers);
    assert.deepEqual([retry.status, retry.json.authorizationId, retry.headers.get('idempotent-replayed')], [201, 'auth-1', 'true']);
    const [lost, replayed] = await logOf(s);
    assert.deepEqual([lost.fault, lost.chaos, lost.reset, lost.reply.status, lost.effect], ['lose-reply', true, true, 201, { created: 'auth-1' }]);
    assert.deepEqual([replayed.replayed, replayed.effect, replayed.chaos], [true, undefined, undefined]);
  });
});

describe('what chaos leaves alone', () => {
  test('an explicit fault that selects the request wins; chaos takes the others', async () => {
    const s = sid('explicit');
    await configure(s, { faults: { cart: { status: 502, times: 2 } }, chaos: { rate: 1, kinds: { 500: 1 } } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(`${at('cart', s)}/carts/k1`)).status);
    assert.deepEqual(statuses, [502, 502, 500, 500]);
    assert.deepEqual((await logOf(s)).map((e) => [e.nth, e.fault, e.chaos]), [
      [1, { status: 502, times: 2 }, undefined], [2, { status: 502, times: 2 }, undefined],
      [3, { status: 500 }, true], [4, { status: 500 }, true],
    ]);
  });

  test('lab endpoints and CORS preflights are never faulted nor counted', async () => {
    const s = sid('lab');
    await configure(s, { chaos: { rate: 1, kinds: { 500: 1 } } });
    assert.equal((await call(`${at('tax', s)}/lab/echo`)).status, 200);
    assert.equal((await call(`${at('gateway', s)}/lab/items?n=1`)).status, 200);
    const pre = await call(`${at('tax', s)}/quotes`, { method: 'OPTIONS', headers: { 'Access-Control-Request-Method': 'POST' } });
    assert.equal(pre.status, 204);
    assert.equal((await post(`${at('tax', s)}/quotes`, {})).status, 500);
    assert.deepEqual((await logOf(s)).map((e) => [e.path, e.nth, e.status, e.chaos ?? false]), [
      ['/lab/echo', null, 200, false], ['/lab/items', null, 200, false], ['/quotes', 1, 500, true],
    ]);
  });
});

describe('chaos config', () => {
  test('defaults are filled in and read back; kinds in pick order; null or absent is off', async () => {
    const s = sid('cfg');
    const every = Object.fromEntries(ALL_KINDS.map((k) => [k, 1]));
    const cfg = await configure(s, { chaos: { rate: 0.25 } });
    assert.deepEqual(cfg.chaos, { rate: 0.25, seed: 1, kinds: every, retryAfter: 1, slowBodyMs: 1000 });
    assert.deepEqual((await call(`${h.mock.adminUrl}/scenarios/${s}`)).json.chaos, cfg.chaos);
    assert.deepEqual(Object.keys(cfg.chaos.kinds), ALL_KINDS);
    const some = await configure(s, { chaos: { rate: 1, seed: 0, kinds: { reject: 2, '500': 0.5, reset: 1 }, retryAfter: 0, slowBodyMs: 10 } });
    assert.deepEqual(Object.entries(some.chaos.kinds), [['500', 0.5], ['reset', 1], ['reject', 2]]);
    assert.deepEqual([some.chaos.seed, some.chaos.retryAfter, some.chaos.slowBodyMs], [0, 0, 10]);
    assert.equal('chaos' in (await configure(s, { chaos: null })), false);
    assert.equal('chaos' in (await configure(s, {})), false);
  });

  test('invalid chaos gets a 400 naming the field', async () => {
    const s = sid('cfg-bad');
    const cases = [
      [{ rate: 1.5 }, 'chaos.rate must be a number from 0 to 1'],
      [{ rate: -0.1 }, 'chaos.rate must be a number from 0 to 1'],
      [{ rate: '0.5' }, 'chaos.rate must be a number from 0 to 1'],
      [{}, 'chaos.rate must be a number from 0 to 1'],
      [{ rate: 0.1, seed: -1 }, 'chaos.seed must be a non-negative safe integer'],
      [{ rate: 0.1, seed: 1.5 }, 'chaos.seed must be a non-negative safe integer'],
      [{ rate: 0.1, seed: 2 ** 53 }, 'chaos.seed must be a non-negative safe integer'],
      [{ rate: 0.1, kinds: {} }, 'chaos.kinds must be a non-empty object {<kind>: weight}'],
      [{ rate: 0.1, kinds: ['500'] }, 'chaos.kinds must be a non-empty object {<kind>: weight}'],
      [{ rate: 0.1, kinds: { 502: 1 } }, `chaos.kinds: unknown kind "502" (known: ${ALL_KINDS.join(', ')})`],
      [{ rate: 0.1, kinds: { reset: 0 } }, 'chaos.kinds.reset must be a positive number (a weight)'],
      [{ rate: 0.1, kinds: { reset: '1' } }, 'chaos.kinds.reset must be a positive number (a weight)'],
      [{ rate: 0.1, retryAfter: 1.5 }, 'chaos.retryAfter must be a non-negative integer (seconds)'],
      [{ rate: 0.1, slowBodyMs: -1 }, 'chaos.slowBodyMs must be a number of milliseconds between 0 and 600000'],
      [{ rate: 0.1, times: 2 }, 'chaos: unknown key "times" (allowed: rate, seed, kinds, retryAfter, slowBodyMs)'],
      [0.1, 'chaos must be an object {rate, seed?, kinds?, retryAfter?, slowBodyMs?}'],
    ];
    for (const [chaos, message] of cases) {
      const r = await put(s, { chaos });
      assert.deepEqual([r.status, r.json.error], [400, message], JSON.stringify(chaos));
    }
  });

  test('startServices({chaos}) configures the default scenario', async () => {
    const m = await startServices({ port: 0, chaos: { rate: 1, kinds: { 503: 1 } } });
    try {
      const res = await fetch(`${m.services.cart}/carts/k1`);
      assert.deepEqual([res.status, res.headers.get('retry-after')], [503, '1']);
      await assert.rejects(startServices({ port: 0, chaos: { rate: 2 } }), /startServices: chaos\.rate must be a number from 0 to 1/);
    } finally {
      await m.close();
    }
  });
});
