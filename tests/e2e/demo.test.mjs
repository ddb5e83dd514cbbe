// The demo page (www/) in headless Chromium, against the real mock services, started
// in-process with startDemo() on free ports (never 4400/4500/8080). Every control of the
// page is exercised here: the run buttons, the live waterfall and its critical path, the
// plan graph, the service latencies and faults, the error panel with its compensations,
// Cancel, Prefetch and the Eager run that takes the cached calls from the composer's cache,
// and the plan editor with its examples. Each state the tests reach is audited once
// with axe-core (./axe.mjs: WCAG 2.0/2.1/2.2 A and AA and best practices); a violation fails
// the test, and the last tests check that the audit can fail and leaves the CSP in force.
//
// Screenshots of each state go to tests/artifacts/ (gitignored). With
// PC_UPDATE_SCREENSHOT=1 the run-all screenshot is also copied to www/screenshot.png
// (committed, for the README); without it the tests never touch tracked files.
// Waits are on conditions in the page or the mock's log, never on the clock.
import { test, before, after } from 'node:test';
import assert, { AssertionError } from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startDemo, DEMO_LATENCY } from '../../scripts/start.mjs';
import { SERVICE_NAMES } from '../../mock/services.mjs';
// README's "depends on" column as the benchmark's contract writes it down: the page's graph
// is checked against the documented flow, not against the page's own copy of it.
import { DEPENDS } from '../../bench/page/contract.js';
import {
  ensurePkg, launchBrowser, watchPage, waitFor, nextEvent, getJson, compactPng, ARTIFACTS, ROOT,
} from './helpers.mjs';
import { assertAccessible, auditStats, AXE_VERSION } from './axe.mjs';

const MODES = ['sequential', 'stages', 'eager'];
/** The order flow's calls in the order composeOrder() reports them (README's table). */
const SERVICES_IN_PLAN_ORDER = Object.keys(DEPENDS);
const RUN_TIMEOUT = 20000;


/** The stage of each call: 0 without dependencies, else one more than its latest dependency. */
function stagesOf(deps) {
  const level = {};
  const visit = (name) => (level[name] ??= Math.max(-1, ...deps[name].map(visit)) + 1);
  Object.keys(deps).forEach(visit);
  return level;
}

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
  console.log(`axe-core ${AXE_VERSION}: ${auditStats.audits} audits in ${(auditStats.ms / 1000).toFixed(1)} s`);
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

/** The mock's log of the default scenario. */
const mockLog = () => getJson(`${demo.config.adminUrl}/log?scenario=default`);

/** The calls whose bars (of a mode's panel) are marked as on the critical path. */
async function criticalBars(mode) {
  const prefix = `bar-${mode}-`;
  return (await page.$$eval(`[data-testid^="${prefix}"][data-critical="true"]`, (els) => els.map((el) => el.dataset.testid)))
    .map((id) => id.slice(prefix.length)).sort();
}

/** The graph's nodes: { call: { stage, state, critical, box } } (box: the node's rectangle on screen). */
async function graphNodes(prefix = 'graph') {
  return page.$$eval(`[data-testid^="${prefix}-node-"]`, (els, p) => Object.fromEntries(els.map((el) => {
    const r = el.querySelector('rect.card').getBoundingClientRect();
    return [el.dataset.testid.slice(`${p}-node-`.length), {
      stage: Number(el.dataset.stage),
      state: el.dataset.state,
      critical: el.dataset.critical === 'true',
      box: { x: r.x, y: r.y, w: r.width, h: r.height },
    }];
  })), prefix);
}

/** The graph's arrows as "from>to", sorted; only the critical ones with critical: true. */
async function graphEdges(prefix = 'graph', { critical = false } = {}) {
  const selector = `[data-testid^="${prefix}-edge-"]${critical ? '[data-critical="true"]' : ''}`;
  return (await page.$$eval(selector, (els) => els.map((el) => `${el.dataset.from}>${el.dataset.to}`))).sort();
}

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

/**
 * One axe-core audit of the page as it is now (WCAG 2.0/2.1/2.2 A and AA, best practices;
 * tests/e2e/axe.mjs): any violation fails the test, naming its rule, impact, targets and help.
 */
async function accessible(state) {
  await assertAccessible(page, state);
}

/** A fan-out call's item bars in the order they are in the page: { item, state, start, end, top }. */
async function itemBars(prefix, call) {
  return page.$$eval(`[data-testid^="item-${prefix}-${call}-"]`, (els) => els.map((el) => ({
    item: Number(el.dataset.item),
    testid: el.dataset.testid,
    state: el.dataset.state,
    start: el.dataset.startMs === '' ? null : Number(el.dataset.startMs),
    end: el.dataset.endMs === '' ? null : Number(el.dataset.endMs),
    top: el.getBoundingClientRect().top,
    label: el.getAttribute('aria-label'),
  })));
}

/** A fan-out node of a graph: its stacked cards, its badge's text and count, its title. */
async function fanOutNode(prefix, call) {
  return page.getByTestId(`${prefix}-node-${call}`).evaluate((g) => ({
    fanOut: g.dataset.fanOut === 'true',
    cards: g.querySelectorAll('rect.stack-card').length,
    badge: g.querySelector('.fan-badge text')?.textContent ?? null,
    count: g.querySelector('.fan-badge')?.dataset.count ?? null,
    title: g.querySelector('title').textContent,
    graphLabel: g.ownerSVGElement.getAttribute('aria-label'),
  }));
}

/** The most items of `bars` in flight at once. */
function mostAtOnce(bars) {
  return Math.max(...bars.map((b) => bars.filter((o) => o.start <= b.start && b.start < o.end).length));
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
  assert.match(csp, /require-trusted-types-for 'script'/);
  assert.match(csp, new RegExp(`connect-src 'self'[^;]* ${demo.config.adminUrl}`));
  assert.match(await text('status'), /^Ready/);
  // The page found the services at runtime and shows the latencies the mock runs with.
  assert.equal(await page.locator('#services-body tr').count(), SERVICE_NAMES.length);
  for (const service of SERVICE_NAMES) {
    assert.equal(await page.getByTestId(`latency-${service}`).inputValue(), String(DEMO_LATENCY[service]));
  }
  for (const id of ['run-sequential', 'run-stages', 'run-eager', 'run-all', 'prefetch']) {
    assert.equal(await page.getByTestId(id).isEnabled(), true, `${id} enabled`);
  }
  assert.equal(await page.getByTestId('cancel').isDisabled(), true, 'cancel disabled while idle');
  // The failure toggles the issue names, on every service (and the two domain ones on theirs).
  for (const service of SERVICE_NAMES) {
    const labels = await page.getByTestId(`fault-${service}`).locator('option').allTextContents();
    const want = ['none', 'HTTP 500', 'hang', ...(service === 'fraud' ? ['fraud reject'] : []), ...(service === 'payment' ? ['payment declined'] : [])];
    assert.deepEqual(labels, want, `fault choices of ${service}`);
  }
  assert.equal(await page.locator('[data-testid^="bar-"]').count(), 0, 'no bars before any run');
  // Every control has an accessible name (a <label> or aria-label).
  const unnamed = await page.$$eval('input, select, textarea, button', (els) => els
    .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent.trim())))
    .map((el) => el.outerHTML.slice(0, 80)));
  assert.deepEqual(unnamed, [], 'controls without a label');
  await screenshot('01-loaded');
  await accessible('at load');
  assertNoNewProblems();
});

