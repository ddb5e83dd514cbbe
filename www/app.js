// The demo page: runs the "create order" composition against the live mock services in the
// three schedules and draws what happened. Everything it needs to know about the services
// comes from /config.json (served by scripts/serve.mjs), so no port is written here.
//
// The DOM is built with textContent only (never innerHTML): replies and error messages are data.
import init, { composeOrder, compose, validatePlan, ComposeError } from '/pkg/parallel_composer.js';

const MODES = ['sequential', 'stages', 'eager'];
const MODE_LABEL = { sequential: 'Sequential', stages: 'Stages', eager: 'Eager' };
const STATE_LABEL = {
  ok: 'ok',
  failed: 'failed',
  skipped: 'skipped',
  cancelled: 'cancelled',
  'not-sent': 'not sent',
  unknown: 'outcome unknown',
};
const MAX_LATENCY = 60000;

/** The fault menu. `only` restricts a choice to one service; `fault` is what the admin API gets. */
const FAULT_CHOICES = [
  { value: 'none', label: 'none' },
  { value: 'http500', label: 'HTTP 500', fault: { status: 500 } },
  { value: 'hang', label: 'hang (never answers)', fault: 'hang' },
  { value: 'reject', label: 'reject the order', fault: 'reject', only: 'fraud' },
  { value: 'decline', label: 'decline the payment', fault: 'decline', only: 'payment' },
];

/** What a completed write means, for the error panel. */
const WRITES = {
  inventory: 'a stock reservation',
  payment: 'a payment authorization',
  order: 'the order',
  notification: 'the confirmation e-mail',
};

const app = {
  config: null, // { adminUrl, gatewayUrl, services }
  services: [], // service names, in the order the mock lists them
  initialScenario: null, // the mock's config at page load, for "Restore"
  otherFaults: {}, // faults set elsewhere that the menu has no entry for, kept as they are
  settingsKey: '', // identifies the applied service settings; runs remember theirs
  runs: { sequential: null, stages: null, eager: null },
  lastRun: null,
  busy: null, // what is in flight: 'order' or 'plan'; the run buttons are disabled meanwhile
  running: null, // the mode whose composition is in flight
  runStartedAt: 0,
  controller: null,
  ticker: null,
  applyTimer: null,
  applySeq: 0,
  applyChain: Promise.resolve(),
};

// ------------------------------------------------------------------ small helpers

const $ = (selector, root = document) => root.querySelector(selector);

/** Creates an element. props: class, text, dataset, on<event>, or attributes; children are nodes or strings. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

const ms = (value) => `${Math.round(value)} ms`;
const seconds = (value) => `${(value / 1000).toFixed(2)} s`;
const money = (cents, currency = 'USD') => new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(cents / 100);
const pct = (value, scale) => `${Math.max(0, Math.min(100, (value / scale) * 100))}%`;

function setStatus(text, kind = 'info') {
  const status = $('#status');
  status.textContent = text;
  status.dataset.kind = kind;
}

async function fetchJson(url, init = {}) {
  const response = await fetch(url, init);
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON; the status says enough.
  }
  if (!response.ok) throw new Error(body?.error ?? `HTTP ${response.status} from ${url}`);
  return body;
}

function adminRequest(method, path, body) {
  const init = { method };
  if (body !== undefined) {
    init.headers = { 'Content-Type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  return fetchJson(`${app.config.adminUrl}${path}`, init);
}

// ------------------------------------------------------------------ waterfall drawing

/** A round time scale (ms) that fits `maxMs`, with a tick step giving at most 8 intervals. */
function niceScale(maxMs) {
  const steps = [50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 30000, 60000, 120000, 300000];
  const max = Math.max(maxMs, 1);
  const step = steps.find((s) => Math.ceil(max / s) <= 8) ?? Math.ceil(max / 8);
  return { scale: Math.max(1, Math.ceil(max / step)) * step, step };
}

/** The furthest point in time a run's drawing needs. */
function runExtent(run) {
  const ends = Object.values(run.calls ?? {}).map((r) => r.endMs ?? 0);
  return Math.max(run.totalMs ?? 0, ...ends);
}

