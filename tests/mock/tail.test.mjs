// The long tail of latency (a share of requests waits `factor` times its latency): node --test tests/mock/
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startServices } from '../../mock/services.mjs';
import { useMock } from './helpers.mjs';

const CLI = fileURLToPath(new URL('../../mock/cli.mjs', import.meta.url));
const SERVICES = 'customer, cart, inventory, pricing, shipping, fraud, tax, payment, order, notification';

const h = useMock();
const { sid, at, call, post, configure, put, logOf } = h;

/** The documented seeded draw: FNV-1a 32 of "seed:service:nth:tail" over 2^32. */
function draw(seed, service, nth) {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(`${seed}:${service}:${nth}:tail`)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash / 2 ** 32;
}

/** `n` GETs of one customer, `batch` at a time; resolves with the scenario's log. */
async function customers(s, n, batch = 20) {
  for (let i = 0; i < n; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => call(`${at('customer', s)}/customers/c1`)));
  }
  return logOf(s);
}

const tailed = (log) => log.filter((e) => e.tail === true);

describe('the draw', () => {
  test('with a seed, the requests in the tail are the ones the documented draw picks: 5% of 400', async () => {
    const s = sid('share');
    const tail = { share: 0.05, factor: 10, seed: 3 };
    await configure(s, { defaultTail: tail });
    const log = await customers(s, 400);
    assert.equal(log.length, 400);
    assert.deepEqual(log.map((e) => e.nth).sort((a, b) => a - b), Array.from({ length: 400 }, (_, i) => i + 1));
    for (const e of log) {
      assert.equal(e.tail ?? false, draw(3, 'customer', e.nth) < 0.05, `request ${e.nth}`);
      assert.equal(e.wait, 0, 'latency 0 stays 0 in the tail');
      assert.equal(e.status, 200);
    }
    const count = tailed(log).length;
    assert.ok(count >= 10 && count <= 32, `${count} of 400 in the tail, for a share of 5%`);
  });

  test('the same seed and arrival order slow the same requests; a PUT starts the count again', async () => {
    const s = sid('again');
    const config = { defaultTail: { share: 0.3, factor: 2, seed: 11 } };
    await configure(s, config);
    const first = tailed(await customers(s, 60)).map((e) => e.nth);
    await configure(s, config);
    await call(`${h.mock.adminUrl}/log?scenario=${s}`, { method: 'DELETE' });
    const second = tailed(await customers(s, 60)).map((e) => e.nth);
    assert.ok(first.length > 0);
    assert.deepEqual(second.sort((a, b) => a - b), first.sort((a, b) => a - b));
  });

  test('without a seed the draw is random: about the share, and two runs differ', async () => {
    const s = sid('random');
    await configure(s, { defaultTail: { share: 0.5, factor: 2 } });
    const one = (await customers(s, 200)).map((e) => [e.nth, e.tail ?? false]).sort(([a], [b]) => a - b);
    const count = one.filter(([, t]) => t).length;
    assert.ok(count >= 60 && count <= 140, `${count} of 200 in the tail, for a share of 50%`);
    await configure(s, { defaultTail: { share: 0.5, factor: 2 } });
    await call(`${h.mock.adminUrl}/log?scenario=${s}`, { method: 'DELETE' });
    const two = (await customers(s, 200)).map((e) => [e.nth, e.tail ?? false]).sort(([a], [b]) => a - b);
    assert.notDeepEqual(two, one);
  });

  test('two identical GETs in flight together draw each their own (a hedge usually escapes the tail)', async () => {
    for (const seed of [5, undefined]) {
      const s = sid('hedge');
      await configure(s, { defaultLatency: 10, defaultTail: { share: 0.5, factor: 3, seed } });
      const url = `${at('cart', s)}/carts/k1`;
      for (let i = 0; i < 20; i++) await Promise.all([call(url), call(url)]);
      const log = await logOf(s);
      const pairs = Array.from({ length: 20 }, (_, i) => [log[2 * i], log[2 * i + 1]]);
      for (const [a, b] of pairs) {
        assert.ok(b.arrivedAt < a.repliedAt && a.arrivedAt < b.repliedAt, 'the two were in flight together');
        assert.notEqual(a.nth, b.nth);
        if (seed !== undefined) {
          for (const e of [a, b]) assert.equal(e.tail ?? false, draw(seed, 'cart', e.nth) < 0.5, `request ${e.nth}`);
        }
      }
      const split = pairs.filter(([a, b]) => (a.tail ?? false) !== (b.tail ?? false)).length;
      assert.ok(split > 0, `seed ${seed}: in some pair one copy is slowed and the other not`);
    }
  });
});