test('the order plan is drawn as a dependency graph: ten calls, their dependencies, one column per stage', async () => {
  const graph = page.getByTestId('graph');
  assert.equal(await graph.getAttribute('data-orientation'), 'columns');
  const nodes = await graphNodes();
  assert.deepEqual(Object.keys(nodes).sort(), [...SERVICE_NAMES].sort(), 'one node per call');

  // The stages are the documented flow's topological levels, and each is a column, left to right.
  const stage = stagesOf(DEPENDS);
  const stageCount = Math.max(...Object.values(stage)) + 1;
  for (const [call, node] of Object.entries(nodes)) assert.equal(node.stage, stage[call], `${call} is in stage ${stage[call] + 1}`);
  for (let s = 0; s < stageCount; s++) {
    const column = Object.values(nodes).filter((n) => n.stage === s);
    assert.ok(column.length > 0, `stage ${s + 1} has calls`);
    assert.ok(column.every((n) => Math.abs(n.box.x - column[0].box.x) < 0.5), `stage ${s + 1} is one column`);
    if (s > 0) {
      const left = Object.values(nodes).find((n) => n.stage === s - 1);
      assert.ok(column[0].box.x > left.box.x + left.box.w, `stage ${s + 1} is right of stage ${s}`);
    }
  }
  assert.match(await page.locator('#graph-heading').textContent(), /ten calls, six stages/);
  assert.equal(stageCount, 6);

  // An arrow from each dependency to the call that needs it, and no other.
  const expected = Object.entries(DEPENDS).flatMap(([to, from]) => from.map((f) => `${f}>${to}`)).sort();
  assert.deepEqual(await graphEdges(), expected);

  // Readable at a glance: no two nodes overlap, every name fits its node, and no arrow runs
  // through a node that is not one of its ends.
  const list = Object.entries(nodes);
  for (const [a, p] of list) {
    for (const [b, q] of list) {
      if (a < b) {
        const apart = p.box.x + p.box.w <= q.box.x || q.box.x + q.box.w <= p.box.x || p.box.y + p.box.h <= q.box.y || q.box.y + q.box.h <= p.box.y;
        assert.ok(apart, `nodes ${a} and ${b} overlap`);
      }
    }
  }
  const problems = await page.evaluate(() => {
    const out = [];
    const rects = [...document.querySelectorAll('[data-testid^="graph-node-"]')].map((g) => {
      const r = g.querySelector('rect');
      const t = g.querySelector('text').getBBox();
      const box = { name: g.dataset.testid.slice('graph-node-'.length), x: +r.getAttribute('x'), y: +r.getAttribute('y'), w: +r.getAttribute('width'), h: +r.getAttribute('height') };
      if (t.width > box.w - 4 || t.height > box.h) out.push(`the name ${box.name} does not fit its node`);
      return box;
    });
    for (const path of document.querySelectorAll('[data-testid^="graph-edge-"]')) {
      const length = path.getTotalLength();
      for (let i = 0; i <= 200; i++) {
        const p = path.getPointAtLength((length * i) / 200);
        for (const r of rects) {
          if (r.name === path.dataset.from || r.name === path.dataset.to) continue;
          if (p.x > r.x && p.x < r.x + r.w && p.y > r.y && p.y < r.y + r.h) out.push(`${path.dataset.from}>${path.dataset.to} crosses ${r.name}`);
        }
      }
    }
    return [...new Set(out)];
  });
  assert.deepEqual(problems, []);
  const label = await page.getByTestId('graph-node-notification').locator('text').boundingBox();
  assert.ok(label.height >= 11, `node names are at least 11 px tall on screen (${label.height})`);
  // The graph describes itself to screen readers.
  assert.match(await graph.getAttribute('aria-label'), /10 calls in 6 stages\. stage 1: customer, cart; stage 2: /);
  // Before any run: no states, no critical path.
  assert.ok(Object.values(nodes).every((n) => n.state === 'idle' && !n.critical), 'nothing coloured before a run');
  await page.locator('#graph-card').screenshot({ path: join(ARTIFACTS, 'demo-01b-graph.png') });
  assertNoNewProblems();
});

test('the graph is the plan the running package hands out (orderPlan()), not a copy kept by the page', async () => {
  // What the page draws is what orderPlan() of its package says, tooltips included.
  const plan = await page.evaluate(async () => {
    const { orderPlan } = await import('/pkg/parallel_composer.js');
    const { services } = await (await fetch('/config.json')).json();
    return orderPlan({ services });
  });
  assert.deepEqual(Object.keys(plan.calls), SERVICES_IN_PLAN_ORDER);
  const customer = await page.getByTestId('graph-node-customer').locator('title').textContent();
  assert.match(customer, /\(GET \/customers\/\{input\.customerId\}\)$/);
  assertNoNewProblems();

  // A package whose orderPlan() has one more edge (fraud also waits for cart): a page that
  // draws from the package draws it; one that kept its own copy of the edges would not.
  const other = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  try {
    const problems = await watchPage(other);
    const wrapper = [
      "export * from '/pkg/parallel_composer.js?packaged';",
      "export { default } from '/pkg/parallel_composer.js?packaged';",
      "import { orderPlan as packaged } from '/pkg/parallel_composer.js?packaged';",
      'export function orderPlan(options) {',
      '  const plan = packaged(options);',
      "  plan.calls.fraud.after = [...(plan.calls.fraud.after ?? []), 'cart'];",
      '  return plan;',
      '}',
    ].join('\n');
    await other.route(/\/pkg\/parallel_composer\.js(\?packaged)?$/, async (route) => {
      const url = new URL(route.request().url());
      if (url.search === '?packaged') {
        await route.fulfill({ response: await route.fetch({ url: `${url.origin}${url.pathname}` }) });
      } else {
        await route.fulfill({ status: 200, contentType: 'text/javascript', body: wrapper });
      }
    });
    await other.goto(demo.url);
    await other.locator('body[data-app-state="ready"]').waitFor({ timeout: 15000 });
    const drawn = (await other.$$eval('[data-testid^="graph-edge-"]', (els) => els.map((el) => `${el.dataset.from}>${el.dataset.to}`))).sort();
    const documented = Object.entries(DEPENDS).flatMap(([to, from]) => from.map((f) => `${f}>${to}`));
    assert.deepEqual(drawn, [...documented, 'cart>fraud'].sort());
    const fraud = await other.getByTestId('graph-node-fraud').locator('title').textContent();
    assert.match(fraud, /waits for customer, cart/);
    await assertAccessible(other, 'drawn from a package whose plan has one more edge');
    assert.deepEqual(problems.pageErrors, [], 'uncaught exceptions in the page');
    assert.deepEqual(problems.cspViolations, [], 'CSP violations');
    assert.deepEqual(problems.consoleErrors, [], 'console errors');
  } finally {
    await other.close();
  }
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
  // For the README: the top of the page down to the end of the waterfalls, at 1280 px wide,
  // rewritten losslessly to stay small enough for a README (under 250 KB).
  const card = await page.locator('#panels').boundingBox();
  const readme = join(ARTIFACTS, 'demo-02-run-all-readme.png');
  await page.screenshot({ path: readme, fullPage: true, clip: { x: 0, y: 0, width: 1280, height: Math.ceil(card.y + card.height + 20) } });
  const bytes = compactPng(readme);
  assert.ok(bytes < 250 * 1024, `the README screenshot is ${Math.round(bytes / 1024)} KB (at most 250 KB)`);
  if (process.env.PC_UPDATE_SCREENSHOT === '1') copyFileSync(readme, join(ROOT, 'www', 'screenshot.png'));
  await accessible('after "Run all three"');
  assertNoNewProblems();
});