function tickLabel(t, step) {
  if (t === 0) return '0';
  return step >= 1000 ? `${t / 1000} s` : `${t} ms`;
}

function callDetail(record) {
  const took = record.startMs !== null && record.endMs !== null ? ms(record.endMs - record.startMs) : '';
  switch (record.state) {
    case 'ok':
      return took;
    case 'failed':
      return record.status !== null ? `failed · HTTP ${record.status}` : 'failed';
    case 'cancelled':
      return took ? `cancelled at ${ms(record.endMs)}` : 'cancelled';
    default:
      return STATE_LABEL[record.state] ?? record.state;
  }
}

/**
 * Draws one waterfall: a time axis and one row per call, bar from startMs to endMs.
 * Bars get data-testid="bar-<prefix>-<call>".
 */
function renderWaterfall(container, { calls, scale, step, prefix }) {
  // Calls that never started are marked where the composition gave up on them.
  const givenUpAt = Math.max(0, ...Object.values(calls ?? {}).map((r) => r.endMs ?? 0));
  const names = Object.keys(calls ?? {});
  container.replaceChildren();
  if (names.length === 0) {
    container.append(el('p', { class: 'waterfall-empty', text: 'No call was sent.' }));
    return;
  }
  container.style.setProperty('--grid-step', pct(step, scale));
  const ticks = [];
  for (let t = 0; t <= scale; t += step) {
    const tick = el('span', { class: 'tick', text: tickLabel(t, step) });
    tick.style.left = pct(t, scale);
    if (t === scale) tick.classList.add('tick-last');
    ticks.push(tick);
  }
  container.append(el('div', { class: 'axis', 'aria-hidden': 'true' }, el('span'), el('div', { class: 'axis-track' }, ticks), el('span')));

  const rows = el('ol', { class: 'rows' });
  for (const name of names) {
    const record = calls[name];
    const timed = record.startMs !== null && record.startMs !== undefined;
    const bar = el('div', {
      class: `bar state-${record.state}${timed ? '' : ' bar-untimed'}`,
      'data-testid': `bar-${prefix}-${name}`,
      'data-state': record.state,
      'data-start-ms': timed ? record.startMs.toFixed(1) : '',
      'data-end-ms': record.endMs !== null && record.endMs !== undefined ? record.endMs.toFixed(1) : '',
    });
    if (timed) {
      const end = record.endMs ?? record.startMs;
      bar.style.left = pct(record.startMs, scale);
      bar.style.width = pct(end - record.startMs, scale);
      bar.title = `${name}: ${STATE_LABEL[record.state]}, ${ms(record.startMs)} → ${ms(end)}`;
    } else {
      bar.style.left = `max(0px, calc(${pct(givenUpAt, scale)} - 0.8rem))`;
      bar.title = `${name}: ${STATE_LABEL[record.state]}, never started`;
    }
    const spoken = timed
      ? `${STATE_LABEL[record.state]}, from ${ms(record.startMs)} to ${ms(record.endMs ?? record.startMs)}`
      : `${STATE_LABEL[record.state]}, never started`;
    rows.append(el('li', { class: 'row' },
      el('span', { class: 'row-name', text: name }),
      el('div', { class: 'track' }, bar, el('span', { class: 'sr-only', text: `: ${spoken}` })),
      el('span', { class: `row-detail detail-${record.state}`, text: callDetail(record), 'aria-hidden': 'true' })));
  }
  container.append(rows);
}

