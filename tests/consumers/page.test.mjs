// Consumer: a page without a bundler (tests/consumers/page/) preloads the .wasm, imports the
// packed package's web build by URL from node_modules/, calls init() and places an order in
// headless Chromium, under the project's strict CSP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startStaticServer } from '../../scripts/serve.mjs';
import { launchBrowser, watchPage, expectedOrder } from '../e2e/helpers.mjs';
import { installConsumer, mockConfig, resetScenario, storedOrders } from './helpers.mjs';

let web;
let browser;
let config;

before(async () => {
  const dir = installConsumer('page');
  config = await mockConfig();
  web = await startStaticServer({
    port: 0,
    wwwDir: dir,
    pkgDir: dir,
    config,
    extraMounts: [{ prefix: '/node_modules/', root: join(dir, 'node_modules') }],
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await web?.close();
});

test('a page imports the web build by URL, calls init() and places an order', async () => {
  const scenario = 'consumer-page';
  await resetScenario(scenario);
  const page = await browser.newPage();
  const seen = await watchPage(page);
  const wasm = [];
  page.on('response', (r) => r.url().endsWith('.wasm') && wasm.push([new URL(r.url()).pathname, r.headers()['content-type']]));
  await page.goto(new URL(`index.html?scenario=${scenario}`, web.url).href);
  await page.waitForSelector('#status[data-state="ok"], #status[data-state="error"]', { timeout: 15000 });
  const { total } = expectedOrder({ customerId: 'c-42' });
  assert.equal(await page.locator('#status').textContent(), `Order ord-1: ${(total / 100).toFixed(2)} USD`);
  // One request for the .wasm: the page's preload, which init()'s fetch takes over.
  assert.deepEqual(wasm, [['/node_modules/parallel-composer/web/parallel_composer_bg.wasm', 'application/wasm']]);
  assert.deepEqual((await storedOrders(config, scenario)).map((o) => o.total), [total]);
  assert.deepEqual(seen.pageErrors, []);
  assert.deepEqual(seen.consoleErrors, []);
  assert.deepEqual(seen.consoleWarnings, [], 'no "preloaded but not used" warning either');
  assert.deepEqual(seen.cspViolations, []);
  await page.close();
});
