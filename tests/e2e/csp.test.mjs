// The release package under the strict Content Security Policy, in headless Chromium: a
// dedicated page (fixtures/csp.html + csp.js, no inline script) served by scripts/serve.mjs with
// the demo page's policy, against the real mock services on free ports.
//
// 1. The policy sent is exactly the strict one: no 'unsafe-eval', no 'unsafe-inline', Trusted
//    Types required, connect-src only this origin and the services; the page has no inline script.
// 2. composeOrder (an order, and a declined payment whose reservation is released) and compose()
//    run with zero securitypolicyviolation events, seen by the page's own listener and by one the
//    test injects.
// 3. The page really is under that policy: eval, new Function, an inline script, a string given
//    to innerHTML and a fetch to another origin are each blocked and reported to both listeners,
//    which also proves the listeners would have seen a violation in step 2.
//
// Waits are on the page's data-state, never on the clock.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServices } from '../../mock/services.mjs';
import { startStaticServer } from '../../scripts/serve.mjs';
import { ensurePkg, launchBrowser, watchPage, getJson, expectedOrder, FIXTURES, PKG_DIR } from './helpers.mjs';

const SCENARIO = 'csp-e2e';
let mock;
let web;
let browser;
let page;
let seen;
let expectedPolicy;

/** The page's published results (#results), once body[data-state] is `state`. */
async function resultsWhen(state) {
  await page.locator(`body[data-state="${state}"]`).waitFor({ timeout: 30000 });
  return JSON.parse(await page.locator('#results').textContent());
}

before(async () => {
  await ensurePkg();
  mock = await startServices({ port: 0, defaultLatency: 5 });
  web = await startStaticServer({
    port: 0,
    wwwDir: FIXTURES,
    pkgDir: PKG_DIR,
    config: JSON.parse(JSON.stringify(mock)),
    trustedTypes: true,
  });
  // Written out here rather than taken from contentSecurityPolicy(), so a change to the policy
  // has to change this test too.
  const origins = [...new Set([mock.adminUrl, ...Object.values(mock.services)].map((u) => new URL(u).origin))];
  expectedPolicy = [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    `connect-src 'self' ${origins.join(' ')}`,
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "require-trusted-types-for 'script'",
  ].join('; ');
  browser = await launchBrowser();
  page = await browser.newPage();
  seen = await watchPage(page);
});

after(async () => {
  await browser?.close();
  await web?.close();
  await mock?.close();
});

test('the test page is served with exactly the strict CSP and has no inline script', async () => {
  const response = await fetch(new URL('csp.html', web.url));
  assert.equal(response.status, 200);
  const policy = response.headers.get('content-security-policy');
  assert.equal(policy, expectedPolicy);
  assert.doesNotMatch(policy, /'unsafe-eval'|'unsafe-inline'|'unsafe-hashes'|'strict-dynamic'|\*/);
  assert.equal((await fetch(new URL('csp.js', web.url))).headers.get('content-type'), 'text/javascript; charset=utf-8');

  const html = readFileSync(join(FIXTURES, 'csp.html'), 'utf8');
  assert.equal(await response.text(), html);
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
  assert.equal(scripts.length, 1);
  for (const [, attributes, body] of scripts) {
    assert.match(attributes, /\bsrc="[^"]+"/, 'every script is loaded from a file');
    assert.equal(body.trim(), '', 'no inline script');
  }
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'no inline event handler');
  assert.doesNotMatch(html, /javascript:/i);
});

test('composeOrder and compose() run under the CSP with zero violations', async () => {
  const response = await page.goto(new URL(`csp.html?scenario=${SCENARIO}`, web.url).href);
  assert.equal(response.headers()['content-security-policy'], expectedPolicy);
  const results = await resultsWhen('ran');
  assert.equal(results.fatal, undefined, `the page failed: ${results.fatal}`);

  // What ran, ran right.
  const { order, declined, compose } = results.runs;
  assert.equal(order.error, undefined, `composeOrder rejected: ${JSON.stringify(order.error)}`);
  assert.equal(order.total, expectedOrder({ customerId: 'c-gold-1' }).total);
  assert.equal(order.status, 'confirmed');

  assert.equal(declined.resolved, undefined, 'a declined payment resolved');
  assert.equal(declined.error.isComposeError, true);
  assert.equal(declined.error.code, 'PAYMENT_DECLINED');
  assert.deepEqual(declined.error.compensations.map((c) => [c.call, c.state]), [['inventory', 'ok']]);
  const log = await getJson(`${mock.adminUrl}/log?scenario=${SCENARIO}-declined`);
  const releases = log.filter((e) => e.service === 'inventory' && e.method === 'DELETE');
  assert.equal(releases.length, 1, 'the reservation was released once');
  const reservation = await getJson(`${mock.services.inventory}/s/${SCENARIO}-declined${releases[0].path}`);
  assert.equal(reservation.released, true);

  assert.equal(compose.error, undefined, `compose rejected: ${JSON.stringify(compose.error)}`);
  assert.deepEqual(compose.states, { items: 'ok', echo: 'ok' });
  assert.deepEqual(compose.stages, [['items'], ['echo']]);
  assert.deepEqual(compose.echo.body, { count: 3, name: 'item-2' });
  assert.equal(compose.echo.query.first, '1');

  // Not one violation, by the page's listener or by the test's.
  assert.deepEqual(results.violationsDuringRuns, [], 'violations seen by the page');
  assert.deepEqual(seen.cspViolations, [], 'violations seen by the test');
  assert.deepEqual(seen.pageErrors, []);
  assert.deepEqual(seen.consoleErrors, []);
  assert.deepEqual(seen.consoleWarnings, []);
});

test('the page really is under the CSP: what it forbids is blocked and reported', async () => {
  await page.locator('body[data-state="ran"]').waitFor({ timeout: 30000 });
  await page.locator('#probe').click();
  const results = await resultsWhen('probed');
  const expected = {
    eval: ['script-src', /^EvalError/],
    'new Function': ['script-src', /^EvalError/],
    'string to eval': ['require-trusted-types-for', /^EvalError/],
    'inline script': ['script-src-elem', null],
    'string to innerHTML': ['require-trusted-types-for', /^TypeError/],
    'fetch to an origin outside connect-src': ['connect-src', /^TypeError/],
  };
  assert.deepEqual(Object.keys(results.probes), Object.keys(expected));
  for (const [name, [directive, error]] of Object.entries(expected)) {
    const probe = results.probes[name];
    assert.ok(probe.violation, `${name}: no violation was reported`);
    assert.equal(probe.violation.directive, directive, name);
    assert.equal(probe.violation.disposition, 'enforce', name);
    if (error) assert.match(probe.error ?? '', error, `${name} was not blocked`);
    else assert.equal(probe.error, null, name);
  }
  assert.equal(results.inlineScriptRan, false, 'the inline script ran');
  assert.equal(results.violationsInAll, Object.keys(expected).length, 'one violation per probe, none before');
  // The test's own listener saw the same ones.
  assert.deepEqual(seen.cspViolations.map((v) => v.directive).sort(), Object.values(expected).map(([d]) => d).sort());
  assert.deepEqual(seen.pageErrors, []);
});
