// THE release smoke test: the release `--target web` package in pkg/ (wasm-opt'd) loads in
// headless Chromium on a page served by scripts/serve.mjs under the demo's strict CSP,
// init() succeeds (a broken wasm-opt fails right here, e.g. "WebAssembly.Table.set():
// Argument 1 is invalid for table"), and composeOrder works against the real mock services.
//
// Ports: the mock and the page server listen on free ports the OS picks (never 4400/4500/8080).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startServices, SERVICE_NAMES } from '../../mock/services.mjs';
import { startStaticServer } from '../../scripts/serve.mjs';
import {
  ensurePkg, pkgAge, launchBrowser, watchPage, getJson, expectedOrder, FIXTURES, PKG_DIR, ROOT,
  withPkgBuildLock,
} from './helpers.mjs';

let mock;
let web;
let browser;
let page;
let seen;
let pkgNote;

/** The mock's service URLs with a scenario prefix, so each test has its own log and ids. */
function servicesIn(scenario) {
  return Object.fromEntries(Object.entries(mock.services).map(([name, url]) => [name, `${url}/s/${scenario}`]));
}

/** Nothing untoward happened in the page so far. */
function assertPageClean() {
  assert.deepEqual(seen.pageErrors, [], 'uncaught exceptions in the page');
  assert.deepEqual(seen.consoleErrors, [], 'console errors');
  assert.deepEqual(seen.cspViolations, [], 'CSP violations');
  assert.deepEqual(seen.consoleWarnings, [], 'console warnings (e.g. the wasm-bindgen MIME type fallback)');
}

before(async () => {
  const how = await ensurePkg();
  const age = pkgAge();
  pkgNote = `package ${PKG_DIR} (${how}): wasm ${age.bytes} bytes, built ${age.builtAt}`;
  mock = await startServices({ port: 0, defaultLatency: 5 });
  web = await startStaticServer({ port: 0, wwwDir: FIXTURES, pkgDir: PKG_DIR, config: JSON.parse(JSON.stringify(mock)) });
  browser = await launchBrowser();
  page = await browser.newPage();
  seen = await watchPage(page);
});

after(async () => {
  await browser?.close();
  await web?.close();
  await mock?.close();
});

test('the release build initializes in Chromium under the strict CSP', async (t) => {
  t.diagnostic(pkgNote);
  const response = await page.goto(new URL('smoke.html', web.url).href);
  assert.equal(response.status(), 200);
  const csp = response.headers()['content-security-policy'] ?? '';
  assert.match(csp, /(^|; )script-src 'self' 'wasm-unsafe-eval'(;|$)/, `CSP: ${csp}`);
  assert.match(csp, /(^|; )default-src 'self'(;|$)/);
  for (const url of [mock.adminUrl, ...Object.values(mock.services)]) {
    assert.ok(csp.includes(` ${new URL(url).origin}`), `connect-src lacks ${url}: ${csp}`);
  }

  const wasm = await fetch(new URL('pkg/parallel_composer_bg.wasm', web.url));
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  await wasm.arrayBuffer();

  const result = await page.evaluate(async () => {
    const mod = await import('/pkg/parallel_composer.js');
    window.pc = mod;
    try {
      await mod.default();
    } catch (error) {
      return { ok: false, error: `${error?.name}: ${error?.message}` };
    }
    return { ok: true, exports: Object.keys(mod).sort(), isClass: typeof mod.ComposeError === 'function' };
  });
  assert.ok(result.ok, `init() rejected: ${result.error}`);
  for (const name of ['default', 'compose', 'composeOrder', 'validatePlan', 'ComposeError']) {
    assert.ok(result.exports.includes(name), `pkg/parallel_composer.js does not export ${name} (exports: ${result.exports})`);
  }
  assert.ok(result.isClass);
  assertPageClean();
});

