// Consumer: a page whose module Web Worker imports the packed package (bundled by Vite from
// tests/consumers/worker/) and runs compose() there, in headless Chromium against the mock
// services. The page sends the plan, the worker posts the result back, the page shows it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startStaticServer } from '../../scripts/serve.mjs';
import { launchBrowser, watchPage } from '../e2e/helpers.mjs';
import { installConsumer, runScript, mockConfig, configureScenario, scenarioLog } from './helpers.mjs';

let dist;
let web;
let browser;

before(async () => {
  const dir = installConsumer('worker');
  dist = join(dir, 'dist');
  rmSync(dist, { recursive: true, force: true });
  runScript(dir, 'build');
  web = await startStaticServer({ port: 0, wwwDir: dist, pkgDir: dist, config: await mockConfig() });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await web?.close();
});

/** Runs the page's form in a scenario; returns the status line and what the worker posted. */
async function priceInWorker(scenario, fields) {
  // 50 ms per reply, so that calls in flight together are seen to overlap.
  await configureScenario(scenario, { defaultLatency: 50 });
  const page = await browser.newPage();
  const seen = await watchPage(page);
  const workers = [];
  page.on('worker', (worker) => workers.push(worker.url()));
  try {
    await page.goto(new URL(`index.html?scenario=${scenario}`, web.url).href);
    await page.waitForSelector('#status[data-state="ready"]', { timeout: 15000 });
    for (const [name, value] of Object.entries(fields)) await page.locator(`[name="${name}"]`).fill(value);
    await page.getByRole('button', { name: 'Price it' }).click();
    await page.waitForSelector('#status[data-state="ok"], #status[data-state="error"]', { timeout: 15000 });
    const shown = {
      status: await page.locator('#status').textContent(),
      posted: JSON.parse(await page.locator('#result').textContent()),
      workers,
    };
    assert.deepEqual(seen.pageErrors, [], 'uncaught exceptions');
    assert.deepEqual(seen.cspViolations, [], 'CSP violations');
    return { shown, consoleErrors: seen.consoleErrors };
  } finally {
    await page.close();
  }
}

test('a module worker runs compose() and posts the result back to the page', async () => {
  const { shown, consoleErrors } = await priceInWorker('consumer-worker-ok', { customerId: 'c-gold-1' });
  assert.deepEqual(consoleErrors, []);
  assert.equal(shown.workers.length, 1);
  assert.match(shown.workers[0], /\/assets\/worker-[\w-]+\.js$/);
  const { ok, inWorker, result } = shown.posted;
  assert.equal(ok, true);
  assert.equal(inWorker, true, 'compose() ran in a WorkerGlobalScope');
  // SKU-1 x2 at 19.99 and SKU-2 x1 at 45.00, less 10% for a gold customer.
  assert.deepEqual(result.data.pricing, { currency: 'USD', subtotal: 8498, discount: 850 });
  assert.equal(result.data.customer.tier, 'gold');
  assert.deepEqual(result.stages, [['customer', 'cart'], ['pricing']]);
  assert.equal(shown.status, 'Subtotal 84.98, discount 8.50');
  const { customer, cart, pricing } = result.calls;
  for (const [name, record] of Object.entries(result.calls)) assert.equal(record.state, 'ok', name);
  // From the worker too, customer and cart were in flight together, and pricing waited for both.
  assert.ok(cart.startMs < customer.endMs && customer.startMs < cart.endMs, JSON.stringify({ customer, cart }));
  assert.ok(pricing.startMs >= Math.max(customer.endMs, cart.endMs), JSON.stringify(result.calls));
  const log = await scenarioLog('consumer-worker-ok');
  const pricingRequest = log.find((e) => e.service === 'pricing');
  assert.deepEqual(pricingRequest.body, { items: [{ sku: 'SKU-1', quantity: 2 }, { sku: 'SKU-2', quantity: 1 }], tier: 'gold' });
});

test('a failure in the worker comes back with the ComposeError fields', async () => {
  const { shown, consoleErrors } = await priceInWorker('consumer-worker-missing', { customerId: 'missing-7' });
  // (Chromium logs the 404 in the worker's console, which is not the page's.)
  assert.deepEqual(consoleErrors, []);
  const { ok, inWorker, error } = shown.posted;
  assert.equal(ok, false);
  assert.equal(inWorker, true);
  assert.equal(error.name, 'ComposeError');
  assert.equal(error.code, 'HTTP_STATUS');
  assert.equal(error.call, 'customer');
  assert.equal(error.status, 404);
  assert.equal(error.calls.customer.state, 'failed');
  assert.equal(error.calls.pricing.state, 'skipped');
  assert.equal(shown.status, 'HTTP_STATUS at customer');
  assert.ok(!(await scenarioLog('consumer-worker-missing')).some((e) => e.service === 'pricing'), 'pricing was never sent');
});
