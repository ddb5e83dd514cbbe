// Consumer: a minimal Vite app (tests/consumers/vite/) with the packed tarball installed,
// built with `vite build`, served with the project's static server (strict CSP) and used in
// headless Chromium like a person would: fill in the checkout form, press the button, read
// the result. index.html uses the package's default (web) build with init();
// bundler.html uses parallel-composer/bundler through vite-plugin-wasm.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startStaticServer } from '../../scripts/serve.mjs';
import { launchBrowser, watchPage, expectedOrder } from '../e2e/helpers.mjs';
import { installConsumer, runScript, mockConfig, resetScenario, storedOrders, scenarioLog } from './helpers.mjs';

let dist;
let web;
let browser;
let config;

before(async () => {
  const dir = installConsumer('vite');
  dist = join(dir, 'dist');
  rmSync(dist, { recursive: true, force: true });
  runScript(dir, 'build');
  config = await mockConfig();
  web = await startStaticServer({ port: 0, wwwDir: dist, pkgDir: dist, config });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await web?.close();
});

test('vite build emits the .wasm as an asset of the app', () => {
  const assets = readdirSync(join(dist, 'assets'));
  assert.ok(existsSync(join(dist, 'index.html')) && existsSync(join(dist, 'bundler.html')));
  assert.equal(assets.filter((f) => f.endsWith('.wasm')).length, 1, `assets: ${assets}`);
});

/** Opens a page of the app in a scenario, places an order through the form, returns what it shows. */
async function placeOrder(pageName, scenario, fields) {
  await resetScenario(scenario);
  const page = await browser.newPage();
  const seen = await watchPage(page);
  try {
    const response = await page.goto(new URL(`${pageName}?scenario=${scenario}`, web.url).href);
    assert.match(response.headers()['content-security-policy'] ?? '', /script-src 'self' 'wasm-unsafe-eval'/);
    await page.waitForSelector('#status[data-state="ready"]', { timeout: 15000 });
    for (const [name, value] of Object.entries(fields)) {
      await page.locator(`[name="${name}"]`).fill(value);
    }
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.waitForSelector('#status[data-state="ok"], #status[data-state="error"]', { timeout: 15000 });
    const shown = {
      state: await page.locator('#status').getAttribute('data-state'),
      status: await page.locator('#status').textContent(),
      calls: await page.locator('#calls li').allTextContents(),
    };
    assert.deepEqual(seen.pageErrors, [], 'uncaught exceptions');
    assert.deepEqual(seen.consoleErrors, [], 'console errors');
    assert.deepEqual(seen.cspViolations, [], 'CSP violations');
    return shown;
  } finally {
    await page.close();
  }
}

const ALL_OK = ['customer', 'cart', 'inventory', 'pricing', 'shipping', 'fraud', 'tax', 'payment', 'order', 'notification'].map((n) => `${n}: ok`);

for (const [pageName, build] of [['index.html', 'web build, init()'], ['bundler.html', 'bundler build, vite-plugin-wasm']]) {
  test(`the Vite app places an order with composeOrder in Chromium (${build})`, async () => {
    const scenario = `consumer-vite-${pageName.replace('.html', '')}`;
    const shown = await placeOrder(pageName, scenario, { customerId: 'c-gold-1' });
    const { total } = expectedOrder({ customerId: 'c-gold-1' }); // 8878 cents
    assert.equal(shown.status, `Order ord-1 confirmed: ${(total / 100).toFixed(2)} USD`);
    assert.deepEqual(shown.calls.sort(), [...ALL_OK].sort());
    const orders = await storedOrders(config, scenario);
    assert.deepEqual(orders.map((o) => [o.orderId, o.total, o.customerId]), [['ord-1', total, 'c-gold-1']]);
  });
}

test('the Vite app shows a declined card from the ComposeError, and the reservation was released', async () => {
  const scenario = 'consumer-vite-declined';
  const shown = await placeOrder('index.html', scenario, { paymentMethodId: 'pm_declined' });
  assert.equal(shown.state, 'error');
  assert.match(shown.status, /^PAYMENT_DECLINED at payment: /);
  assert.ok(shown.calls.includes('payment: failed'), shown.calls.join(', '));
  assert.ok(!shown.calls.includes('order: ok'));
  assert.deepEqual(await storedOrders(config, scenario), []);
  const released = (await scenarioLog(scenario)).filter((e) => e.service === 'inventory' && e.method === 'DELETE');
  assert.equal(released.length, 1, 'the reservation was released');
});