test('the waterfall is drawn live: a bar appears when its call starts and grows until its reply', async () => {
  // A slow payment: the run is still in flight, its early calls done, for 1.5 s.
  await setServices(uniform(30, { payment: 1500 }));
  const before_ = await runCount('eager');
  await page.getByTestId('run-eager').click();
  // One look at the page, taken in the page, at the moment the payment's bar says "in flight".
  const handle = await page.waitForFunction(() => {
    const bar = (call) => document.querySelector(`[data-testid="bar-eager-${call}"]`);
    const payment = bar('payment');
    if (!payment || payment.dataset.state !== 'running') return null;
    const panel = document.querySelector('[data-testid="panel-eager"]');
    return {
      runState: panel.dataset.runState,
      runCount: Number(panel.dataset.runCount),
      total: document.querySelector('[data-testid="total-eager"]').textContent,
      customer: bar('customer') && { state: bar('customer').dataset.state, end: bar('customer').dataset.endMs },
      tax: bar('tax')?.dataset.state ?? null,
      paymentEnd: payment.dataset.endMs,
      paymentWidth: payment.getBoundingClientRect().width,
      order: bar('order') !== null,
      notification: bar('notification') !== null,
      graphPayment: document.querySelector('[data-testid="graph-node-payment"]').dataset.state,
      graphCustomer: document.querySelector('[data-testid="graph-node-customer"]').dataset.state,
    };
  }, null, { timeout: RUN_TIMEOUT, polling: 'raf' });
  const live = await handle.jsonValue();
  await screenshot('02b-live');
  await accessible('while a run is in flight (live waterfall)');
  assert.equal(await page.getByTestId('bar-eager-payment').getAttribute('data-state'), 'running',
    'the run was still in flight when the audit ended (the payment takes 1.5 s)');
  assert.equal(live.runState, 'running', 'the composition is still in flight');
  assert.equal(live.runCount, before_, 'and has not settled');
  assert.match(live.total, /^running… \d+\.\d\d s$/);
  assert.deepEqual(live.customer?.state, 'answered', 'customer already has its reply');
  assert.notEqual(live.customer.end, '', 'and its bar has an end');
  assert.equal(live.tax, 'answered', 'tax has its reply too');
  assert.equal(live.paymentEnd, '', 'the payment bar is open');
  assert.equal(live.order, false, 'no bar for order, which has not started');
  assert.equal(live.notification, false, 'no bar for notification, which has not started');
  assert.equal(live.graphPayment, 'running', 'the graph shows the payment in flight');
  assert.equal(live.graphCustomer, 'answered');
  // The open bar grows while the request is in flight.
  await page.waitForFunction((width) => {
    const payment = document.querySelector('[data-testid="bar-eager-payment"]');
    return payment?.dataset.state === 'running' && payment.getBoundingClientRect().width > width + 10;
  }, live.paymentWidth, { timeout: 5000 });
  // When the composition settles, the engine's own records replace the live ones.
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="panel-eager"]').dataset.runCount) > n, before_, { timeout: RUN_TIMEOUT });
  await page.waitForFunction(() => !document.body.dataset.busy);
  const drawn = await bars('eager');
  assert.deepEqual(Object.keys(drawn).sort(), [...SERVICE_NAMES].sort());
  assert.ok(Object.values(drawn).every((b) => b.state === 'ok'), 'every call ok');
  assert.ok(drawn.payment.end - drawn.payment.start >= 1500, 'the payment took its latency');
  assert.ok(drawn.order.start >= drawn.payment.end, 'order started after the payment');
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

  // The critical path: in eager, the chain through the slow fraud check; in stages, the
  // barrier makes tax wait for fraud as well, so tax is on that path.
  assert.deepEqual(await criticalBars('eager'), ['customer', 'fraud', 'notification', 'order', 'payment']);
  const stagesPath = await criticalBars('stages');
  for (const call of ['fraud', 'tax', 'payment', 'order', 'notification']) assert.ok(stagesPath.includes(call), `stages: ${call} on the path (${stagesPath})`);
  assert.equal(stagesPath.length, 6, `stages: one call of stage 1, then fraud, tax, payment, order, notification (${stagesPath})`);
  assert.match(await page.getByTestId('bar-eager-fraud').getAttribute('title'), /on the critical path/);
  assert.match(await page.getByTestId('bar-eager-fraud').getAttribute('aria-label'), /on the critical path/);
  assert.doesNotMatch(await page.getByTestId('bar-eager-tax').getAttribute('title'), /critical/);
  assert.match(await page.getByTestId('legend').textContent(), /critical path/);
  // The graph shows the last run (eager): its nodes and arrows along the path.
  const nodes = await graphNodes();
  assert.deepEqual(Object.keys(nodes).filter((c) => nodes[c].critical).sort(), ['customer', 'fraud', 'notification', 'order', 'payment']);
  assert.ok(Object.values(nodes).every((n) => n.state === 'ok'), 'graph nodes coloured by the run: ok');
  assert.deepEqual(await graphEdges('graph', { critical: true }), ['customer>fraud', 'fraud>payment', 'order>notification', 'payment>order']);
  assert.match(await text('graph-caption'), /^Eager run, \d+\.\d\d s\. Critical path \(heavy outline\): customer → fraud → payment → order → notification\./);
  await page.locator('#graph-card').scrollIntoViewIfNeeded();
  await screenshot('03-skewed-latency');
  await accessible('after a stages and an eager run, critical path drawn');
  assertNoNewProblems();
});

test('"Make fraud slow" slows the running fraud service, and eager overtakes stages', async () => {
  await setServices(DEMO_LATENCY);
  await page.getByTestId('preset-slow-fraud').click();
  await page.locator('#services[data-config-state="applied"]').waitFor({ timeout: 5000 });
  assert.equal(await page.getByTestId('latency-fraud').inputValue(), '900');
  const config = await getJson(`${demo.config.adminUrl}/scenarios/default`);
  assert.equal(config.latency.fraud, 900, 'the mock runs fraud at 900 ms');
  assert.equal(config.latency.tax, DEMO_LATENCY.tax, 'the others are unchanged');
  await run('run-all', MODES);
  const stages = await total('stages');
  const eager = await total('eager');
  assert.ok(eager < stages, `eager ${eager} ms < stages ${stages} ms`);
  const e = await bars('eager');
  const st = await bars('stages');
  assert.ok(e.fraud.end - e.fraud.start >= 900, 'fraud took 900 ms');
  assert.ok(e.tax.end < e.fraud.end, 'eager: tax done while fraud still checks');
  assert.ok(st.tax.start >= st.fraud.end, 'stages: tax waits for fraud');
  assert.match(await text('speedup'), /Eager saves another \d+ ms over stages/);
  await screenshot('03b-slow-fraud');

  // "Restore start-up settings" puts the demo's latencies back, on the page and in the mock.
  await page.getByTestId('reset-services').click();
  await page.locator('#services[data-config-state="applied"]').waitFor({ timeout: 5000 });
  assert.equal(await page.getByTestId('latency-fraud').inputValue(), String(DEMO_LATENCY.fraud));
  assert.equal((await getJson(`${demo.config.adminUrl}/scenarios/default`)).latency.fraud, DEMO_LATENCY.fraud);
  await accessible('after "Make fraud slow", a run of all three and "Restore start-up settings"');
  assertNoNewProblems();
});

test('each run button runs its own schedule only', async () => {
  await setServices(uniform(20));
  const counts = Object.fromEntries(await Promise.all(MODES.map(async (m) => [m, await runCount(m)])));
  await run('run-sequential', ['sequential']);
  assert.equal(await runCount('stages'), counts.stages, 'stages did not run');
  assert.equal(await runCount('eager'), counts.eager, 'eager did not run');
  const seq = Object.values(await bars('sequential')).sort((a, b) => a.start - b.start);
  assert.equal(seq.length, 10);
  for (let i = 1; i < seq.length; i++) assert.ok(seq[i].start >= seq[i - 1].end, 'one call at a time');
  assert.match(await text('result-summary'), /^Sequential run: order ord-\d+ confirmed/);
  await accessible('after a sequential run');
  await run('run-stages', ['stages']);
  assert.equal(await runCount('sequential'), counts.sequential + 1, 'sequential ran once');
  assert.equal(await runCount('eager'), counts.eager, 'eager still did not run');
  assert.match(await text('result-summary'), /^Stages run: order ord-\d+ confirmed/);
  await accessible('after a stages run');
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

  // The reservation made before the decline was released, and the page says so.
  assert.equal(await page.getByTestId('error-compensations').isVisible(), true);
  assert.equal(await text('undo-summary'), 'Undone: inventory reservation released (ok).');
  assert.equal(await page.getByTestId('compensation-inventory').getAttribute('data-state'), 'ok');
  assert.equal(await page.getByTestId('compensation-payment').count(), 0, 'a declined authorization has nothing to void');
  const undo = page.getByTestId('undo-eager-inventory');
  assert.equal(await undo.getAttribute('data-state'), 'ok');
  assert.ok(Number(await undo.getAttribute('data-start-ms')) >= drawn.payment.end, 'the release ran after the decline');
  assert.match(await undo.getAttribute('title'), /^inventory, undone: ok/);
  const log = await mockLog();
  const reserved = log.filter((e) => e.service === 'inventory' && e.method === 'POST').at(-1);
  const released = log.find((e) => e.service === 'inventory' && e.method === 'DELETE' && e.seq > reserved.seq);
  assert.ok(released, 'the mock saw the reservation released');
  assert.equal(released.status, 200);
  assert.match(released.path, /^\/reservations\/res-\d+$/);
  await page.getByTestId('error-panel').scrollIntoViewIfNeeded();
  await screenshot('04-payment-declined');
  await accessible('with the error panel of a declined payment');
  assertNoNewProblems();
});