function renderPanels() {
  // One time scale for every panel, so bar lengths compare. It fits the runs made with the
  // current service settings; older runs are dimmed and may be clipped.
  const finished = MODES.map((m) => app.runs[m]).filter(Boolean);
  const current = finished.filter((run) => run.settingsKey === app.settingsKey);
  const { scale, step } = niceScale(Math.max(0, ...(current.length ? current : finished).map(runExtent)));
  for (const mode of MODES) {
    const fig = $(`.panel[data-mode="${mode}"]`);
    const total = $('.total', fig);
    const note = $('.panel-note', fig);
    const waterfall = $('.waterfall', fig);
    const run = app.runs[mode];
    fig.classList.toggle('stale', Boolean(run && run.settingsKey !== app.settingsKey && app.running !== mode));
    if (app.running === mode) {
      fig.dataset.runState = 'running';
      total.textContent = 'running…';
      note.textContent = '';
      waterfall.replaceChildren(el('p', { class: 'waterfall-empty', text: 'Waiting for the composition to settle…' }));
      continue;
    }
    if (!run) {
      fig.dataset.runState = 'idle';
      total.textContent = 'not run yet';
      note.textContent = '';
      waterfall.replaceChildren(el('p', { class: 'waterfall-empty', text: 'Not run yet.' }));
      continue;
    }
    fig.dataset.runState = run.ok ? 'ok' : 'failed';
    total.textContent = ms(run.totalMs);
    const notes = [];
    if (!run.ok) notes.push(run.error.code);
    if (run.settingsKey !== app.settingsKey) notes.push('ran with other service settings (dimmed, may be clipped)');
    note.textContent = notes.join(' · ');
    note.dataset.kind = run.ok ? 'info' : 'error';
    renderWaterfall(waterfall, { calls: run.calls, scale, step, prefix: mode });
  }
}

function renderSpeedup() {
  const comparable = (mode) => {
    const run = app.runs[mode];
    return run?.ok && run.settingsKey === app.settingsKey ? run : null;
  };
  const seq = comparable('sequential');
  const stages = comparable('stages');
  const eager = comparable('eager');
  const times = (slow, fast) => `${(slow.totalMs / fast.totalMs).toFixed(1)}×`;
  const sentences = [];
  if (eager && seq) {
    const verdict = eager.totalMs < seq.totalMs ? `${times(seq, eager)} faster` : 'no faster';
    sentences.push(`Eager ${seconds(eager.totalMs)} vs sequential ${seconds(seq.totalMs)}: ${verdict}.`);
  }
  if (stages && seq) sentences.push(`Stages ${seconds(stages.totalMs)}: ${times(seq, stages)} faster than sequential.`);
  if (eager && stages && eager.totalMs < stages.totalMs) {
    sentences.push(`Eager saves another ${ms(stages.totalMs - eager.totalMs)} over stages by not waiting for the slowest call of each level.`);
  }
  const speedup = $('#speedup');
  if (sentences.length > 0) {
    speedup.textContent = sentences.join(' ');
    speedup.dataset.kind = 'result';
    return;
  }
  const anyRun = MODES.some((m) => app.runs[m]);
  const stale = MODES.some((m) => app.runs[m]?.ok && app.runs[m].settingsKey !== app.settingsKey);
  speedup.textContent = stale
    ? 'The service settings changed since the last runs: run again to compare like with like.'
    : anyRun
      ? 'Run the other modes (or “Run all three”) to compare them on the same service settings.'
      : 'Run the three modes to compare them on the same services.';
  speedup.dataset.kind = 'hint';
}

// ------------------------------------------------------------------ result / error panel

function errorFacts(error) {
  return {
    code: error?.code ?? 'UNEXPECTED',
    call: error?.call ?? null,
    status: error?.status ?? null,
    message: error?.message ?? String(error),
  };
}

/** One sentence on which writes happened before the failure (what a portal must undo). */
function writesSentence(calls) {
  const done = Object.keys(WRITES).filter((c) => calls[c]?.state === 'ok');
  const inFlight = Object.keys(WRITES).filter(
    (c) => (calls[c]?.state === 'cancelled' && calls[c].startMs !== null) || calls[c]?.state === 'unknown',
  );
  const parts = [];
  if (done.length > 0) {
    parts.push(`Writes that completed before the failure: ${done.map((c) => `${c} (${WRITES[c]})`).join(', ')}; error.calls tells a portal what to undo.`);
  }
  if (inFlight.length > 0) {
    parts.push(`Sent but not confirmed, so possibly applied: ${inFlight.join(', ')}.`);
  }
  if (parts.length === 0) parts.push('No write call completed, so there is nothing to undo.');
  return parts.join(' ');
}

