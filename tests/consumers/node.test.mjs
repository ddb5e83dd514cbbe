// Consumer: a backend-for-frontend on Node 20 (tests/consumers/node/), with the packed
// tarball installed, places orders against the running mock services. `import` and
// `require()` both resolve to the --target nodejs build through the package's "node" export.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { installConsumer, mockConfig, configureScenario, resetScenario, servicesIn, storedOrders, scenarioLog } from './helpers.mjs';
import { expectedOrder } from '../e2e/helpers.mjs';

const SERVICE_NAMES = ['customer', 'cart', 'inventory', 'pricing', 'shipping', 'fraud', 'tax', 'payment', 'order', 'notification'];
let dir;
let config;
let bff;

before(async () => {
  dir = installConsumer('node');
  config = await mockConfig();
});

after(async () => {
  if (bff && bff.exitCode === null) {
    bff.kill('SIGTERM');
    await once(bff, 'exit');
  }
});

/** Starts bff.mjs on the scenario's services; resolves to its URL. */
async function startBff(scenario) {
  bff = spawn(process.execPath, ['bff.mjs'], {
    cwd: dir,
    env: { ...process.env, PC_SERVICES: JSON.stringify(servicesIn(config, scenario)) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(bff, 'exit').then(([code]) => {
    throw new Error(`bff.mjs exited (${code}) before it listened`);
  });
  const listening = (async () => {
    for await (const line of createInterface({ input: bff.stdout })) return JSON.parse(line).url;
    throw new Error('bff.mjs closed its stdout');
  })();
  return Promise.race([listening, exited]);
}

async function checkout(url, body) {
  const response = await fetch(`${url}/api/checkout`, { method: 'POST', body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

test('a Node 20 backend-for-frontend places an order with composeOrder (ESM import)', async () => {
  const major = Number(process.versions.node.split('.')[0]);
  assert.ok(major >= 20, `Node ${process.versions.node}`);
  const scenario = 'consumer-node-bff';
  await configureScenario(scenario, { defaultLatency: 20 }); // calls in flight together visibly overlap
  const url = await startBff(scenario);

  const request = { customerId: 'c-gold-1', cartId: 'k1', paymentMethodId: 'pm_visa' };
  const first = await checkout(url, { checkoutId: 'chk-1', ...request });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const order = first.body;
  const expected = expectedOrder(request);
  assert.equal(order.total, expected.total); // 8498 - 850 + 599 + 631 = 8878
  assert.equal(order.tax, expected.tax);
  assert.equal(order.shipping.cost, expected.shipping);
  assert.equal(order.currency, 'USD');
  assert.equal(order.status, 'confirmed');
  assert.deepEqual(Object.keys(order.calls).sort(), [...SERVICE_NAMES].sort());
  for (const [name, record] of Object.entries(order.calls)) {
    assert.equal(record.state, 'ok', `call ${name}`);
    assert.equal(record.attempts, 1, `call ${name}`);
  }
  // Independent calls overlapped in Node too: customer and cart were both in flight at once.
  const { customer, cart } = order.calls;
  assert.ok(cart.startMs < customer.endMs && customer.startMs < cart.endMs, `customer ${JSON.stringify(customer)} cart ${JSON.stringify(cart)}`);

  // A resubmitted checkout (operationId) reuses the Idempotency-Keys: the same order, not a second one.
  const again = await checkout(url, { checkoutId: 'chk-1', ...request });
  assert.equal(again.status, 200);
  assert.equal(again.body.orderId, order.orderId);
  const orders = await storedOrders(config, scenario);
  assert.deepEqual(orders.map((o) => [o.orderId, o.total]), [[order.orderId, expected.total]]);
  const keys = (await scenarioLog(scenario)).filter((e) => e.service === 'order' && e.method === 'POST').map((e) => e.headers['idempotency-key']);
  assert.deepEqual(keys, ['chk-1:order', 'chk-1:order']);

  // A declined card: the BFF answers 402 with the ComposeError's fields, and the stock
  // reservation was released (its compensation ran).
  const declined = await checkout(url, { checkoutId: 'chk-2', ...request, paymentMethodId: 'pm_declined' });
  assert.equal(declined.status, 402);
  assert.equal(declined.body.code, 'PAYMENT_DECLINED');
  assert.equal(declined.body.call, 'payment');
  assert.deepEqual(declined.body.compensations.map((c) => [c.call, c.state]), [['inventory', 'ok']]);
  assert.equal((await storedOrders(config, scenario)).length, 1);
});

test('require() gets the same build, and works on Node 20 releases that cannot require() an ES module', async () => {
  // Node before 20.19 (and 22.12) has neither require(esm) nor module syntax detection;
  // these flags turn both off here, as there.
  const scenario = 'consumer-node-cjs';
  await resetScenario(scenario);
  const request = { customerId: 'c-7', cartId: 'k2', paymentMethodId: 'pm_visa', shippingOption: 'express' };
  const run = (services) => spawnSync(
    process.execPath,
    ['--no-experimental-require-module', '--no-experimental-detect-module', join(dir, 'order.cjs'), JSON.stringify(services), JSON.stringify(request)],
    { cwd: dir, encoding: 'utf8' },
  );
  const result = run(servicesIn(config, scenario));
  assert.equal(result.status, 0, result.stderr + result.stdout);
  const { stages, order } = JSON.parse(result.stdout);
  assert.deepEqual(stages, [['a'], ['b']]);
  assert.equal(order.total, expectedOrder(request).total);
  assert.equal(order.shipping.carrier, 'Swiftline');
  assert.ok(Object.values(order.calls).every((r) => r.state === 'ok'));
});