describe('the exact spread', () => {
  /** The documented exact spread: request nth is slow when floor(nth × share + phase) steps up. */
  const exact = (share, phase, nth) => Math.floor(nth * share + phase) > Math.floor((nth - 1) * share + phase);
  /** The slow request numbers of a log, sorted. */
  const slowNths = (log) => tailed(log).map((e) => e.nth).sort((a, b) => a - b);
  /** How many of the numbers nth in [from, from + n) are in `slow`. */
  const within = (slow, from, n) => slow.filter((nth) => nth >= from && nth < from + n).length;

  test('exactly one request in every 20 for a share of 5%, wherever the window starts, seeded or not', async () => {
    for (const seed of [3, undefined]) {
      const s = sid('exact');
      await configure(s, { defaultTail: { share: 0.05, factor: 10, seed, spread: 'exact' } });
      const log = await customers(s, 400);
      assert.deepEqual(log.map((e) => e.nth).sort((a, b) => a - b), Array.from({ length: 400 }, (_, i) => i + 1));
      const slow = slowNths(log);
      assert.equal(slow.length, 20, `seed ${seed}`);
      for (let from = 1; from + 20 <= 401; from++) assert.equal(within(slow, from, 20), 1, `seed ${seed}: requests ${from}..${from + 19}`);
      for (const e of log) assert.equal(e.wait, 0, 'latency 0 stays 0 in the tail');
    }
  });

  test('a share whose inverse is no whole number: any n requests in a row hold floor or ceil of n × share', async () => {
    const s = sid('exact-third');
    await configure(s, { defaultTail: { share: 0.3, factor: 2, spread: 'exact' } });
    const slow = slowNths(await customers(s, 100));
    assert.equal(slow.length, 30);
    for (let n = 1; n <= 100; n++) {
      for (let from = 1; from + n <= 101; from++) {
        const count = within(slow, from, n);
        assert.ok(count === Math.floor(n * 0.3) || count === Math.ceil(n * 0.3), `${count} slow in requests ${from}..${from + n - 1}`);
      }
    }
  });

  test('with a seed, the slow requests are the documented ones, per service, and the same again after a PUT', async () => {
    const s = sid('exact-seed');
    const config = { defaultTail: { share: 0.1, factor: 3, seed: 7, spread: 'exact' } };
    const run = async () => {
      await configure(s, config);
      await call(`${h.mock.adminUrl}/log?scenario=${s}`, { method: 'DELETE' });
      for (let i = 0; i < 30; i++) await Promise.all([call(`${at('customer', s)}/customers/c1`), call(`${at('cart', s)}/carts/k1`)]);
      return logOf(s);
    };
    const first = await run();
    for (const service of ['customer', 'cart']) {
      // The phase: FNV-1a 32 of "seed:service:phase:tail" over 2^32.
      const phase = draw(7, service, 'phase');
      const mine = first.filter((e) => e.service === service);
      assert.equal(mine.length, 30);
      for (const e of mine) assert.equal(e.tail ?? false, exact(0.1, phase, e.nth), `${service} request ${e.nth}`);
      assert.equal(tailed(mine).length, 3);
    }
    const second = await run();
    const bySvc = (log) => ['customer', 'cart'].map((svc) => slowNths(log.filter((e) => e.service === svc)));
    assert.deepEqual(bySvc(second), bySvc(first));
  });

  test('without a seed, each PUT draws the phase again', async () => {
    const s = sid('exact-random');
    const firsts = [];
    for (let i = 0; i < 5; i++) {
      await configure(s, { defaultTail: { share: 0.05, factor: 2, spread: 'exact' } });
      await call(`${h.mock.adminUrl}/log?scenario=${s}`, { method: 'DELETE' });
      const slow = slowNths(await customers(s, 20));
      assert.equal(slow.length, 1);
      firsts.push(slow[0]);
    }
    assert.ok(new Set(firsts).size > 1, `the slow one of 20 was request ${firsts[0]} after each of 5 PUTs`);
  });

  test('a second copy in flight takes the next number: with a share up to a half, never both slow; slow ones wait factor × latency', async () => {
    const s = sid('exact-hedge');
    await configure(s, { defaultLatency: 2, defaultTail: { share: 0.5, factor: 3, seed: 1, spread: 'exact' } });
    const url = `${at('cart', s)}/carts/k1`;
    for (let i = 0; i < 20; i++) await Promise.all([call(url), call(url)]);
    const log = await logOf(s);
    const byNth = new Map(log.map((e) => [e.nth, e]));
    assert.equal(tailed(log).length, 20);
    for (let nth = 1; nth < 40; nth++) {
      assert.ok(!(byNth.get(nth).tail && byNth.get(nth + 1).tail), `requests ${nth} and ${nth + 1} both slow`);
    }
    for (const e of log) assert.equal(e.wait, e.tail ? 6 : 2, `request ${e.nth}`);
  });
});

