// The demo page: runs the "create order" composition against the live mock services in the
// three schedules and draws it as it happens: the plan's graph, a waterfall per schedule
// whose bars appear as calls start, the critical path, the speed-up, and the result or the
// error with what was undone. Everything it needs to know about the services comes from
// /config.json (served by scripts/serve.mjs), so no port is written here.
//
// This file wires the page; each concern has its own module:
//   order-plan.js     the order flow's plan as the package hands it out (orderPlan())
//   live-fetch.js     the fetch passed to the composer, to watch requests start and end
//   waterfall.js      the bars;  graph.js  the dependency graph;  critical-path.js
//   services-panel.js latency and faults of the mock services;  result-panel.js
//   plan-editor.js    compose() with your own plan;  examples.js  its example plans
//   live-events.js    what a plan's progress events add while it runs (fan-out items, skips)
import init, { composeOrder, orderPlan, validatePlan, ComposeError } from '/pkg/parallel_composer.js';
import { $, ms, seconds, frameScheduler } from './dom.js';
import { adminClient, fetchJson } from './mock-admin.js';
import { readOrderPlan } from './order-plan.js';
import { requestMatcher } from './plan-deps.js';
import { criticalPath } from './critical-path.js';
import { liveRecorder } from './live-fetch.js';
import { drawWaterfall, niceScale, runExtent } from './waterfall.js';
import { drawGraph } from './graph.js';
import { errorFacts, renderResult } from './result-panel.js';
import { servicesPanel } from './services-panel.js';
import { planEditor } from './plan-editor.js';

const MODES = ['sequential', 'stages', 'eager'];
const MODE_LABEL = { sequential: 'Sequential', stages: 'Stages', eager: 'Eager' };
const NUMBER_WORDS = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

const app = {
  config: null, // { adminUrl, gatewayUrl, services }
  order: null, // the order flow's plan, from orderPlan(): { calls, deps, request, undoable }
  stages: [], // the order flow's stages, from validatePlan()
  match: null, // request -> call, for the live waterfall
  services: null, // the services panel: key(), settle()
  editor: null, // the plan editor: validate()
  runs: { sequential: null, stages: null, eager: null },
  lastRun: null,
  busy: null, // what is in flight: 'order' or 'plan'; the run buttons are disabled meanwhile
  controller: null,
  live: null, // the order run in flight: { mode, recorder, started, graphDirty }
};

function setStatus(text, kind = 'info') {
  const status = $('#status');
  status.textContent = text;
  status.dataset.kind = kind;
}

// ------------------------------------------------------------------ drawing

function drawOrderGraph(states = {}, critical = []) {
  drawGraph($('#order-graph'), {
    stages: app.stages,
    deps: app.order.deps,
    states,
    critical,
    prefix: 'graph',
    describe: (name) => ` (${app.order.request(name)})`,
  });
}

function graphCaption(run) {
  const caption = $('#graph-caption');
  const outcome = run.ok ? seconds(run.totalMs) : `failed with ${run.error.code} after ${seconds(run.totalMs)}`;
  const path = run.critical;
  const rest = app.order.calls.length - path.length;
  let why = 'The chain of calls that decided when the order failed.';
  if (run.ok && rest === 0) why = 'Every call is on it: one at a time, each call waits for all the calls before it.';
  else if (run.ok) why = `Only a faster call on it makes the order faster; the other ${rest} call${rest === 1 ? '' : 's'} had time to spare.`;
  caption.textContent = path.length
    ? `${MODE_LABEL[run.mode]} run, ${outcome}. Critical path (heavy outline): ${path.join(' → ')}. ${why}`
    : `${MODE_LABEL[run.mode]} run, ${outcome}: no call ran.`;
  caption.dataset.kind = run.ok ? 'ok' : 'error';
}

/** What each panel last drew a finished run for. */
const painted = new Map();
let runIds = 0;