test('a fraud reject shows the error panel naming the fraud call; payment is never sent', async () => {
  // Fraud answers last, so the stock is reserved by the time it rejects.
  await setServices(uniform(20, { fraud: 300 }), { fraud: 'reject' });
  const before_ = (await mockLog()).at(-1)?.seq ?? 0;
  await run('run-eager', ['eager']);
  await page.locator('[data-testid="error-panel"][data-code="FRAUD_REJECTED"]').waitFor({ state: 'visible' });
  assert.equal(await text('error-call'), 'fraud');
  assert.equal(await page.getByTestId('error-state-fraud').getAttribute('data-state'), 'failed');
  assert.notEqual(await page.getByTestId('error-state-payment').getAttribute('data-state'), 'ok');
  assert.equal((await bars('eager')).fraud.state, 'failed');
  const sent = (await mockLog()).filter((e) => e.seq > before_);
  assert.ok(!sent.some((e) => e.service === 'payment'), 'no payment request reached the mock');
  // The reservation made before the rejection is released; the page shows it.
  assert.equal(await page.getByTestId('compensation-inventory').getAttribute('data-state'), 'ok');
  assert.equal(await text('undo-summary'), 'Undone: inventory reservation released (ok).');
  assert.ok(sent.some((e) => e.service === 'inventory' && e.method === 'DELETE' && e.status === 200), 'the mock saw the release');
  assert.equal((await graphNodes()).fraud.state, 'failed', 'the graph shows fraud failed');
  await screenshot('04b-fraud-reject');
  await accessible('with the error panel of a fraud reject');
  assertNoNewProblems();
});

test('an HTTP 500 from the order service names the order call', async () => {
  await setServices(uniform(20), { order: 'http500' });
  await run('run-eager', ['eager']);
  await page.getByTestId('error-panel').waitFor({ state: 'visible' });
  assert.equal(await text('error-code'), 'HTTP_STATUS');
  assert.equal(await text('error-call'), 'order');
  assert.equal(await text('error-status'), '500');
  // A 5xx does not rule out that the order was placed (a proxy, or the browser's own resend
  // of a request whose reply was lost, can hide one): its outcome is unknown, and what it
  // stands on is left in place rather than undone under a possible order.
  assert.equal(await page.getByTestId('error-state-order').getAttribute('data-state'), 'unknown');
  assert.equal(await page.getByTestId('error-state-payment').getAttribute('data-state'), 'ok');
  assert.match(await page.locator('#error-writes').textContent(), /payment \(a payment authorization\)/);
  assert.match(await page.locator('#error-writes').textContent(), /possibly applied: order/);
  assert.deepEqual(
    await page.$$eval('#compensations li', (els) => els.map((el) => [el.dataset.testid, el.dataset.state])),
    [['compensation-payment', 'not-run'], ['compensation-inventory', 'not-run']],
  );
  assert.match(await text('undo-summary'), /^Not undone, so possibly still in place: payment \(.+\), inventory \(.+\)\.$/);
  const log = await mockLog();
  const ordered = log.filter((e) => e.service === 'order' && e.method === 'POST').at(-1);
  const undo = log.filter((e) => e.seq > ordered.seq
    && ((e.service === 'payment' && /\/void$/.test(e.path)) || (e.service === 'inventory' && e.method === 'DELETE')));
  assert.deepEqual(undo, [], 'nothing was undone under an order that may exist');
  assert.equal(await page.getByTestId('undo-eager-payment').count(), 0, 'no undo bar: nothing ran');
  await screenshot('05-order-500');
  await accessible('with the error panel of an HTTP 500');
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
  // "outcome unknown" has its colour, in the chip and in the legend.
  assert.match(await page.getByTestId('error-state-payment').locator('.chip').getAttribute('class'), /\bstate-unknown\b/);
  assert.match(await page.getByTestId('legend').textContent(), /outcome unknown/);
  // Nothing is sent after an abort: the reservation is not released, and the page says why.
  assert.equal(await page.getByTestId('compensation-inventory').getAttribute('data-state'), 'not-run');
  assert.match(await page.getByTestId('compensation-inventory').textContent(), /aborted/);
  assert.match(await text('undo-summary'), /^Not undone, so possibly still in place: .*inventory \(not run\)/);
  const afterCancel = (await mockLog()).filter((e) => e.seq > entry.seq);
  assert.deepEqual(afterCancel.map((e) => `${e.method} ${e.service}${e.path}`), [], 'nothing was sent after the abort');
  await page.waitForFunction(() => !document.body.dataset.busy);
  assert.equal(await cancel.isDisabled(), true, 'cancel disabled again after the run');

  // The mock saw the browser drop the hung request.
  const aborted = await waitFor(async () => {
    const log = await getJson(`${demo.config.adminUrl}/log?scenario=default`);
    return log.find((e) => e.seq === entry.seq && e.aborted === true);
  }, { timeout: 5000, message: 'the hung payment request to be logged as aborted' });
  assert.equal(aborted.status, null, 'the hung request never got a reply');
  await screenshot('06-cancelled');
  await accessible('with the error panel of a cancelled run');
  assertNoNewProblems();
});

/** The order flow's calls a composer caches, and so Prefetch fetches: the reads and the quotes. */
const PREFETCHED = ['cart', 'customer', 'pricing', 'shipping', 'tax'];

/** The mock's log entries after `seq`, as sorted "METHOD service" lines. */
async function sentSince(seq) {
  return (await mockLog()).filter((e) => e.seq > seq).map((e) => `${e.method} ${e.service}`).sort();
}

const lastSeq = async () => (await mockLog()).at(-1)?.seq ?? 0;