// How every wasm-bindgen crate is built, without scripts/build-pkg.mjs: the module must be
// complete as it comes out, ComposeError included (wasm-bindgen re-exports the class), and
// its .d.ts must declare the class once, as a class.
test('plain wasm-pack build --target web exports ComposeError, and its .d.ts declares the class', async () => {
  const out = join(ROOT, 'target', 'plain-wasm-pack');
  rmSync(out, { recursive: true, force: true });
  const env = { ...process.env };
  env.PATH = [join(ROOT, 'node_modules', '.bin'), join(env.HOME ?? '/root', '.cargo', 'bin'), env.PATH].join(':');
  // The same cargo build as pkg/'s (the release profile), so it waits for that one.
  const build = await withPkgBuildLock(() =>
    spawnSync('wasm-pack', ['build', '--target', 'web', '--out-dir', out], {
      cwd: ROOT, env, encoding: 'utf8', timeout: 15 * 60 * 1000,
    }));
  assert.equal(build.status, 0, `wasm-pack build failed:\n${build.stderr}`);

  const mod = await import(pathToFileURL(join(out, 'parallel_composer.js')).href);
  assert.equal(typeof mod.ComposeError, 'function', `exports: ${Object.keys(mod)}`);
  const error = new mod.ComposeError('order failed', { code: 'PAYMENT_DECLINED', call: 'payment' });
  assert.ok(error instanceof Error);
  assert.equal(error.name, 'ComposeError');
  assert.equal(error.code, 'PAYMENT_DECLINED');
  assert.equal(error.call, 'payment');
  assert.equal(error.resubmit, 'new-operation');

  const types = readFileSync(join(out, 'parallel_composer.d.ts'), 'utf8');
  assert.equal((types.match(/^export class ComposeError extends Error \{$/gm) ?? []).length, 1, 'one class declaration');
  assert.doesNotMatch(types, /(let|const|var|function) ComposeError\b/, 'no other declaration of ComposeError');
});

test('composeOrder resolves with the total the mock pricing rules give', async () => {
  // The brief's worked example, to check expectedOrder() itself: 8498 - 850 + 599 + 631.
  assert.deepEqual(expectedOrder({ customerId: 'c-gold-1' }), {
    subtotal: 8498, discount: 850, shipping: 599, tax: 631, total: 8878,
  });
  const requests = [
    { customerId: 'c-gold-1', cartId: 'k1', paymentMethodId: 'pm_visa' },
    { customerId: 'c-7', cartId: 'k2', paymentMethodId: 'pm_visa', shippingOption: 'express' },
  ];
  for (const [i, request] of requests.entries()) {
    const scenario = `smoke-ok-${i}`;
    const services = servicesIn(scenario);
    const outcome = await page.evaluate(async ({ request, services }) => {
      try {
        return { order: await window.pc.composeOrder(request, { services }) };
      } catch (error) {
        return { error: `${error?.code}: ${error?.message}` };
      }
    }, { request, services });
    assert.equal(outcome.error, undefined, `composeOrder rejected for ${JSON.stringify(request)}`);
    const { order } = outcome;
    const expected = expectedOrder(request);
    assert.equal(order.total, expected.total, `total for ${JSON.stringify(request)}`);
    assert.equal(order.tax, expected.tax);
    assert.equal(order.shipping.cost, expected.shipping);
    assert.equal(order.currency, 'USD');
    assert.equal(order.status, 'confirmed');
    assert.match(order.orderId, /^ord-\d+$/);
    assert.equal(order.notification.sent, true);
    assert.deepEqual(Object.keys(order.calls).sort(), [...SERVICE_NAMES].sort());
    for (const [name, record] of Object.entries(order.calls)) {
      assert.equal(record.state, 'ok', `call ${name}`);
      assert.ok(record.endMs >= record.startMs, `call ${name} times`);
    }
    // The order service stored exactly this order, with the total it was sent.
    const { orders } = await getJson(`${services.order}/orders`);
    assert.equal(orders.length, 1);
    assert.equal(orders[0].orderId, order.orderId);
    assert.equal(orders[0].total, expected.total);
    assert.equal(orders[0].customerId, request.customerId);
  }
  assertPageClean();
});

test('a declined payment rejects with a ComposeError PAYMENT_DECLINED and no order', async () => {
  const scenario = 'smoke-declined';
  const services = servicesIn(scenario);
  const outcome = await page.evaluate(async (services) => {
    try {
      const order = await window.pc.composeOrder(
        { customerId: 'c-gold-1', cartId: 'k1', paymentMethodId: 'pm_declined' },
        { services },
      );
      return { resolved: order };
    } catch (e) {
      return {
        isComposeError: e instanceof window.pc.ComposeError,
        isError: e instanceof Error,
        name: e.name,
        code: e.code,
        call: e.call,
        message: e.message,
        calls: e.calls,
      };
    }
  }, services);
  assert.equal(outcome.resolved, undefined, 'composeOrder resolved for pm_declined');
  assert.equal(outcome.isComposeError, true, 'e instanceof ComposeError');
  assert.equal(outcome.isError, true, 'e instanceof Error');
  assert.equal(outcome.name, 'ComposeError');
  assert.equal(outcome.code, 'PAYMENT_DECLINED');
  assert.equal(outcome.call, 'payment');
  assert.equal(outcome.calls.payment.state, 'failed');
  assert.notEqual(outcome.calls.order.state, 'ok');

  const log = await getJson(`${mock.adminUrl}/log?scenario=${scenario}`);
  const services_ = new Set(log.map((e) => e.service));
  assert.ok(services_.has('payment'), 'the payment service was called');
  assert.ok(!services_.has('order'), 'no order call after a declined payment');
  const { orders } = await getJson(`${services.order}/orders`);
  assert.deepEqual(orders, []);
  assertPageClean();
});

test('no request is reported failed or cancelled when every reply arrived, error replies included', async () => {
  // Chromium lists a request as cancelled (net::ERR_ABORTED) when its body is read through a
  // stream reader or cancelled unread, though the whole reply arrived; DevTools would show a
  // healthy composition in red. Bodies are read by the browser, and small unwanted ones drained.
  seen.failedRequests.length = 0;
  const services = servicesIn('smoke-clean');
  const lab = (i, rest) => `${Object.values(services)[i]}/lab/${rest}`;
  const plan = { calls: {} };
  for (let i = 0; i < 10; i += 1) plan.calls[`ok${i}`] = { url: lab(i, 'items?n=50') };
  plan.calls.unavailable = { url: lab(0, 'items?status=503'), optional: true };
  plan.calls.missing = { url: lab(1, 'items?status=404'), optional: true };
  plan.calls.empty = { url: lab(2, 'empty') };
  plan.calls.big = { url: lab(3, 'big?kb=512') };
  const outcome = await page.evaluate(async (plan) => {
    const result = await window.pc.compose(plan, {}, { maxAttempts: 1 });
    return Object.fromEntries(Object.entries(result.calls).map(([name, r]) => [name, [r.state, r.status]]));
  }, plan);
  assert.deepEqual(outcome.unavailable, ['failed', 503]);
  assert.deepEqual(outcome.missing, ['failed', 404]);
  assert.deepEqual(outcome.empty, ['ok', 204]);
  assert.deepEqual(outcome.big, ['ok', 200]);
  assert.deepEqual(outcome.ok9, ['ok', 200]);
  // The page has settled every request it made; give late failure events no chance to hide.
  await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 0)));
  assert.deepEqual(seen.failedRequests, [], 'requests reported failed or cancelled');
  // Chromium logs every non-2xx reply as a console error; those two are the expected ones.
  const expected = [[plan.calls.unavailable.url, 503], [plan.calls.missing.url, 404]];
  const unexpected = seen.consoleErrors.filter((e) => !expected.some(([url, status]) => e.url === url && e.text.includes(`status of ${status}`)));
  assert.equal(seen.consoleErrors.length - unexpected.length, 2, 'the two error replies were logged');
  seen.consoleErrors = unexpected;
  assertPageClean();
});
