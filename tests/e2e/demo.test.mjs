// The demo page (www/) in headless Chromium, against the real mock services, started
// in-process with startDemo() on free ports (never 4400/4500/8080).
//
// Screenshots of each state go to tests/artifacts/ (gitignored). With
// PC_UPDATE_SCREENSHOT=1 the run-all screenshot is also copied to www/screenshot.png
// (committed, for the README); without it the tests never touch tracked files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startDemo, DEMO_LATENCY } from '../../scripts/start.mjs';
import { SERVICE_NAMES } from '../../mock/services.mjs';
import {
  ensurePkg, launchBrowser, watchPage, waitFor, nextEvent, getJson, ARTIFACTS, ROOT,
} from './helpers.mjs';

const MODES = ['sequential', 'stages', 'eager'];
const RUN_TIMEOUT = 20000;

let demo;
let browser;
let page;
let seen;
let firstResponse;
/** How many console errors etc. earlier tests have already accounted for. */
const checked = { consoleErrors: 0, consoleWarnings: 0, pageErrors: 0, cspViolations: 0 };

before(async () => {
  await ensurePkg();
  mkdirSync(ARTIFACTS, { recursive: true });
  demo = await startDemo({ mockPort: 0, webPort: 0, build: false });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  seen = await watchPage(page);
  firstResponse = await page.goto(demo.url);
  await page.locator('body[data-app-state="ready"]').waitFor({ timeout: 15000 });
});

after(async () => {
  await browser?.close();
  await demo?.close();
});

// ------------------------------------------------------------------ helpers

/** The page's new console errors/warnings, page errors and CSP violations since the last call. */
function newProblems() {
  const out = {};
  for (const key of Object.keys(checked)) {
    out[key] = seen[key].slice(checked[key]);
    checked[key] = seen[key].length;
  }
  return out;
}

function assertNoNewProblems({ allowConsoleError = () => false } = {}) {
  const p = newProblems();
  assert.deepEqual(p.pageErrors, [], 'uncaught exceptions in the page');
  assert.deepEqual(p.cspViolations, [], 'CSP violations');
  assert.deepEqual(p.consoleWarnings, [], 'console warnings');
  assert.deepEqual(p.consoleErrors.filter((e) => !allowConsoleError(e)), [], 'console errors');
  return p;
}