function renderCallStates(list, calls) {
  list.replaceChildren(...Object.entries(calls).map(([name, record]) => el('li', { 'data-testid': `error-state-${name}`, 'data-state': record.state },
    el('span', { class: `chip state-${record.state}`, text: STATE_LABEL[record.state] ?? record.state }),
    el('span', { class: 'call-state-name', text: name }),
    record.status !== null ? el('span', { class: 'call-state-status', text: `HTTP ${record.status}` }) : null)));
}

function renderResult(run) {
  const summary = $('#result-summary');
  const errorPanel = $('#error-panel');
  const json = $('#order-json');
  if (run.ok) {
    const { calls, ...order } = run.order;
    summary.textContent = `${MODE_LABEL[run.mode]} run: order ${order.orderId} ${order.status}, total ${money(order.total, order.currency)}, in ${ms(run.totalMs)}.`;
    summary.dataset.kind = 'ok';
    errorPanel.hidden = true;
    json.hidden = false;
    json.textContent = JSON.stringify(order, null, 2);
    return;
  }
  const facts = errorFacts(run.error);
  summary.textContent = `${MODE_LABEL[run.mode]} run failed after ${ms(run.totalMs)}.`;
  summary.dataset.kind = 'error';
  json.hidden = true;
  json.textContent = '';
  $('#error-title').textContent = facts.code === 'ABORTED' ? 'The order was cancelled' : 'The order failed';
  $('#error-code').textContent = facts.code;
  $('#error-call').textContent = facts.call ?? '(none: the composition as a whole)';
  $('#error-status').textContent = facts.status !== null ? String(facts.status) : '—';
  $('#error-message').textContent = facts.message;
  $('#error-writes').textContent = writesSentence(run.calls);
  renderCallStates($('#error-calls'), run.calls);
  errorPanel.dataset.code = facts.code;
  errorPanel.dataset.call = facts.call ?? '';
  errorPanel.hidden = false;
}

// ------------------------------------------------------------------ running

function setBusy(kind) {
  app.busy = kind;
  app.controller = new AbortController();
  document.body.dataset.busy = kind;
  for (const button of document.querySelectorAll('.run-buttons button:not(#cancel), #run-plan')) button.disabled = true;
  $('#cancel').disabled = false;
  app.ticker = setInterval(() => {
    const fig = app.running && $(`.panel[data-mode="${app.running}"]`);
    if (fig) $('.total', fig).textContent = `running… ${seconds(performance.now() - app.runStartedAt)}`;
  }, 100);
  return app.controller.signal;
}

function clearBusy() {
  clearInterval(app.ticker);
  app.ticker = null;
  app.busy = null;
  app.running = null;
  app.controller = null;
  delete document.body.dataset.busy;
  for (const button of document.querySelectorAll('.run-buttons button:not(#cancel)')) button.disabled = false;
  $('#cancel').disabled = true;
  updatePlanValidation();
}

function readRequest() {
  const form = $('#order-form');
  return {
    customerId: form.elements.customerId.value,
    cartId: form.elements.cartId.value,
    paymentMethodId: form.elements.paymentMethodId.value,
    shippingOption: form.elements.shippingOption.value,
  };
}

/** Waits until the service settings on screen are the ones the mock uses. */
async function settleServiceSettings() {
  if (app.applyTimer) flushApply();
  await app.applyChain;
}

/** Runs composeOrder in one schedule and records the outcome for the panels. */
async function runMode(mode, signal) {
  app.running = mode;
  app.runStartedAt = performance.now();
  document.body.dataset.busy = mode;
  renderPanels();
  const settingsKey = app.settingsKey;
  const started = performance.now();
  let run;
  try {
    const order = await composeOrder(readRequest(), { services: app.config.services, schedule: mode, signal });
    run = { ok: true, order, calls: order.calls };
  } catch (error) {
    run = { ok: false, error: errorFacts(error), calls: error instanceof ComposeError ? error.calls : {} };
  }
  run.totalMs = performance.now() - started;
  run.mode = mode;
  // A run during which the settings changed is comparable with nothing.
  run.settingsKey = app.settingsKey === settingsKey ? settingsKey : `changed-during-run-${Math.random()}`;
  app.runs[mode] = run;
  app.lastRun = run;
  app.running = null;
  const fig = $(`.panel[data-mode="${mode}"]`);
  fig.dataset.runCount = String(Number(fig.dataset.runCount) + 1);
  renderPanels();
  renderSpeedup();
  renderResult(run);
  return run;
}