describe('the wait', () => {
  test('a request in the tail waits factor × its latency, and is not answered before; the others their latency', async () => {
    const s = sid('wait');
    await configure(s, { latency: { tax: 4 }, tail: { tax: { share: 0.5, factor: 10, seed: 2 } } });
    for (let i = 0; i < 12; i++) await post(`${at('tax', s)}/quotes`, { amount: 100, address: {} });
    const log = await logOf(s);
    for (const e of log) {
      const slow = draw(2, 'tax', e.nth) < 0.5;
      assert.deepEqual([e.tail ?? false, e.wait, e.status], [slow, slow ? 40 : 4, 200], `request ${e.nth}`);
      assert.ok(e.repliedAt - e.arrivedAt >= e.wait, `replied after ${e.repliedAt - e.arrivedAt} ms, before its wait of ${e.wait}`);
    }
    assert.ok(tailed(log).length > 0 && tailed(log).length < 12, 'both kinds of request were seen');
  });

  test('jitter is multiplied too: the wait is factor × (latency + a draw in [0, jitter))', async () => {
    const s = sid('jitter');
    await configure(s, { defaultLatency: 2, defaultJitter: 3, defaultTail: { share: 1, factor: 5 } });
    const log = await customers(s, 10, 10);
    for (const e of log) {
      assert.equal(e.tail, true);
      assert.ok(e.wait >= 10 && e.wait < 25, `wait ${e.wait}`);
    }
  });

  test('tail[service] wins over defaultTail; a delay fault is added, not multiplied; faults still apply', async () => {
    const s = sid('per-service');
    await configure(s, {
      defaultLatency: 5,
      defaultTail: { share: 1, factor: 3 },
      tail: { cart: { share: 0, factor: 1 } },
      faults: { tax: { type: 'delay', ms: 7 }, fraud: { status: 503 } },
    });
    await call(`${at('customer', s)}/customers/c1`);
    await call(`${at('cart', s)}/carts/k1`);
    await post(`${at('tax', s)}/quotes`, { amount: 100, address: {} });
    const fraud = await post(`${at('fraud', s)}/checks`, {});
    assert.equal(fraud.status, 503);
    const by = Object.fromEntries((await logOf(s)).map((e) => [e.service, e]));
    assert.deepEqual([by.customer.tail, by.customer.wait], [true, 15]);
    assert.deepEqual(['tail' in by.cart, by.cart.wait], [false, 5]);
    assert.deepEqual([by.tax.tail, by.tax.wait, by.tax.fault], [true, 22, { type: 'delay', ms: 7 }]);
    assert.deepEqual([by.fraud.tail, by.fraud.wait, by.fraud.status], [true, 15, 503]);
  });

  test('lab endpoints and CORS preflights get no tail', async () => {
    const s = sid('lab');
    await configure(s, { defaultLatency: 40, defaultTail: { share: 1, factor: 1000 } });
    const started = performance.now();
    const pre = await call(`${at('customer', s)}/customers/c1`, { method: 'OPTIONS', headers: { 'Access-Control-Request-Method': 'GET' } });
    assert.equal(pre.status, 204);
    assert.ok(performance.now() - started < 2000, 'a preflight waits for no latency, tail or not');
    assert.equal((await call(`${at('customer', s)}/lab/echo`)).status, 200);
    assert.deepEqual((await logOf(s)).map((e) => [e.path, e.nth, e.wait, 'tail' in e]), [['/lab/echo', null, 0, false]]);
  });
});