/** Redraws the three waterfall panels: the finished runs, and the one in flight as it stands. */
function renderPanels() {
  // One time scale for every panel, so bar lengths compare. It fits the runs made with the
  // current service settings (and the run in flight); older runs are dimmed and may be clipped.
  const key = app.services.key();
  const finished = MODES.map((m) => app.runs[m]).filter(Boolean);
  const current = finished.filter((run) => run.settingsKey === key);
  const now = app.live ? performance.now() - app.live.started : 0;
  const { scale, step } = niceScale(Math.max(now, ...(current.length ? current : finished).map(runExtent)));
  for (const mode of MODES) {
    const fig = $(`.panel[data-mode="${mode}"]`);
    const total = $('.total', fig);
    const note = $('.panel-note', fig);
    const waterfall = $('.waterfall', fig);
    const run = app.runs[mode];
    const live = app.live?.mode === mode ? app.live : null;
    fig.classList.toggle('stale', Boolean(!live && run && run.settingsKey !== key));
    if (live || !run) painted.delete(mode);
    if (live) {
      fig.dataset.runState = 'running';
      total.textContent = `running… ${seconds(now)}`;
      note.textContent = '';
      const undo = Object.entries(live.recorder.undo).map(([call, r]) => ({ call, ...r }));
      drawWaterfall(waterfall, { names: app.order.calls, calls: live.recorder.calls, compensations: undo, scale, step, prefix: mode, now });
      continue;
    }
    if (!run) {
      fig.dataset.runState = 'idle';
      total.textContent = 'not run yet';
      note.textContent = '';
      drawWaterfall(waterfall, { names: [], scale, step, prefix: mode, empty: 'Not run yet.' });
      continue;
    }
    // A finished run is redrawn only when something it is drawn with changed.
    const drawnFor = `${run.id}|${scale}|${step}|${run.settingsKey === key}`;
    if (painted.get(mode) === drawnFor) continue;
    painted.set(mode, drawnFor);
    fig.dataset.runState = run.ok ? 'ok' : 'failed';
    total.textContent = ms(run.totalMs);
    const notes = [];
    if (!run.ok) notes.push(run.error.code);
    if (run.settingsKey !== key) notes.push('ran with other service settings (dimmed, may be clipped)');
    note.textContent = notes.join(' · ');
    note.dataset.kind = run.ok ? 'info' : 'error';
    drawWaterfall(waterfall, {
      names: app.order.calls.filter((n) => run.calls[n]),
      calls: run.calls,
      compensations: run.compensations,
      scale,
      step,
      prefix: mode,
      critical: run.critical,
    });
  }
}

/**
 * While an order runs: the panels and the graph when a request starts or ends, and the
 * running panel ten times a second so that open bars grow. Little work per frame, so the
 * drawing does not delay the replies the page is timing.
 */
const liveRedraw = frameScheduler(() => {
  if (!app.live) return;
  renderPanels();
  if (app.live.graphDirty) {
    app.live.graphDirty = false;
    const { calls } = app.live.recorder;
    drawOrderGraph(Object.fromEntries(Object.entries(calls).map(([name, r]) => [name, r.state])));
  }
});