test('Prefetch, then Eager: the cached calls are marked, only the others are sent on the click, and the times compare', async () => {
  // A slow customer: the read on the cold run's critical path that a prefetch takes off it;
  // a slow payment, to look at the run while it is in flight.
  await setServices(uniform(60, { customer: 500, payment: 400 }));
  await run('run-eager', ['eager']);
  const cold = await total('eager');
  // customer 500, pricing 60, tax 60, payment 400, order 60, notification 60.
  assert.ok(cold >= 1140, `the cold eager run ${cold} ms cannot beat its critical path of 1140 ms`);
  assert.equal(await page.locator('[data-testid^="bar-eager-"][data-cached]').count(), 0, 'a cold run takes nothing from a cache');
  assert.equal(await page.getByTestId('prefetch-status').getAttribute('data-state'), 'idle');

  // Prefetch: the reads and the quotes, never a write; the graph marks what the cache holds.
  const beforePrefetch = await lastSeq();
  await page.getByTestId('prefetch').click();
  await page.locator('[data-testid="prefetch-status"][data-state="ready"]').waitFor({ timeout: RUN_TIMEOUT });
  await page.waitForFunction(() => !document.body.dataset.busy);
  assert.match(await text('prefetch-status'), /^Prefetched customer, cart, pricing, shipping and tax in \d+ ms \(5 requests\), fresh for 30 s: press Eager/);
  assert.deepEqual(await sentSince(beforePrefetch), ['GET cart', 'GET customer', 'POST pricing', 'POST shipping', 'POST tax']);
  const nodes = await graphNodes();
  assert.deepEqual(Object.keys(nodes).filter((c) => nodes[c].state === 'cached').sort(), PREFETCHED);
  assert.ok(Object.keys(nodes).filter((c) => !PREFETCHED.includes(c)).every((c) => nodes[c].state === 'idle'), 'the other calls are unmarked');
  assert.match(await page.getByTestId('graph-node-customer').locator('title').textContent(), /; from the cache/);
  assert.match(await text('graph-caption'), /^Prefetched \(green outline\): customer, cart, pricing, shipping and tax, in the composer's cache for 30 s\./);
  assert.equal(await page.getByTestId('run-eager').isEnabled(), true);
  await accessible('after Prefetch (the cached calls marked in the graph)');

  // The click: Eager through the composer. The cached calls send nothing; the others do.
  const beforeClick = await lastSeq();
  const runs = await runCount('eager');
  await page.getByTestId('run-eager').click();
  // While the payment is in flight, the cached calls are drawn already, with their age (from
  // their start events).
  const live = await (await page.waitForFunction((names) => {
    if (document.querySelector('[data-testid="bar-eager-payment"]')?.dataset.state !== 'running') return null;
    return names.filter((name) => {
      const bar = document.querySelector(`[data-testid="bar-eager-${name}"]`);
      return bar?.dataset.cached === 'true' && /^\d+$/.test(bar.dataset.ageMs ?? '');
    });
  }, PREFETCHED, { timeout: RUN_TIMEOUT, polling: 'raf' })).jsonValue();
  assert.deepEqual(live, PREFETCHED, 'the cached calls are drawn, with their age, while the run is in flight');
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="panel-eager"]').dataset.runCount) > n, runs, { timeout: RUN_TIMEOUT });
  await page.waitForFunction(() => !document.body.dataset.busy);
  assert.deepEqual(await sentSince(beforeClick), ['POST fraud', 'POST inventory', 'POST notification', 'POST order', 'POST payment'],
    'only the uncached calls reached the mock on the click');
  const drawn = await page.$$eval('[data-testid^="bar-eager-"]', (els) => Object.fromEntries(els.map((el) => [
    el.dataset.testid.slice('bar-eager-'.length),
    {
      state: el.dataset.state,
      cached: el.dataset.cached === 'true',
      ageMs: el.dataset.ageMs === undefined ? null : Number(el.dataset.ageMs),
      start: Number(el.dataset.startMs),
      end: Number(el.dataset.endMs),
      label: el.getAttribute('aria-label'),
      hollow: getComputedStyle(el).backgroundColor === 'rgb(255, 255, 255)',
      detail: el.closest('li').querySelector('.row-detail').textContent,
    },
  ])));
  assert.deepEqual(Object.keys(drawn).sort(), [...SERVICE_NAMES].sort(), 'one bar per call');
  for (const [call, bar] of Object.entries(drawn)) {
    assert.equal(bar.state, 'ok', `${call} ok`);
    if (PREFETCHED.includes(call)) {
      assert.ok(bar.cached, `${call} is marked as from the cache`);
      assert.ok(bar.hollow, `${call}'s bar is hollow`);
      assert.ok(bar.ageMs > 0 && bar.ageMs < 30000, `${call}'s reply was ${bar.ageMs} ms old`);
      assert.match(bar.label, new RegExp(`^${call}: from the cache, \\d+\\.\\d s old`), `${call}'s accessible name`);
      assert.match(bar.detail, /^cached · \d+\.\d\u00a0s\u00a0old$/);
      assert.ok(bar.start < 50, `${call} was served at once (at ${bar.start} ms)`);
    } else {
      assert.ok(!bar.cached && !bar.hollow, `${call} is not marked as cached`);
      assert.match(bar.label, new RegExp(`^${call}: ok, \\d+ ms → \\d+ ms`));
      assert.ok(bar.end - bar.start >= 60, `${call} took its latency`);
    }
  }
  // The click-to-confirmation time, with the prefetch and without it.
  const warm = await total('eager');
  assert.ok(warm < cold, `after prefetch ${warm} ms < cold ${cold} ms`);
  assert.equal(await page.getByTestId('panel-eager').getAttribute('data-prefetched'), 'true');
  const said = /^Eager after prefetch (\d+\.\d\d) s vs cold (\d+\.\d\d) s: (\d+) ms sooner from click to confirmation\./.exec(await text('speedup'));
  assert.ok(said, `the comparison sentence: ${await text('speedup')}`);
  assert.ok(Math.abs(Number(said[1]) - warm / 1000) <= 0.006, `sentence says ${said[1]} s, panel ${warm} ms`);
  assert.ok(Math.abs(Number(said[2]) - cold / 1000) <= 0.006, `sentence says cold ${said[2]} s, the cold run took ${cold} ms`);
  assert.match(await page.locator('[data-testid="panel-eager"] .panel-note').textContent(),
    /^after prefetch: 5 of 10 calls from the cache, cold run \d+\.\d\d s \(dashed line\)$/);
  const mark = page.getByTestId('mark-eager-cold');
  assert.ok(Math.abs(Number(await mark.getAttribute('data-at-ms')) - cold) <= 0.5, 'the cold run is marked where it ended');
  assert.match(await mark.textContent(), /^cold run \d+\.\d\d s$/);
  assert.match(await text('result-summary'), /^Eager run after prefetch: order ord-\d+ confirmed, total \$88\.78/);
  assert.equal(await page.getByTestId('prefetch-status').getAttribute('data-state'), 'used');
  assert.match(await text('prefetch-status'),
    /^The Eager run took customer, cart, pricing, shipping and tax from the cache and sent inventory, fraud, payment, order and notification\./);
  await page.getByTestId('panel-eager').scrollIntoViewIfNeeded();
  await screenshot('05b-prefetch');
  await accessible('after Prefetch and an Eager run from the cache');

  // One prefetch serves one click: the next Eager run is cold, all ten calls sent, and it is
  // compared with the run after the prefetch the other way round.
  const beforeNext = await lastSeq();
  await run('run-eager', ['eager']);
  assert.equal((await sentSince(beforeNext)).length, SERVICE_NAMES.length, 'the next run sent every call');
  assert.equal(await page.locator('[data-testid^="bar-eager-"][data-cached]').count(), 0);
  assert.equal(await page.getByTestId('panel-eager').getAttribute('data-prefetched'), 'false');
  assert.equal(await page.getByTestId('mark-eager-cold').count(), 0);
  assert.ok(Math.abs(Number(await page.getByTestId('mark-eager-prefetched').getAttribute('data-at-ms')) - warm) <= 0.5);
  assert.match(await page.locator('[data-testid="panel-eager"] .panel-note').textContent(), /^after prefetch \d+\.\d\d s \(dashed line\)$/);
  const again = /^Eager after prefetch (\d+\.\d\d) s vs cold (\d+\.\d\d) s/.exec(await text('speedup'));
  assert.ok(again && Math.abs(Number(again[2]) - (await total('eager')) / 1000) <= 0.006, `compared with the new cold run: ${await text('speedup')}`);
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
  await accessible('after an eager run started from the keyboard');
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
  await accessible('with an invalid plan (a cycle) flagged in the plan editor');

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
  await accessible('after a run of the plan editor\'s plan');
  assertNoNewProblems();
});