describe('config', () => {
  test('read back as given; absent when off; null turns defaultTail off; DELETE resets', async () => {
    const s = sid('cfg');
    const never = (await call(`${h.mock.adminUrl}/scenarios/${s}`)).json;
    assert.equal('tail' in never || 'defaultTail' in never, false);
    const cfg = await configure(s, {
      defaultTail: { share: 0.05, factor: 10 },
      tail: { fraud: { share: 0.5, factor: 2.5, seed: 0 }, cart: { share: 0.05, factor: 10, spread: 'exact' }, tax: { share: 0.1, factor: 2, spread: 'random' } },
    });
    assert.deepEqual([cfg.defaultTail, cfg.tail], [{ share: 0.05, factor: 10 }, {
      fraud: { share: 0.5, factor: 2.5, seed: 0 }, cart: { share: 0.05, factor: 10, spread: 'exact' }, tax: { share: 0.1, factor: 2, spread: 'random' },
    }]);
    assert.deepEqual((await call(`${h.mock.adminUrl}/scenarios/${s}`)).json, cfg);
    const off = await configure(s, { defaultTail: null, tail: {} });
    assert.equal('tail' in off || 'defaultTail' in off, false);
    await configure(s, { defaultTail: { share: 1, factor: 2 } });
    const reset = (await call(`${h.mock.adminUrl}/scenarios/${s}`, { method: 'DELETE' })).json;
    assert.deepEqual(reset, { latency: {}, defaultLatency: 0, jitter: {}, defaultJitter: 0, faults: {} });
  });

  test('an invalid tail gets a 400 naming the problem', async () => {
    const s = sid('bad');
    const SPREAD = (what) => `${what}.spread must be "random" or "exact" (each request drawn on its own, or exactly the share of every run of requests)`;
    const cases = [
      [{ defaultTail: { share: 1.5, factor: 2 } }, 'defaultTail.share must be a number from 0 to 1 (the share of requests slowed)'],
      [{ defaultTail: { share: '0.1', factor: 2 } }, 'defaultTail.share must be a number from 0 to 1 (the share of requests slowed)'],
      [{ defaultTail: { factor: 2 } }, 'defaultTail.share must be a number from 0 to 1 (the share of requests slowed)'],
      [{ defaultTail: { share: 0.1 } }, 'defaultTail.factor must be a number from 1 to 1000 (how many times the latency a slowed request waits)'],
      [{ defaultTail: { share: 0.1, factor: 0.5 } }, 'defaultTail.factor must be a number from 1 to 1000 (how many times the latency a slowed request waits)'],
      [{ tail: { fraud: { share: 0.1, factor: 1001 } } }, 'tail.fraud.factor must be a number from 1 to 1000 (how many times the latency a slowed request waits)'],
      [{ defaultTail: { share: 0.1, factor: 2, seed: -1 } }, 'defaultTail.seed must be a non-negative safe integer'],
      [{ defaultTail: { share: 0.1, factor: 2, seed: 1.5 } }, 'defaultTail.seed must be a non-negative safe integer'],
      [{ defaultTail: { share: 0.1, factor: 2, times: 3 } }, 'defaultTail: unknown key "times" (allowed: share, factor, seed, spread)'],
      [{ defaultTail: { share: 0.1, factor: 2, spread: 'even' } }, SPREAD('defaultTail')],
      [{ defaultTail: { share: 0.1, factor: 2, spread: null } }, SPREAD('defaultTail')],
      [{ tail: { cart: { share: 0.1, factor: 2, spread: 'Exact' } } }, SPREAD('tail.cart')],
      [{ defaultTail: 0.05 }, 'defaultTail must be an object {share, factor, seed?, spread?}'],
      [{ tail: { fraud: null } }, 'tail.fraud must be an object {share, factor, seed?, spread?}'],
      [{ tail: { bank: { share: 0.1, factor: 2 } } }, `tail: unknown service "bank" (known: ${SERVICES})`],
      [{ tail: { share: 0.1, factor: 2 } }, 'tail is {<service>: {share, factor, seed?, spread?}}; for every service give defaultTail: {share, factor, seed?, spread?}'],
      [{ tail: { spread: 'exact' } }, 'tail is {<service>: {share, factor, seed?, spread?}}; for every service give defaultTail: {share, factor, seed?, spread?}'],
      [{ tail: [] }, 'tail must be an object {<service>: {share, factor, seed?, spread?}}'],
    ];
    for (const [config, message] of cases) {
      const r = await put(s, config);
      assert.deepEqual([r.status, r.json.error], [400, message], JSON.stringify(config));
    }
  });

  test('startServices takes tail and defaultTail for the default scenario; a bare {share, factor} is the default', async () => {
    for (const [options, expected] of [
      [{ tail: { share: 0.05, factor: 10 } }, { defaultTail: { share: 0.05, factor: 10 } }],
      [{ tail: { fraud: { share: 0.2, factor: 3 } }, defaultTail: { share: 0.05, factor: 10, seed: 1 } },
        { tail: { fraud: { share: 0.2, factor: 3 } }, defaultTail: { share: 0.05, factor: 10, seed: 1 } }],
    ]) {
      const m = await startServices({ port: 0, ...options });
      try {
        const cfg = await (await fetch(`${m.adminUrl}/scenarios/default`)).json();
        assert.deepEqual({ tail: cfg.tail, defaultTail: cfg.defaultTail }, { tail: undefined, ...expected });
      } finally {
        await m.close();
      }
    }
    await assert.rejects(startServices({ port: 0, tail: { share: 2, factor: 10 } }), /startServices: defaultTail\.share must be a number from 0 to 1/);
  });
});