function renderSpeedup() {
  const key = app.services.key();
  const comparable = (mode) => {
    const run = app.runs[mode];
    return run?.ok && run.settingsKey === key ? run : null;
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
  const stale = MODES.some((m) => app.runs[m]?.ok && app.runs[m].settingsKey !== key);
  speedup.textContent = stale
    ? 'The service settings changed since the last runs: run again to compare like with like.'
    : anyRun
      ? 'Run the other modes (or “Run all three”) to compare them on the same service settings.'
      : 'Press “Run all three” to run the same order one call at a time, stage by stage, and eagerly, and compare.';
  speedup.dataset.kind = 'hint';
}

// ------------------------------------------------------------------ running

function setBusy(kind) {
  app.busy = kind;
  app.controller = new AbortController();
  document.body.dataset.busy = kind;
  for (const button of document.querySelectorAll('.run-buttons button:not(#cancel), #run-plan')) button.disabled = true;
  $('#cancel').disabled = false;
  return app.controller.signal;
}

function clearBusy() {
  app.busy = null;
  app.controller = null;
  delete document.body.dataset.busy;
  for (const button of document.querySelectorAll('.run-buttons button:not(#cancel)')) button.disabled = false;
  $('#cancel').disabled = true;
  app.editor?.validate();
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

/** Runs composeOrder in one schedule, drawing it live, and records the outcome for the panels. */
async function runMode(mode, signal) {
  const settingsKey = app.services.key();
  const started = performance.now();
  const recorder = liveRecorder({
    match: app.match,
    t0: started,
    onChange: () => {
      if (app.live) app.live.graphDirty = true;
      liveRedraw();
    },
  });
  app.live = { mode, recorder, started, graphDirty: true };
  document.body.dataset.busy = mode;
  const caption = $('#graph-caption');
  caption.textContent = `${MODE_LABEL[mode]} run in flight: a call turns blue when its request is sent and light blue when its reply is in.`;
  delete caption.dataset.kind;
  renderPanels();
  const ticker = setInterval(liveRedraw, 100);
  let run;
  try {
    const order = await composeOrder(readRequest(), {
      services: app.config.services, schedule: mode, signal, fetch: recorder.fetch,
    });
    run = { ok: true, order, calls: order.calls, compensations: [] };
  } catch (error) {
    const known = error instanceof ComposeError;
    run = { ok: false, error: errorFacts(error), calls: known ? error.calls : {}, compensations: known ? error.compensations ?? [] : [] };
  }
  run.totalMs = performance.now() - started;
  app.live = null;
  clearInterval(ticker);
  liveRedraw.cancel();
  run.mode = mode;
  run.id = ++runIds;
  // A run during which the settings changed is comparable with nothing.
  run.settingsKey = app.services.key() === settingsKey ? settingsKey : `changed-during-run-${Math.random()}`;
  run.critical = criticalPath(run.calls, { deps: app.order.deps, stages: app.stages, schedule: mode });
  app.runs[mode] = run;
  app.lastRun = run;
  const fig = $(`.panel[data-mode="${mode}"]`);
  fig.dataset.runCount = String(Number(fig.dataset.runCount) + 1);
  renderPanels();
  renderSpeedup();
  renderResult(run, app.order);
  drawOrderGraph(Object.fromEntries(Object.entries(run.calls).map(([name, r]) => [name, r.state])), run.critical);
  graphCaption(run);
  return run;
}

async function runModes(modes) {
  if (app.busy) return;
  const signal = setBusy('order');
  try {
    await app.services.settle();
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
  let initial;
  try {
    app.config = await fetchJson('/config.json');
    initial = await adminClient(app.config.adminUrl)('GET', '/scenarios/default');
  } catch (error) {
    setStatus(`The WebAssembly package works, but the mock services are unreachable (${error.message}). Start the demo with npm start.`, 'error');
    document.body.dataset.appState = 'error';
    return;
  }
  // The plan composeOrder() runs with these services, from the package itself.
  let plan;
  try {
    plan = orderPlan({ services: app.config.services });
    app.stages = validatePlan(plan).stages;
  } catch (error) {
    setStatus(`The package refused the order plan for these services: ${error?.message ?? error}`, 'error');
    document.body.dataset.appState = 'error';
    return;
  }
  app.order = readOrderPlan(plan, app.config.services);
  app.match = requestMatcher(plan);
  const inWords = (n) => NUMBER_WORDS[n] ?? String(n);
  $('#graph-call-count').textContent = inWords(app.order.calls.length);
  $('#graph-stage-count').textContent = inWords(app.stages.length);
  drawOrderGraph();

  app.services = servicesPanel({
    admin: adminClient(app.config.adminUrl),
    services: app.config.services,
    initial,
    onChange: () => {
      renderPanels();
      renderSpeedup();
    },
  });
  app.editor = planEditor({
    services: app.config.services,
    busy: { start: setBusy, end: clearBusy, active: () => Boolean(app.busy) },
  });

  wireEvents();
  renderPanels();
  renderSpeedup();
  clearBusy();
  const count = Object.keys(app.config.services).length;
  setStatus(`Ready: the WebAssembly package started in ${ms(loadMs)}; ${count} mock services answer on ${new URL(app.config.adminUrl).hostname}.`, 'ok');
  document.body.dataset.appState = 'ready';
}

boot();