async function runModes(modes) {
  if (app.busy) return;
  const signal = setBusy('order');
  try {
    await settleServiceSettings();
    for (const mode of modes) {
      if (signal.aborted) break;
      const run = await runMode(mode, signal);
      // Stop "run all" when the user cancelled or the request itself is invalid.
      if (!run.ok && ['ABORTED', 'INVALID_INPUT'].includes(run.error.code)) break;
    }
  } finally {
    clearBusy();
    renderPanels();
  }
}

// ------------------------------------------------------------------ mock service controls

function faultChoiceFor(service, fault) {
  if (fault === undefined) return 'none';
  if (typeof fault === 'object' && fault.status === 500 && Object.keys(fault).length === 1) return 'http500';
  const type = typeof fault === 'string' ? fault : Object.keys(fault).length === 1 ? fault.type : undefined;
  const choice = FAULT_CHOICES.find((c) => c.value === type && (!c.only || c.only === service));
  return choice ? choice.value : 'other';
}

function buildServicesTable() {
  const body = $('#services-body');
  body.replaceChildren(...app.services.map((service) => {
    const origin = new URL(app.config.services[service]).host;
    const latency = el('input', {
      type: 'number', id: `latency-${service}`, 'data-testid': `latency-${service}`, 'data-service': service,
      min: 0, max: MAX_LATENCY, step: 10, inputmode: 'numeric', required: true,
      'aria-label': `${service} latency in milliseconds`,
    });
    const fault = el('select', { id: `fault-${service}`, 'data-testid': `fault-${service}`, 'data-service': service, 'aria-label': `${service} fault` },
      FAULT_CHOICES.filter((c) => !c.only || c.only === service).map((c) => el('option', { value: c.value, text: c.label })));
    latency.addEventListener('input', markServicesDirty);
    latency.addEventListener('change', flushApply);
    fault.addEventListener('change', flushApply);
    return el('tr', {},
      el('th', { scope: 'row' }, el('span', { class: 'svc-name', text: service }), el('span', { class: 'svc-origin', text: origin })),
      el('td', {}, latency),
      el('td', {}, fault));
  }));
}

/** Puts a scenario config ({latency, defaultLatency, faults}) into the controls. */
function showScenario(config) {
  app.otherFaults = {};
  for (const service of app.services) {
    $(`#latency-${service}`).value = String(config.latency?.[service] ?? config.defaultLatency ?? 0);
    $(`#latency-${service}`).removeAttribute('aria-invalid');
    const select = $(`#fault-${service}`);
    const fault = config.faults?.[service];
    const choice = faultChoiceFor(service, fault);
    $('option[value="other"]', select)?.remove();
    if (choice === 'other') {
      app.otherFaults[service] = fault;
      select.append(el('option', { value: 'other', text: `other: ${JSON.stringify(fault)}` }));
    }
    select.value = choice;
  }
}

/** The config the controls describe, or null (with the fields marked) when a latency is invalid. */
function readScenario() {
  const config = { latency: {}, defaultLatency: 0, faults: {} };
  let problem = null;
  for (const service of app.services) {
    const input = $(`#latency-${service}`);
    const value = Number(input.value);
    const ok = input.value.trim() !== '' && Number.isInteger(value) && value >= 0 && value <= MAX_LATENCY;
    if (ok) input.removeAttribute('aria-invalid');
    else input.setAttribute('aria-invalid', 'true');
    if (!ok) problem ??= `${service}: the latency must be a whole number of ms from 0 to ${MAX_LATENCY}`;
    config.latency[service] = value;
    const choice = $(`#fault-${service}`).value;
    if (choice === 'other') config.faults[service] = app.otherFaults[service];
    else {
      const fault = FAULT_CHOICES.find((c) => c.value === choice)?.fault;
      if (fault !== undefined) config.faults[service] = fault;
    }
  }
  return problem ? { problem } : { config };
}