describe('CLI', () => {
  /** Run the CLI; resolves with its exit code and stderr once it exits (after SIGTERM if it started). */
  async function cli(args) {
    const child = spawn(process.execPath, [CLI, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
    const exited = once(child, 'exit');
    try {
      const started = await Promise.race([
        new Promise((resolve) => child.stdout.on('data', () => out.includes('\n') && resolve(true))),
        exited.then(() => false),
      ]);
      let config;
      if (started) {
        config = await (await fetch(`${JSON.parse(out.slice(0, out.indexOf('\n'))).adminUrl}/scenarios/default`)).json();
        child.kill('SIGTERM');
      }
      const [code] = await exited;
      return { code, err, config };
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }

  test('--tail SHARExFACTOR, --tail SERVICE=SHARExFACTOR and --tail-seed set the default scenario', async () => {
    const r = await cli(['--latency', '5', '--tail', '0.05x10', '--tail', 'fraud=0.5x2.5', '--tail-seed', '4']);
    assert.equal(r.code, 0);
    assert.deepEqual([r.config.defaultTail, r.config.tail], [{ share: 0.05, factor: 10, seed: 4 }, { fraud: { share: 0.5, factor: 2.5, seed: 4 } }]);
    assert.match(r.err, /tail 0\.05x10 fraud=0\.5x2\.5 seed 4;/);
    const unseeded = await cli(['--tail', 'payment=1x3']);
    assert.deepEqual([unseeded.config.defaultTail, unseeded.config.tail], [undefined, { payment: { share: 1, factor: 3 } }]);
    assert.doesNotMatch(unseeded.err, /spread/);
  });

  test('--tail-spread exact gives every --tail that spread', async () => {
    const r = await cli(['--tail', '0.05x10', '--tail', 'cart=0.2x3', '--tail-spread', 'exact', '--tail-seed', '9']);
    assert.equal(r.code, 0);
    assert.deepEqual([r.config.defaultTail, r.config.tail],
      [{ share: 0.05, factor: 10, seed: 9, spread: 'exact' }, { cart: { share: 0.2, factor: 3, seed: 9, spread: 'exact' } }]);
    assert.match(r.err, /tail 0\.05x10 cart=0\.2x3 seed 9 spread exact;/);
  });

  test('a bad --tail, --tail-seed or --tail-spread exits with code 2 and says why', async () => {
    for (const [args, message] of [
      [['--tail', '0.05'], '--tail: expected SHARExFACTOR with a share from 0 to 1 and a factor, e.g. 0.05x10, got "0.05"'],
      [['--tail', '5x10'], '--tail: expected SHARExFACTOR with a share from 0 to 1 and a factor, e.g. 0.05x10, got "5x10"'],
      [['--tail', '0.05x0.5'], '--tail: the factor must be from 1 to 1000, got "0.5"'],
      [['--tail', 'bank=0.05x10'], '--tail: unknown service "bank"'],
      [['--tail', 'fraud=0.05'], '--tail fraud: expected SHARExFACTOR with a share from 0 to 1 and a factor, e.g. 0.05x10, got "0.05"'],
      [['--tail', '0.05x10', '--tail-seed', 'x'], '--tail-seed: expected a non-negative integer, got "x"'],
      [['--tail-seed', '3'], '--tail-seed goes with --tail SHARExFACTOR'],
      [['--tail', '0.05x10', '--tail-spread', 'even'], '--tail-spread: expected random or exact, got "even"'],
      [['--tail-spread', 'exact'], '--tail-spread goes with --tail SHARExFACTOR'],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.err.split('\n')[0], `mock: ${message}`);
    }
  });
});