test('the plan editor preloads examples: a fallback, a compensation, a cycle, each shown as a graph', async () => {
  await idlePage();
  const picker = page.getByTestId('plan-example');
  const options = await picker.locator('option').evaluateAll((els) => els.map((el) => el.value));
  assert.ok(options.length >= 4, `several examples (${options})`);
  for (const id of ['fan-out', 'fallback', 'compensation', 'cycle']) assert.ok(options.includes(id), `example ${id}`);

  // The first example's graph: its calls, and an arrow for each placeholder and `after`.
  await picker.selectOption('fan-out');
  await page.locator('[data-testid="plan-errors"][data-valid="true"]').waitFor();
  const fanOut = await graphNodes('plan-graph');
  assert.deepEqual(Object.fromEntries(Object.entries(fanOut).map(([c, n]) => [c, n.stage])),
    { profile: 0, catalog: 0, quote: 1, stock: 1, audit: 2 });
  assert.deepEqual(await graphEdges('plan-graph'),
    ['catalog>quote', 'catalog>stock', 'profile>audit', 'profile>quote', 'quote>audit', 'stock>audit']);
  await accessible('with the fan-out example loaded and its graph drawn');

  // A cycle is flagged inline, before anything is sent.
  await picker.selectOption('cycle');
  await page.locator('[data-testid="plan-errors"][data-valid="false"]').waitFor();
  assert.match(await text('plan-errors'), /^INVALID_PLAN: cycle: a -> b -> a/);
  assert.equal(await page.getByTestId('run-plan').isDisabled(), true);
  assert.equal(await page.locator('[data-testid^="plan-graph-node-"]').count(), 0, 'no graph for an invalid plan');
  assert.match(await text('example-about'), /cycle|each call waits for the other/i);
  await accessible('with the cycle example loaded and flagged');

  // An optional call with a fallback: it fails (503, retried), and its fallback stands in.
  await picker.selectOption('fallback');
  await page.locator('[data-testid="plan-errors"][data-valid="true"]').waitFor();
  await page.getByTestId('run-plan').click();
  await page.locator('#plan-output[data-run-state="ok"]').waitFor({ timeout: RUN_TIMEOUT });
  const fell = JSON.parse(await page.getByTestId('plan-result').textContent());
  assert.deepEqual(fell.fellBack, ['recommendations']);
  assert.equal(fell.data.page.body.picks, 'bestsellers', 'the dependent call ran with the fallback');
  assert.match(await text('plan-summary'), /Fell back: recommendations\./);
  const fellBars = await bars('plan');
  assert.equal(fellBars.recommendations.state, 'failed');
  assert.equal(fellBars.page.state, 'ok');
  await accessible('after the fallback example ran');

  // A compensation: the reservation is made, the charge fails, the reservation is released.
  await picker.selectOption('compensation');
  await page.locator('[data-testid="plan-errors"][data-valid="true"]').waitFor();
  assert.deepEqual(await page.locator('[data-testid="plan-stages"] li').allTextContents(), ['cart', 'reserve', 'charge']);
  await page.getByTestId('run-plan').click();
  await page.locator('#plan-output[data-run-state="failed"]').waitFor({ timeout: RUN_TIMEOUT });
  assert.match(await text('plan-summary'), /rejected after \d+ ms: HTTP_STATUS in call “charge”/);
  assert.equal(await page.getByTestId('plan-compensation-reserve').getAttribute('data-state'), 'ok');
  assert.equal(await page.getByTestId('undo-plan-reserve').getAttribute('data-state'), 'ok');
  const planGraph = await graphNodes('plan-graph');
  assert.equal(planGraph.charge.state, 'failed');
  assert.equal(planGraph.reserve.state, 'ok');
  const log = await mockLog();
  const reserved = log.filter((e) => e.service === 'inventory' && e.method === 'POST' && e.path === '/reservations').at(-1);
  const released = log.find((e) => e.service === 'inventory' && e.method === 'DELETE' && e.seq > reserved.seq);
  assert.equal(released?.status, 200, 'the mock saw the reservation released');
  await page.locator('#plan-output').scrollIntoViewIfNeeded();
  await screenshot('08b-plan-compensation');
  await accessible('after the compensation example failed and was undone');
  // Chromium logs each non-2xx fetch: the 503s of the fallback example and the charge's 402.
  const { fraud, payment } = demo.config.services;
  const p = assertNoNewProblems({
    allowConsoleError: (e) => (e.url.startsWith(`${fraud}/lab/echo`) && /status of 503/.test(e.text))
      || (e.url.startsWith(`${payment}/lab/echo`) && /status of 402/.test(e.text)),
  });
  assert.ok(p.consoleErrors.length >= 2, 'Chromium reported the 503 and the 402 (so the filter is not vacuous)');
});

test('the condition example: calls that are not needed send nothing and show as not needed; one ordered after them runs', async () => {
  await idlePage();
  const picker = page.getByTestId('plan-example');
  await picker.selectOption('condition');
  await page.locator('[data-testid="plan-errors"][data-valid="true"]').waitFor();
  assert.match(await text('example-about'), /silver: points is not needed/);
  // The condition's placeholder is a dependency like any other, and `after` is one too.
  assert.deepEqual(await page.locator('[data-testid="plan-stages"] li').allTextContents(), ['customer', 'points', 'badge, receipt']);
  assert.deepEqual(await graphEdges('plan-graph'), ['customer>points', 'customer>receipt', 'points>badge', 'points>receipt']);

  const before_ = (await mockLog()).at(-1)?.seq ?? 0;
  await page.getByTestId('run-plan').click();
  await page.locator('#plan-output[data-run-state="ok"]').waitFor({ timeout: RUN_TIMEOUT });
  assert.match(await text('plan-summary'), /^compose\(\) resolved in \d+ ms \(eager\)\. Not needed: points, badge\.$/);
  const result = JSON.parse(await page.getByTestId('plan-result').textContent());
  assert.deepEqual(result.data.receipt.body, { customer: '7' }, 'receipt ran, with what customer said');

  // In the waterfall: no times for the calls not needed, marked and titled as such; the others ran.
  const drawn = await bars('plan');
  for (const call of ['points', 'badge']) {
    assert.deepEqual(drawn[call], { state: 'not-needed', start: null, end: null }, `${call} not needed, never started`);
    const bar = page.getByTestId(`bar-plan-${call}`);
    assert.match(await bar.getAttribute('class'), /\bstate-not-needed\b/);
    assert.equal(await bar.getAttribute('title'), `${call}: not needed, never started`);
    assert.equal(await bar.getAttribute('aria-label'), `${call}: not needed, never started`);
    assert.equal(await page.getByTestId('plan-waterfall').locator(`li[data-call="${call}"] .row-detail`).textContent(), 'not needed');
  }
  assert.equal(drawn.customer.state, 'ok');
  assert.equal(drawn.receipt.state, 'ok', 'a call only ordered after points still runs');
  assert.ok(drawn.receipt.start >= drawn.customer.end, 'receipt waited for customer');

  // In the graph: the same states, in the nodes' data and in their titles.
  const nodes = await graphNodes('plan-graph');
  assert.deepEqual(Object.fromEntries(Object.entries(nodes).map(([c, n]) => [c, n.state])),
    { customer: 'ok', points: 'not-needed', badge: 'not-needed', receipt: 'ok' });
  assert.match(await page.getByTestId('plan-graph-node-points').locator('title').textContent(), /^points \(stage 2\): waits for customer; not needed$/);
  assert.ok(!nodes.points.critical && !nodes.badge.critical, 'a call that never ran is not on the critical path');

  // The legend names the state, with a swatch of its own: not the one of skipped or not sent.
  assert.match(await text('legend'), /not needed/);
  const swatches = await page.$$eval('[data-testid="legend"] .swatch', (els) => Object.fromEntries(els.map((el) => {
    const style = getComputedStyle(el);
    return [el.classList[1], `${style.backgroundColor} ${style.backgroundImage} ${style.borderStyle} ${style.boxShadow}`];
  })));
  assert.ok(swatches['state-not-needed'], 'a not-needed swatch');
  assert.notEqual(swatches['state-not-needed'], swatches['state-skipped']);
  assert.notEqual(swatches['state-not-needed'], swatches['state-not-sent']);

  // The mock saw customer and receipt, and nothing for points or badge.
  const sent = (await mockLog()).filter((e) => e.seq > before_);
  assert.deepEqual(sent.map((e) => `${e.method} ${e.service}${e.path}`).sort(), ['GET customer/lab/echo', 'POST notification/lab/echo']);
  await page.locator('#plan-output').scrollIntoViewIfNeeded();
  await screenshot('08c-plan-condition');
  await accessible('after the condition example ran, two calls not needed');

  // A gold customer: the condition holds, and all four calls run.
  await page.getByTestId('plan-input').fill('{"tier": "gold"}');
  await page.locator('[data-testid="plan-errors"][data-valid="true"]').waitFor();
  await page.getByTestId('run-plan').click();
  await page.locator('#plan-output[data-run-state="ok"]').waitFor({ timeout: RUN_TIMEOUT });
  assert.doesNotMatch(await text('plan-summary'), /Not needed/);
  const gold = await bars('plan');
  assert.ok(Object.values(gold).every((b) => b.state === 'ok'), 'every call ok for a gold customer');
  assert.ok(gold.badge.start >= gold.points.end, 'badge read the points');

  // A call that names another only in its condition waits for it all the same: an arrow, a later stage.
  const { customer, cart } = demo.config.services;
  const onlyInWhen = { calls: { a: { url: `${customer}/lab/echo` }, b: { url: `${cart}/lab/echo`, when: { exists: '{a.query}' } } } };
  await page.getByTestId('plan-text').fill(JSON.stringify(onlyInWhen, null, 2));
  await page.locator('[data-testid="plan-errors"][data-valid="true"]').waitFor();
  assert.deepEqual(await page.locator('[data-testid="plan-stages"] li').allTextContents(), ['a', 'b']);
  assert.deepEqual(await graphEdges('plan-graph'), ['a>b']);
  assertNoNewProblems();
});