/** A stable key for "the same service settings". */
function settingsKeyOf(config) {
  const latency = Object.fromEntries(app.services.map((s) => [s, config.latency?.[s] ?? config.defaultLatency ?? 0]));
  const faults = Object.fromEntries(Object.keys(config.faults ?? {}).sort().map((s) => [s, config.faults[s]]));
  return JSON.stringify({ latency, faults });
}

function setServicesState(state, text) {
  $('#services').dataset.configState = state;
  const status = $('#services-status');
  status.textContent = text;
  status.dataset.kind = state;
}

function markServicesDirty() {
  setServicesState('pending', 'Not applied yet…');
  clearTimeout(app.applyTimer);
  app.applyTimer = setTimeout(flushApply, 400);
}

/** Sends the controls' config to the mock (PUT /scenarios/default), one request at a time. */
function flushApply() {
  clearTimeout(app.applyTimer);
  app.applyTimer = null;
  const { config, problem } = readScenario();
  if (problem) {
    setServicesState('invalid', `Not applied: ${problem}.`);
    return app.applyChain;
  }
  const seq = ++app.applySeq;
  setServicesState('applying', 'Applying…');
  app.applyChain = app.applyChain.then(async () => {
    try {
      const applied = await adminRequest('PUT', '/scenarios/default', config);
      app.settingsKey = settingsKeyOf(applied);
      if (seq === app.applySeq) {
        const time = new Date().toLocaleTimeString('en-GB');
        setServicesState('applied', `Applied to the running services at ${time}.`);
      }
    } catch (error) {
      if (seq === app.applySeq) setServicesState('error', `Could not apply: ${error.message}`);
    }
    renderPanels();
    renderSpeedup();
  });
  return app.applyChain;
}

// ------------------------------------------------------------------ plan editor

/** The example plan, against the lab endpoints of the running services. */
function samplePlan(services) {
  return {
    calls: {
      profile: { url: `${services.customer}/lab/echo?user={input.user}&delay=200` },
      catalog: { url: `${services.cart}/lab/items?n=3&delay=300` },
      quote: {
        method: 'POST',
        url: `${services.pricing}/lab/echo?delay=250`,
        body: { user: '{profile.query.user}', itemCount: '{catalog.count}' },
      },
      stock: { url: `${services.inventory}/lab/items?n={catalog.count}&delay=150` },
      audit: {
        method: 'POST',
        url: `${services.notification}/lab/echo?delay=100`,
        body: { quoted: '{quote.body}', inStock: '{stock.count}' },
        after: ['profile'],
      },
    },
  };
}

/** Validates the editor's text; shows errors and stages. Returns { plan, input } or null. */
function updatePlanValidation() {
  const errors = $('#plan-errors');
  const stagesList = $('#plan-stages');
  const planText = $('#plan-text');
  const inputText = $('#plan-input');
  const fail = (field, message) => {
    field.setAttribute('aria-invalid', 'true');
    errors.textContent = message;
    errors.dataset.valid = 'false';
    stagesList.replaceChildren(el('li', { class: 'muted', text: 'Fix the plan to see its stages.' }));
    $('#run-plan').disabled = true;
    return null;
  };
  planText.removeAttribute('aria-invalid');
  inputText.removeAttribute('aria-invalid');

  let plan;
  try {
    plan = JSON.parse(planText.value);
  } catch (error) {
    return fail(planText, `The plan is not valid JSON: ${error.message}`);
  }
  let summary;
  try {
    summary = validatePlan(plan);
  } catch (error) {
    const { code, message } = errorFacts(error);
    return fail(planText, `${code}: ${message}`);
  }
  let input;
  try {
    input = inputText.value.trim() === '' ? {} : JSON.parse(inputText.value);
  } catch (error) {
    return fail(inputText, `The input is not valid JSON: ${error.message}`);
  }
  const count = summary.stages.flat().length;
  errors.textContent = `Valid: ${count} call${count === 1 ? '' : 's'} in ${summary.stages.length} stage${summary.stages.length === 1 ? '' : 's'}.`;
  errors.dataset.valid = 'true';
  stagesList.replaceChildren(...summary.stages.map((stage) => el('li', {},
    stage.flatMap((name, i) => (i === 0 ? [el('code', { text: name })] : [', ', el('code', { text: name })])))));
  $('#run-plan').disabled = Boolean(app.busy);
  return { plan, input };
}