async function screenshot(name) {
  const path = join(ARTIFACTS, `demo-${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Sets every service's latency and fault through the page's controls, then checks the mock has them. */
async function setServices(latency, faults = {}) {
  await idlePage();
  for (const service of SERVICE_NAMES) {
    await page.getByTestId(`latency-${service}`).fill(String(latency[service]));
    await page.getByTestId(`fault-${service}`).selectOption(faults[service] ?? 'none');
  }
  await page.locator('#services[data-config-state="applied"]').waitFor({ timeout: 5000 });
  const config = await getJson(`${demo.config.adminUrl}/scenarios/default`);
  for (const service of SERVICE_NAMES) {
    assert.equal(config.latency[service] ?? config.defaultLatency, latency[service], `mock latency of ${service}`);
  }
  const expectedFaults = {
    http500: { status: 500 }, hang: 'hang', decline: 'decline', reject: 'reject',
  };
  const want = Object.fromEntries(Object.entries(faults).filter(([, f]) => f !== 'none').map(([s, f]) => [s, expectedFaults[f]]));
  assert.deepEqual(config.faults, want, 'mock faults');
}

const uniform = (ms, overrides = {}) => ({ ...Object.fromEntries(SERVICE_NAMES.map((s) => [s, ms])), ...overrides });

async function runCount(mode) {
  return Number(await page.getByTestId(`panel-${mode}`).getAttribute('data-run-count'));
}

/** Clicks a run button and waits until each of `modes` has finished one more run and the page is idle. */
async function run(buttonTestId, modes) {
  const before_ = Object.fromEntries(await Promise.all(modes.map(async (m) => [m, await runCount(m)])));
  await page.getByTestId(buttonTestId).click();
  for (const mode of modes) {
    await page.waitForFunction(
      ([m, n]) => Number(document.querySelector(`[data-testid="panel-${m}"]`).dataset.runCount) > n,
      [mode, before_[mode]],
      { timeout: RUN_TIMEOUT },
    );
  }
  await page.waitForFunction(() => !document.body.dataset.busy, null, { timeout: RUN_TIMEOUT });
}

/** The total shown for a mode, in ms (the text must be like "812 ms"). */
async function total(mode) {
  const text = (await page.getByTestId(`total-${mode}`).textContent()).trim();
  const m = /^(\d+) ms$/.exec(text);
  assert.ok(m, `total-${mode} should read "<n> ms", got "${text}"`);
  return Number(m[1]);
}

/** Every bar of a mode: { call: { state, start, end } } from the drawn elements. */
async function bars(mode) {
  return page.$$eval(`[data-testid^="bar-${mode}-"]`, (els, prefix) => Object.fromEntries(els.map((el) => [
    el.dataset.testid.slice(prefix.length),
    {
      state: el.dataset.state,
      start: el.dataset.startMs === '' ? null : Number(el.dataset.startMs),
      end: el.dataset.endMs === '' ? null : Number(el.dataset.endMs),
    },
  ])), `bar-${mode}-`);
}

/**
 * If an earlier test failed mid-run (say, stuck on a hanging service), start from a fresh
 * page so that its failure does not cascade into the tests after it.
 */
async function idlePage() {
  if (await page.evaluate(() => document.body.dataset.busy !== undefined)) {
    await page.reload();
    await page.locator('body[data-app-state="ready"]').waitFor({ timeout: 15000 });
  }
}

async function text(testId) {
  return (await page.getByTestId(testId).textContent()).trim();
}

// ------------------------------------------------------------------ tests

test('the page loads under the strict CSP with zero console errors', async () => {
  assert.equal(firstResponse.status(), 200);
  const csp = firstResponse.headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval';/);
  assert.match(csp, /style-src 'self';/);
  assert.match(csp, new RegExp(`connect-src 'self'[^;]* ${demo.config.adminUrl}`));
  assert.match(await text('status'), /^Ready/);
  // The page found the services at runtime and shows the latencies the mock runs with.
  assert.equal(await page.locator('#services-body tr').count(), SERVICE_NAMES.length);
  for (const service of SERVICE_NAMES) {
    assert.equal(await page.getByTestId(`latency-${service}`).inputValue(), String(DEMO_LATENCY[service]));
  }
  for (const id of ['run-sequential', 'run-stages', 'run-eager', 'run-all']) {
    assert.equal(await page.getByTestId(id).isEnabled(), true, `${id} enabled`);
  }
  assert.equal(await page.getByTestId('cancel').isDisabled(), true, 'cancel disabled while idle');
  assert.equal(await page.locator('[data-testid^="bar-"]').count(), 0, 'no bars before any run');
  // Every control has an accessible name (a <label> or aria-label).
  const unnamed = await page.$$eval('input, select, textarea, button', (els) => els
    .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent.trim())))
    .map((el) => el.outerHTML.slice(0, 80)));
  assert.deepEqual(unnamed, [], 'controls without a label');
  await screenshot('01-loaded');
  assertNoNewProblems();
});

test('each mode draws ten bars, and eager finishes before sequential', async () => {
  await setServices(DEMO_LATENCY);
  await run('run-all', MODES);
  const totals = {};
  const drawn = {};
  for (const mode of MODES) {
    drawn[mode] = await bars(mode);
    assert.deepEqual(Object.keys(drawn[mode]).sort(), [...SERVICE_NAMES].sort(), `${mode}: one bar per call`);
    for (const [call, bar] of Object.entries(drawn[mode])) {
      assert.equal(bar.state, 'ok', `${mode}/${call} state`);
      assert.ok(bar.end > bar.start, `${mode}/${call} has a duration`);
    }
    totals[mode] = await total(mode);
  }
  // The mock never answers early, so one-at-a-time costs at least the sum of the latencies.
  const sum = SERVICE_NAMES.reduce((s, name) => s + DEMO_LATENCY[name], 0);
  assert.ok(totals.sequential >= sum, `sequential ${totals.sequential} ms >= sum of latencies ${sum} ms`);
  assert.ok(totals.eager < totals.sequential, `eager ${totals.eager} ms < sequential ${totals.sequential} ms`);
  assert.ok(totals.stages < totals.sequential, `stages ${totals.stages} ms < sequential ${totals.sequential} ms`);

  // Sequential: no two calls overlap. Eager: some do.
  const seq = Object.values(drawn.sequential).sort((a, b) => a.start - b.start);
  for (let i = 1; i < seq.length; i++) assert.ok(seq[i].start >= seq[i - 1].end, 'sequential calls never overlap');
  const eager = Object.values(drawn.eager);
  const overlaps = eager.some((a) => eager.some((b) => a !== b && a.start < b.end && b.start < a.end));
  assert.ok(overlaps, 'eager runs calls concurrently');

  // Same time scale for all panels: the sequential waterfall reaches further right.
  const seqBox = await page.getByTestId('bar-sequential-notification').boundingBox();
  const eagerBox = await page.getByTestId('bar-eager-notification').boundingBox();
  assert.ok(seqBox.x + seqBox.width > eagerBox.x + eagerBox.width + 50, 'bars share one time scale');

  const speedup = await text('speedup');
  const said = /Eager (\d+\.\d\d) s vs sequential (\d+\.\d\d) s: (\d+\.\d)× faster\./.exec(speedup);
  assert.ok(said, `speed-up sentence: ${speedup}`);
  const [, eagerS, seqS, factor] = said.map(Number);
  assert.ok(Math.abs(eagerS - totals.eager / 1000) <= 0.006, `sentence says eager ${eagerS} s, panel ${totals.eager} ms`);
  assert.ok(Math.abs(seqS - totals.sequential / 1000) <= 0.006, `sentence says sequential ${seqS} s, panel ${totals.sequential} ms`);
  assert.ok(Math.abs(factor - totals.sequential / totals.eager) <= 0.06, `speed-up ${factor}×`);
  // The result shows the aggregated order of the last (eager) run.
  const order = JSON.parse(await page.getByTestId('order-json').textContent());
  assert.equal(order.total, 8878);
  assert.equal(await page.getByTestId('error-panel').isHidden(), true);

  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot('02-run-all');
  // For the README: the top of the page down to the end of the waterfalls.
  const card = await page.locator('#panels').boundingBox();
  const readme = join(ARTIFACTS, 'demo-02-run-all-readme.png');
  await page.screenshot({ path: readme, fullPage: true, clip: { x: 0, y: 0, width: 1280, height: Math.ceil(card.y + card.height + 20) } });
  if (process.env.PC_UPDATE_SCREENSHOT === '1') copyFileSync(readme, join(ROOT, 'www', 'screenshot.png'));
  assertNoNewProblems();
});

test('with a slow fraud check, eager finishes before stages', async () => {
  await setServices(uniform(150, { fraud: 600, pricing: 30 }));
  await run('run-stages', ['stages']);
  await run('run-eager', ['eager']);
  const stages = await total('stages');
  const eager = await total('eager');
  // Critical paths given those latencies: eager 150+600+150+150+150 = 1200 ms, stages 1350 ms.
  assert.ok(eager >= 1200, `eager ${eager} ms cannot beat the critical path of 1200 ms`);
  assert.ok(eager < stages, `eager ${eager} ms < stages ${stages} ms`);
  const e = await bars('eager');
  const s = await bars('stages');
  assert.ok(e.tax.start < e.fraud.end, 'eager: tax runs while fraud is still checking');
  assert.ok(s.tax.start >= s.fraud.end, 'stages: tax waits for the whole previous level (fraud)');
  assert.match(await text('speedup'), /Eager saves another \d+ ms over stages/);
  await screenshot('03-skewed-latency');
  assertNoNewProblems();
});

test('a declined payment shows the error panel naming the payment call', async () => {
  await setServices(uniform(20), { payment: 'decline' });
  await run('run-eager', ['eager']);
  await page.getByTestId('error-panel').waitFor({ state: 'visible' });
  assert.equal(await text('error-code'), 'PAYMENT_DECLINED');
  assert.equal(await text('error-call'), 'payment');
  assert.equal(await page.getByTestId('error-state-payment').getAttribute('data-state'), 'failed');
  assert.equal(await page.getByTestId('error-state-order').getAttribute('data-state'), 'skipped');
  assert.equal(await page.getByTestId('error-state-customer').getAttribute('data-state'), 'ok');
  const drawn = await bars('eager');
  assert.equal(Object.keys(drawn).length, 10);
  assert.equal(drawn.payment.state, 'failed');
  assert.equal(drawn.order.state, 'skipped');
  assert.equal(await page.getByTestId('order-json').isHidden(), true, 'no order JSON for a failed run');
  assert.match(await text('total-eager'), /^\d+ ms$/);
  await screenshot('04-payment-declined');
  assertNoNewProblems();
});

test('an HTTP 500 from the order service names the order call', async () => {
  await setServices(uniform(20), { order: 'http500' });
  await run('run-eager', ['eager']);
  await page.getByTestId('error-panel').waitFor({ state: 'visible' });
  assert.equal(await text('error-code'), 'HTTP_STATUS');
  assert.equal(await text('error-call'), 'order');
  assert.equal(await text('error-status'), '500');
  assert.equal(await page.getByTestId('error-state-order').getAttribute('data-state'), 'failed');
  assert.equal(await page.getByTestId('error-state-payment').getAttribute('data-state'), 'ok');
  assert.match(await page.locator('#error-writes').textContent(), /payment \(a payment authorization\)/);
  await screenshot('05-order-500');
  // Chromium itself logs every non-2xx fetch; that one line for the order service is expected.
  const orderUrl = `${demo.config.services.order}/orders`;
  const p = assertNoNewProblems({
    allowConsoleError: (e) => e.url === orderUrl && /status of 500/.test(e.text),
  });
  assert.ok(p.consoleErrors.length >= 1, 'Chromium reported the 500 (so the filter above is not vacuous)');
});

test('Cancel stops a run stuck on a hanging service and the request is aborted', async () => {
  await setServices(uniform(20), { payment: 'hang' });
  const cancel = page.getByTestId('cancel');
  assert.equal(await cancel.isDisabled(), true, 'cancel disabled before the run');
  const arrived = nextEvent(demo.mock.events, 'arrive', (e) => e.scenario === 'default' && e.service === 'payment');
  const before_ = await runCount('eager');
  await page.getByTestId('run-eager').click();
  const entry = await arrived; // the hung request is at the mock now
  assert.equal(await cancel.isEnabled(), true, 'cancel enabled while the run is in flight');
  assert.equal(await page.getByTestId('panel-eager').getAttribute('data-run-state'), 'running');
  await cancel.click();
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="panel-eager"]').dataset.runCount) > n, before_, { timeout: 5000 });
  await page.locator('[data-testid="error-panel"][data-code="ABORTED"]').waitFor({ state: 'visible', timeout: 5000 });
  assert.equal(await text('error-code'), 'ABORTED');
  // The hung authorization was sent: whether the service acted on it is unknown.
  assert.equal(await page.getByTestId('error-state-payment').getAttribute('data-state'), 'unknown');
  assert.equal(await page.getByTestId('error-state-order').getAttribute('data-state'), 'cancelled');
  assert.equal((await bars('eager')).payment.state, 'unknown');
  await page.waitForFunction(() => !document.body.dataset.busy);
  assert.equal(await cancel.isDisabled(), true, 'cancel disabled again after the run');

  // The mock saw the browser drop the hung request.
  const aborted = await waitFor(async () => {
    const log = await getJson(`${demo.config.adminUrl}/log?scenario=default`);
    return log.find((e) => e.seq === entry.seq && e.aborted === true);
  }, { timeout: 5000, message: 'the hung payment request to be logged as aborted' });
  assert.equal(aborted.status, null, 'the hung request never got a reply');
  await screenshot('06-cancelled');
  assertNoNewProblems();
});

test('Enter in the order form runs the eager composition (keyboard)', async () => {
  await setServices(uniform(20));
  const before_ = await runCount('eager');
  await page.getByLabel('Customer id').focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="panel-eager"]').dataset.runCount) > n, before_, { timeout: RUN_TIMEOUT });
  await page.waitForFunction(() => !document.body.dataset.busy);
  assert.equal(await page.getByTestId('error-panel').isHidden(), true);
  assert.match(await text('result-summary'), /^Eager run: order ord-\d+ confirmed, total \$88\.78/);
  assertNoNewProblems();
});

test('the plan editor flags a cycle and runs a valid plan', async () => {
  await idlePage();
  const editor = page.getByTestId('plan-text');
  const example = await editor.inputValue();
  const { customer, cart } = demo.config.services;
  const cyclic = {
    calls: {
      a: { url: `${customer}/lab/echo?from={b.query.x}` },
      b: { url: `${cart}/lab/echo?x={a.query.from}` },
    },
  };
  await editor.fill(JSON.stringify(cyclic, null, 2));
  const errors = page.getByTestId('plan-errors');
  await page.locator('[data-testid="plan-errors"][data-valid="false"]').waitFor();
  const message = (await errors.textContent()).trim();
  assert.match(message, /^INVALID_PLAN: /);
  assert.match(message, /cycle/);
  assert.equal(await editor.getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByTestId('run-plan').isDisabled(), true);
  await page.getByTestId('plan-editor').scrollIntoViewIfNeeded();
  await screenshot('07-plan-cycle');

  // Back to the example: valid, three stages, and it runs against the lab endpoints.
  await editor.fill(example);
  await page.locator('[data-testid="plan-errors"][data-valid="true"]').waitFor();
  const stages = await page.locator('[data-testid="plan-stages"] li').allTextContents();
  assert.deepEqual(stages, ['profile, catalog', 'quote, stock', 'audit']);
  await page.getByTestId('run-plan').click();
  await page.locator('#plan-output[data-run-state="ok"]').waitFor({ timeout: RUN_TIMEOUT });
  const result = JSON.parse(await page.getByTestId('plan-result').textContent());
  assert.equal(result.data.quote.body.user, 'ada');
  assert.equal(result.data.quote.body.itemCount, 3);
  assert.equal(result.data.stock.count, 3);
  const drawn = await bars('plan');
  assert.deepEqual(Object.keys(drawn).sort(), ['audit', 'catalog', 'profile', 'quote', 'stock']);
  assert.ok(Object.values(drawn).every((b) => b.state === 'ok'));
  await page.locator('#plan-output').scrollIntoViewIfNeeded();
  await screenshot('08-plan-run');
  assertNoNewProblems();
});

test('a narrow screen has no horizontal scrolling and still draws the waterfall', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await setServices(uniform(20));
    await run('run-eager', ['eager']);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than a 390px screen`);
    const box = await page.getByTestId('bar-eager-notification').boundingBox();
    assert.ok(box && box.width > 0 && box.x + box.width <= 390, 'the last bar is on screen');
    await page.getByTestId('panel-eager').scrollIntoViewIfNeeded();
    await screenshot('09-narrow');
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
  assertNoNewProblems();
});