test('the forEach example: the fan-out call is a stack with its item count, and each item has a bar of its own', async () => {
  await idlePage();
  await page.getByTestId('plan-example').selectOption('for-each');
  await page.locator('[data-testid="plan-errors"][data-valid="true"]').waitFor();
  // forEach's placeholder is a dependency; the call's own element ({product...}) is no call.
  assert.deepEqual(await page.locator('[data-testid="plan-stages"] li').allTextContents(), ['products', 'details', 'summary']);
  assert.deepEqual(await graphEdges('plan-graph'), ['details>summary', 'products>details']);
  const idle = await fanOutNode('plan-graph', 'details');
  assert.deepEqual({ ...idle, title: undefined, graphLabel: undefined }, { fanOut: true, cards: 2, badge: 'forEach', count: '', title: undefined, graphLabel: undefined },
    'a stack of cards, and no count before the list is read');
  assert.equal(idle.title, 'details (stage 2): waits for products; once per item of its list');
  assert.match(idle.graphLabel, / details runs once per item of its list\./);
  assert.equal((await fanOutNode('plan-graph', 'products')).fanOut, false, 'a call without forEach is a single card');
  assert.equal(await page.getByTestId('plan-graph-node-products').locator('rect.stack-card').count(), 0);
  await accessible('with the forEach example loaded: a stack in the graph');

  const before_ = (await mockLog()).at(-1)?.seq ?? 0;
  await page.getByTestId('run-plan').click();
  // While it runs: item bars appear as items start, and the count is not known yet.
  const live = await (await page.waitForFunction(() => {
    const output = document.querySelector('#plan-output');
    const item = document.querySelector('[data-testid="item-plan-details-1"]');
    if (output.dataset.runState !== 'running') return { missed: output.dataset.runState };
    if (!item) return null;
    const badge = document.querySelector('[data-testid="plan-graph-count-details"]');
    return { state: item.dataset.state, badge: badge.textContent, node: document.querySelector('[data-testid="plan-graph-node-details"]').dataset.state };
  }, null, { timeout: RUN_TIMEOUT })).jsonValue();
  assert.equal(live.missed, undefined, `the run was still in flight when its second item started (${live.missed})`);
  assert.equal(live.state, 'running', 'the second item is drawn in flight');
  assert.equal(live.badge, 'forEach', 'no count while the call runs');
  assert.equal(live.node, 'running');

  await page.locator('#plan-output[data-run-state="ok"]').waitFor({ timeout: RUN_TIMEOUT });
  const result = JSON.parse(await page.getByTestId('plan-result').textContent());
  assert.deepEqual(result.data.summary.body.products.map((p) => [p.path, p.query.name]),
    [1, 2, 3, 4, 5].map((k) => [`/lab/echo/products/${k}`, `item-${k}`]), 'summary read the whole array, in list order');

  // The graph: the count, in the badge, the node's title and the graph's name.
  const done = await fanOutNode('plan-graph', 'details');
  assert.equal(done.badge, '×5');
  assert.equal(done.count, '5');
  assert.match(done.title, /^details \(stage 2\): waits for products; once per item of its list, 5 items; ok/);
  assert.match(done.graphLabel, / details runs once per item of its list \(5 items\)\./);

  // The waterfall: five item bars, in list order down the call's row, each at least its delay long.
  const items = await itemBars('plan', 'details');
  assert.deepEqual(items.map((b) => b.item), [0, 1, 2, 3, 4], 'one bar per item, in list order');
  assert.ok(items.every((b, k) => k === 0 || b.top > items[k - 1].top), 'each item in a lane below the one before');
  assert.ok(items.every((b) => b.state === 'ok'), 'every item ok');
  items.forEach((b, k) => assert.ok(b.end - b.start >= (k + 1) * 100 - 1, `item ${k} took its ${(k + 1) * 100} ms (${b.end - b.start})`));
  assert.equal(mostAtOnce(items), 2, 'two items at a time: concurrency 2');
  assert.match(items[3].label, /^details\[3\]: ok, \d+ ms → \d+ ms$/);
  const drawn = await bars('plan');
  assert.equal(drawn.details.state, 'ok');
  assert.ok(items.every((b) => drawn.details.start <= b.start && b.end <= drawn.details.end + 0.1), 'the call spans its items');
  assert.ok(drawn.products.end <= drawn.details.start && drawn.details.end <= drawn.summary.start);
  assert.match(await page.getByTestId('bar-plan-details').getAttribute('aria-label'), /^details \(5 items\): ok, /);
  assert.match(await page.getByTestId('plan-waterfall').locator('li[data-call="details"] .row-detail').textContent(), /^5 items · \d+ ms$/);

  // The mock saw one request per item.
  const sent = (await mockLog()).filter((e) => e.seq > before_ && e.path.startsWith('/lab/echo/products/'));
  assert.deepEqual(sent.map((e) => e.path).sort(), [1, 2, 3, 4, 5].map((k) => `/lab/echo/products/${k}`));
  await page.locator('#plan-output').scrollIntoViewIfNeeded();
  await screenshot('08d-plan-for-each');
  await accessible('after the forEach example ran: five item bars');
  assertNoNewProblems();
});

test('a fan-out with a failing item: the failing item stands out, the others show how they were stopped', async () => {
  await idlePage();
  await page.getByTestId('plan-example').selectOption('for-each-failure');
  await page.locator('[data-testid="plan-errors"][data-valid="true"]').waitFor();
  assert.deepEqual(await graphEdges('plan-graph'), ['stock>order']);
  await page.getByTestId('run-plan').click();
  await page.locator('#plan-output[data-run-state="failed"]').waitFor({ timeout: RUN_TIMEOUT });
  assert.match(await text('plan-summary'), /rejected after \d+ ms: HTTP_STATUS in call “stock”, item 2\.$/);
  const result = JSON.parse(await page.getByTestId('plan-result').textContent());
  assert.equal(result.item, 2);
  assert.equal(result.status, 404);

  const items = await itemBars('plan', 'stock');
  assert.deepEqual(items.map((b) => [b.item, b.state]), [[0, 'cancelled'], [1, 'ok'], [2, 'failed'], [3, 'not-sent']],
    'line 0 stopped in flight, line 2 failed, line 3 never sent');
  assert.equal(items[3].start, null);
  assert.match(items[3].label, /^stock\[3\]: not sent, never started$/);
  assert.match(items[2].label, /^stock\[2\]: failed, \d+ ms → \d+ ms$/);
  const failedBox = await page.getByTestId('item-plan-stock-2').boundingBox();
  const okBox = await page.getByTestId('item-plan-stock-1').boundingBox();
  assert.ok(failedBox.height > okBox.height, 'the failed item is drawn taller than the others');
  assert.equal(await page.getByTestId('plan-waterfall').locator('li[data-call="stock"] .row-detail').textContent(), '[2] HTTP 404');
  const drawn = await bars('plan');
  assert.equal(drawn.stock.state, 'failed');
  assert.equal(drawn.order.state, 'skipped');
  const nodes = await graphNodes('plan-graph');
  assert.equal(nodes.stock.state, 'failed');
  assert.equal(nodes.order.state, 'skipped');
  assert.equal((await fanOutNode('plan-graph', 'stock')).badge, '×4');
  await page.locator('#plan-output').scrollIntoViewIfNeeded();
  await screenshot('08e-plan-for-each-failure');
  await accessible('after a fan-out call failed on one item');
  const { inventory } = demo.config.services;
  const p = assertNoNewProblems({ allowConsoleError: (e) => e.url.startsWith(`${inventory}/lab/echo/stock/C-3`) && /status of 404/.test(e.text) });
  assert.equal(p.consoleErrors.length, 1, 'Chromium reported the 404 (so the filter is not vacuous)');
});

test('a fan-out whose writes are undone: each item undone on its own, one span on the call\'s row', async () => {
  await idlePage();
  await page.getByTestId('plan-example').selectOption('for-each-undo');
  await page.locator('[data-testid="plan-errors"][data-valid="true"]').waitFor();
  await page.getByTestId('run-plan').click();
  await page.locator('#plan-output[data-run-state="failed"]').waitFor({ timeout: RUN_TIMEOUT });
  const result = JSON.parse(await page.getByTestId('plan-result').textContent());
  assert.deepEqual(result.compensations.map((c) => [c.call, c.item, c.state]).sort(),
    [['hold', 0, 'ok'], ['hold', 1, 'ok'], ['hold', 2, 'ok']]);
  for (const k of [0, 1, 2]) {
    const entry = page.getByTestId(`plan-compensation-hold[${k}]`);
    assert.equal(await entry.getAttribute('data-state'), 'ok');
    assert.match(await entry.textContent(), new RegExp(`hold\\[${k}\\] undone`));
  }
  const undo = page.getByTestId('undo-plan-hold');
  assert.match(await undo.getAttribute('aria-label'), /^hold, 3 items undone/);
  const released = (await mockLog()).filter((e) => e.method === 'DELETE' && e.path.startsWith('/lab/echo/release/'));
  assert.deepEqual(released.map((e) => e.path).sort(), ['/lab/echo/release/A-1', '/lab/echo/release/B-2', '/lab/echo/release/C-3']);
  await page.locator('#plan-output').scrollIntoViewIfNeeded();
  await accessible('after a fan-out call\'s writes were undone');
  assertNoNewProblems({ allowConsoleError: (e) => e.url.startsWith(`${demo.config.services.payment}/lab/echo`) && /status of 402/.test(e.text) });
});