async function runPlan() {
  const valid = updatePlanValidation();
  if (!valid || app.busy) return;
  const schedule = $('#plan-schedule').value;
  const signal = setBusy('plan');
  const output = $('#plan-output');
  const summary = $('#plan-summary');
  const result = $('#plan-result');
  output.hidden = false;
  output.dataset.runState = 'running';
  summary.textContent = `Running (${schedule})…`;
  summary.dataset.kind = 'info';
  const started = performance.now();
  let calls = {};
  try {
    const value = await compose(valid.plan, valid.input, { schedule, signal });
    const took = performance.now() - started;
    calls = value.calls;
    summary.textContent = `compose() resolved in ${ms(took)} (${schedule}).`;
    summary.dataset.kind = 'ok';
    result.textContent = JSON.stringify({ data: value.data, stages: value.stages }, null, 2);
    output.dataset.runState = 'ok';
  } catch (error) {
    const took = performance.now() - started;
    const facts = errorFacts(error);
    calls = error instanceof ComposeError ? error.calls : {};
    summary.textContent = `compose() rejected after ${ms(took)}: ${facts.code}${facts.call ? ` in call “${facts.call}”` : ''}.`;
    summary.dataset.kind = 'error';
    result.textContent = JSON.stringify(facts, null, 2);
    output.dataset.runState = 'failed';
  } finally {
    clearBusy();
  }
  const { scale, step } = niceScale(Math.max(performance.now() - started, ...Object.values(calls).map((r) => r.endMs ?? 0)));
  renderWaterfall($('#plan-waterfall'), { calls, scale, step, prefix: 'plan' });
}

// ------------------------------------------------------------------ start-up

function wireEvents() {
  const form = $('#order-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    runModes(['eager']);
  });
  for (const button of document.querySelectorAll('.run-buttons button[data-mode]')) {
    if (button.type === 'submit') continue; // the form's submit handler runs it
    button.addEventListener('click', () => runModes([button.dataset.mode]));
  }
  $('#run-all').addEventListener('click', () => runModes(MODES));
  $('#cancel').addEventListener('click', () => app.controller?.abort());
  $('#reset-services').addEventListener('click', () => {
    showScenario(app.initialScenario);
    flushApply();
  });
  $('#plan-text').addEventListener('input', updatePlanValidation);
  $('#plan-input').addEventListener('input', updatePlanValidation);
  $('#run-plan').addEventListener('click', runPlan);
}

async function boot() {
  const t0 = performance.now();
  try {
    await init();
  } catch (error) {
    setStatus(`Could not start the WebAssembly package: ${error?.message ?? error}`, 'error');
    document.body.dataset.appState = 'error';
    return;
  }
  const loadMs = performance.now() - t0;
  try {
    app.config = await fetchJson('/config.json');
    app.services = Object.keys(app.config.services);
    app.initialScenario = await adminRequest('GET', '/scenarios/default');
  } catch (error) {
    setStatus(`The WebAssembly package works, but the mock services are unreachable (${error.message}). Start the demo with npm start.`, 'error');
    document.body.dataset.appState = 'error';
    return;
  }
  buildServicesTable();
  showScenario(app.initialScenario);
  app.settingsKey = settingsKeyOf(app.initialScenario);
  setServicesState('applied', 'These are the settings the services run with.');
  $('#reset-services').disabled = false;

  $('#plan-text').value = JSON.stringify(samplePlan(app.config.services), null, 2);
  $('#plan-input').value = JSON.stringify({ user: 'ada' });

  wireEvents();
  renderPanels();
  renderSpeedup();
  updatePlanValidation();
  clearBusy();
  setStatus(`Ready: the WebAssembly package started in ${ms(loadMs)}; ${app.services.length} mock services answer on ${new URL(app.config.adminUrl).hostname}.`, 'ok');
  document.body.dataset.appState = 'ready';
}

boot();