test('a call that is not needed is marked as soon as its skip event comes, while the run goes on', async () => {
  await idlePage();
  await page.getByTestId('plan-example').selectOption('condition');
  await page.locator('[data-testid="plan-errors"][data-valid="true"]').waitFor();
  // receipt, ordered after points, hangs: the run cannot end until it is cancelled.
  const plan = JSON.parse(await page.getByTestId('plan-text').inputValue());
  plan.calls.receipt.url += '&fault=hang';
  await page.getByTestId('plan-text').fill(JSON.stringify(plan, null, 2));
  await page.locator('[data-testid="plan-errors"][data-valid="true"]').waitFor();
  await page.getByTestId('run-plan').click();
  // receipt starts only once points is decided: by then, points must already be marked.
  await page.locator('[data-testid="bar-plan-receipt"][data-state="running"]').waitFor({ timeout: RUN_TIMEOUT });
  const live = await page.evaluate(() => ({
    run: document.querySelector('#plan-output').dataset.runState,
    points: document.querySelector('[data-testid="bar-plan-points"]')?.dataset.state ?? null,
    label: document.querySelector('[data-testid="bar-plan-points"]')?.getAttribute('aria-label') ?? null,
    node: document.querySelector('[data-testid="plan-graph-node-points"]').dataset.state,
  }));
  assert.deepEqual(live, {
    run: 'running', points: 'not-needed', label: 'points: not needed, never started', node: 'not-needed',
  });
  // badge reads points, so it is not needed either; the run is still held by receipt.
  await page.locator('[data-testid="bar-plan-badge"][data-state="not-needed"]').waitFor({ timeout: RUN_TIMEOUT });
  assert.equal(await page.locator('#plan-output').getAttribute('data-run-state'), 'running');
  await accessible('while a plan runs, with calls already marked not needed');
  await page.getByTestId('cancel').click();
  await page.locator('#plan-output[data-run-state="failed"]').waitFor({ timeout: RUN_TIMEOUT });
  assert.match(await text('plan-summary'), /: ABORTED\.$/);
  assert.equal((await bars('plan')).points.state, 'not-needed');
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
    // The graph turns its stages into rows, and stays inside the screen.
    const graph = page.getByTestId('graph');
    await page.locator('[data-testid="graph"][data-orientation="rows"]').waitFor({ timeout: 5000 });
    const graphBox = await graph.boundingBox();
    assert.ok(graphBox.x >= 0 && graphBox.x + graphBox.width <= 390, 'the graph fits the screen');
    const nodes = await graphNodes();
    const stage = stagesOf(DEPENDS);
    for (const [call, node] of Object.entries(nodes)) {
      const row = Object.values(nodes).filter((n) => n.stage === stage[call]);
      assert.ok(row.every((n) => Math.abs(n.box.y - node.box.y) < 0.5), `stage ${stage[call] + 1} is one row`);
    }
    const label = await page.getByTestId('graph-node-notification').locator('text').boundingBox();
    assert.ok(label.height >= 9, `node names stay legible (${label.height} px)`);
    await page.locator('#graph-card').scrollIntoViewIfNeeded();
    await screenshot('09b-narrow-graph');
    await page.getByTestId('panel-eager').scrollIntoViewIfNeeded();
    await screenshot('09-narrow');
    await accessible('on a narrow screen (390 px) after an eager run');
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
  assertNoNewProblems();
});

test('the audit can fail: violations planted in the page are reported with rule, impact, target and help', async () => {
  await idlePage();
  // Built node by node, as the page builds its own (Trusted Types refuse HTML strings).
  await page.evaluate(() => {
    const box = document.createElement('div');
    box.id = 'a11y-plant';
    const img = document.createElement('img'); // no alt
    img.id = 'planted-img';
    img.src = 'favicon.svg';
    const button = document.createElement('button'); // no name
    button.id = 'planted-button';
    button.type = 'button';
    const faint = document.createElement('p'); // 1.57:1 on the page's #f6f8fa
    faint.id = 'planted-faint';
    faint.textContent = 'Faint text';
    faint.style.color = '#c8c8c8';
    box.append(img, button, faint);
    document.querySelector('#main').append(box);
  });
  let error = null;
  try {
    await assertAccessible(page, 'with planted violations');
  } catch (e) {
    error = e;
  } finally {
    await page.evaluate(() => document.getElementById('a11y-plant')?.remove());
  }
  assert.ok(error instanceof AssertionError, `the audit should have failed, got ${error}`);
  // Exactly the planted violations: the rest of the page is clean in the same audit.
  assert.deepEqual(
    error.violations.map((v) => [v.id, v.impact, v.nodes.map((n) => n.target)]).sort(),
    [['button-name', 'critical', ['#planted-button']], ['color-contrast', 'serious', ['#planted-faint']], ['image-alt', 'critical', ['#planted-img']]],
  );
  for (const line of [
    'found 3 accessibility violation(s) with planted violations:',
    '- image-alt (critical): Images must have alternative text [https://dequeuniversity.com/rules/axe/',
    '- button-name (critical): Buttons must have discernible text',
    '- color-contrast (serious): Elements must meet minimum color contrast ratio thresholds',
    '    #planted-img',
    'Element does not have an alt attribute',
    'Element has insufficient color contrast of 1.57 (foreground color: #c8c8c8, background color: #f6f8fa',
  ]) assert.ok(error.message.includes(line), `the failure message says ${JSON.stringify(line)}:\n${error.message}`);
  assertNoNewProblems();
});

test('with axe evaluated in it, the page is still under its CSP: eval and HTML strings are refused and reported', async () => {
  // axe came in through the DevTools protocol with no exemption from the policy (axe.mjs), not
  // as a <script> and not by loosening the policy: the page's own code is as constrained as
  // before. The probes run in a task of the page's own (a timer), as its code would, not inside
  // the DevTools evaluation that starts them.
  assert.equal(await page.evaluate(() => typeof window.axe?.run), 'function', 'axe is in the page');
  const refused = await page.evaluate(() => new Promise((resolve) => {
    setTimeout(() => {
      const attempt = (f) => {
        try {
          f();
          return 'allowed';
        } catch (e) {
          return e.name;
        }
      };
      const policy = trustedTypes.createPolicy('a11y-csp-probe', { createScript: (code) => code });
      resolve({
        evalOfTrustedScript: attempt(() => eval(policy.createScript('1 + 1'))), // eslint-disable-line no-eval
        evalOfString: attempt(() => eval('1 + 1')), // eslint-disable-line no-eval
        innerHtmlOfString: attempt(() => { document.createElement('div').innerHTML = '<b>x</b>'; }),
      });
    }, 0);
  }));
  assert.deepEqual(refused, { evalOfTrustedScript: 'EvalError', evalOfString: 'EvalError', innerHtmlOfString: 'TypeError' });
  await waitFor(() => seen.cspViolations.length >= checked.cspViolations + 3, { timeout: 5000, message: 'three CSP violation reports' });
  const p = newProblems();
  assert.deepEqual(p.cspViolations.map((v) => v.directive).sort(), ['require-trusted-types-for', 'require-trusted-types-for', 'script-src']);
  assert.deepEqual(p.pageErrors, []);
  assert.deepEqual(p.consoleWarnings, []);
  // Chromium logs the refusals to the console as well, and nothing else happened.
  assert.deepEqual(p.consoleErrors.filter((e) => !/Content Security Policy|requires 'Trusted(HTML|Script)' assignment/.test(e.text)), [], 'console errors');
});
