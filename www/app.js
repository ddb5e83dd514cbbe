// The demo page: runs the "create order" composition against the live mock services in the
// three schedules and draws it as it happens: the plan's graph, a waterfall per schedule
// whose bars appear as calls start, the critical path, the speed-up, and the result or the
// error with what was undone. Everything it needs to know about the services comes from
// /config.json (served by scripts/serve.mjs), so no port is written here.
//
// "Prefetch" is the checkout page's pattern: the page keeps one composer (createComposer),
// and its prefetchOrder() fetches the order's reads and quotes into the composer's cache
// before the click; the next Eager run goes through that composer, takes them from the
// cache and sends only the other calls. Its waterfall draws the cached calls hollow and marks
// where the last cold Eager run (the module's composeOrder(), no cache) ended, and a cold
// run's marks where the last one after a prefetch ended: the time from click to confirmation
// with and without the prefetch.
//
// This file wires the page; each concern has its own module:
//   order-plan.js     the order flow's plan as the package hands it out (orderPlan())
//   live-fetch.js     the fetch passed to the composer, to watch requests start and end
//   waterfall.js      the bars;  graph.js  the dependency graph;  critical-path.js
//   services-panel.js latency and faults of the mock services;  result-panel.js
//   plan-editor.js    compose() with your own plan;  examples.js  its example plans
//   live-events.js    what a plan's progress events add while it runs (fan-out items, skips)
import init, { composeOrder, createComposer, orderPlan, validatePlan, ComposeError } from '/pkg/parallel_composer.js';
import { $, ms, seconds, frameScheduler } from './dom.js';
import { adminClient, fetchJson } from './mock-admin.js';
import { readOrderPlan } from './order-plan.js';
import { requestMatcher } from './plan-deps.js';
import { criticalPath } from './critical-path.js';
import { liveRecorder } from './live-fetch.js';
import { drawWaterfall, niceScale, runExtent } from './waterfall.js';
import { drawGraph } from './graph.js';
import { errorFacts, renderResult, runName } from './result-panel.js';
import { servicesPanel } from './services-panel.js';
import { planEditor } from './plan-editor.js';

const MODES = ['sequential', 'stages', 'eager'];
const MODE_LABEL = { sequential: 'Sequential', stages: 'Stages', eager: 'Eager' };
const NUMBER_WORDS = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
/** How long the composer keeps a prefetched reply fresh: its default, given so that the page says what it does. */
const PREFETCH_MAX_AGE_MS = 30000;
/** The order flow's calls the composer caches: its reads and its quotes (never a write). */
const PREFETCHED = ['customer', 'cart', 'pricing', 'shipping', 'tax'];
const FRESH_FOR = `${PREFETCH_MAX_AGE_MS / 1000} s`;

const app = {
  config: null, // { adminUrl, gatewayUrl, services }
  order: null, // the order flow's plan, from orderPlan(): { calls, deps, request, undoable }
  stages: [], // the order flow's stages, from validatePlan()
  match: null, // request -> call, for the live waterfall
  services: null, // the services panel: key(), settle()
  editor: null, // the plan editor: validate()
  runs: { sequential: null, stages: null, eager: null },
  lastRun: null,
  composer: null, // the page's composer: Prefetch fills its cache, the next Eager run reads it
  prefetch: null, // what the last Prefetch cached, until an Eager run uses it: { cached }
  eager: { cold: null, prefetched: null }, // the last Eager run without a prefetch, and after one
  busy: null, // what is in flight: 'order', 'prefetch' or 'plan'; the run buttons are disabled meanwhile
  controller: null,
  live: null, // the order run in flight: { mode, recorder, cached, started, graphDirty }
};

/** A list in words: "customer, cart and tax". */
function listWords(names) {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

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

/** { call: its state } as the graph colours its nodes; a call served from the cache as "cached". */
const graphStates = (calls) => Object.fromEntries(Object.entries(calls).map(([name, r]) => [name, r.cached ? 'cached' : r.state]));

function graphCaption(run) {
  const caption = $('#graph-caption');
  const outcome = run.ok ? seconds(run.totalMs) : `failed with ${run.error.code} after ${seconds(run.totalMs)}`;
  const path = run.critical;
  const rest = app.order.calls.length - path.length;
  let why = 'The chain of calls that decided when the order failed.';
  if (run.ok && rest === 0) why = 'Every call is on it: one at a time, each call waits for all the calls before it.';
  else if (run.ok) why = `Only a faster call on it makes the order faster; the other ${rest} call${rest === 1 ? '' : 's'} had time to spare.`;
  const fromCache = run.prefetch?.cached.length
    ? ` From the cache (green outline): ${listWords(run.prefetch.cached)}.`
    : '';
  caption.textContent = path.length
    ? `${runName(run)}, ${outcome}. Critical path (heavy outline): ${path.join(' → ')}. ${why}${fromCache}`
    : `${runName(run)}, ${outcome}: no call ran.`;
  caption.dataset.kind = run.ok ? 'ok' : 'error';
}

/** What each panel last drew a finished run for. */
const painted = new Map();
let runIds = 0;

/**
 * The Eager run the one drawn is compared with: after a prefetch, the last cold one; a cold
 * one, the last after a prefetch. Only one that succeeded with the same service settings;
 * else null.
 */
function comparedRun(run) {
  if (run?.mode !== 'eager') return null;
  const other = run.prefetch ? app.eager.cold : app.eager.prefetched;
  return other?.ok && other.settingsKey === run.settingsKey ? other : null;
}

/** "cold run 1.34 s", "after prefetch 1.15 s": the compared run, as its mark and the note say it. */
const comparedName = (run) => `${run.prefetch ? 'after prefetch' : 'cold run'} ${seconds(run.totalMs)}`;

/** The panel's note on an Eager run: how much came from the cache, and the run it is compared with. */
function eagerNote(run, other) {
  const notes = [];
  if (run.prefetch) notes.push(`after prefetch: ${run.prefetch.cached.length} of ${Object.keys(run.calls).length} calls from the cache`);
  if (other) notes.push(`${comparedName(other)} (dashed line)`);
  return notes.join(', ');
}

/** Redraws the three waterfall panels: the finished runs, and the one in flight as it stands. */
function renderPanels() {
  // One time scale for every panel, so bar lengths compare. It fits the runs made with the
  // current service settings (and the run in flight); older runs are dimmed and may be clipped.
  const key = app.services.key();
  // The run the Eager one is compared with is drawn too, as a line.
  const finished = [...MODES.map((m) => app.runs[m]), comparedRun(app.runs.eager)].filter(Boolean);
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
      const calls = { ...live.recorder.calls, ...live.cached };
      drawWaterfall(waterfall, { names: app.order.calls, calls, compensations: undo, scale, step, prefix: mode, now });
      continue;
    }
    if (!run) {
      fig.dataset.runState = 'idle';
      total.textContent = 'not run yet';
      note.textContent = '';
      drawWaterfall(waterfall, { names: [], scale, step, prefix: mode, empty: 'Not run yet.' });
      continue;
    }
    const other = comparedRun(run);
    // A finished run is redrawn only when something it is drawn with changed.
    const drawnFor = `${run.id}|${scale}|${step}|${run.settingsKey === key}|${other?.id}`;
    if (painted.get(mode) === drawnFor) continue;
    painted.set(mode, drawnFor);
    fig.dataset.runState = run.ok ? 'ok' : 'failed';
    fig.dataset.prefetched = run.prefetch ? 'true' : 'false';
    total.textContent = ms(run.totalMs);
    const notes = [];
    if (!run.ok) notes.push(run.error.code);
    if (run.prefetch || other) notes.push(eagerNote(run, other));
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
      marks: other ? [{ atMs: other.totalMs, label: comparedName(other), testid: `mark-${mode}-${other.prefetch ? 'prefetched' : 'cold'}` }] : [],
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
    drawOrderGraph(graphStates({ ...app.live.recorder.calls, ...app.live.cached }));
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
  // The schedules are compared cold; the last Eager runs with and without a prefetch, together.
  const lastEager = (kind) => (app.eager[kind]?.ok && app.eager[kind].settingsKey === key ? app.eager[kind] : null);
  const eager = lastEager('cold');
  const afterPrefetch = lastEager('prefetched');
  const times = (slow, fast) => `${(slow.totalMs / fast.totalMs).toFixed(1)}×`;
  const sentences = [];
  if (afterPrefetch && eager) {
    const saved = eager.totalMs - afterPrefetch.totalMs;
    const verdict = saved > 0 ? `${ms(saved)} sooner from click to confirmation` : 'no sooner';
    sentences.push(`Eager after prefetch ${seconds(afterPrefetch.totalMs)} vs cold ${seconds(eager.totalMs)}: ${verdict}.`);
  } else if (afterPrefetch) {
    sentences.push(`Eager after prefetch ${seconds(afterPrefetch.totalMs)}; run Eager without one to compare.`);
  }
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
  for (const button of document.querySelectorAll('.run-buttons button:not(#cancel), #prefetch, #run-plan')) button.disabled = true;
  $('#cancel').disabled = false;
  return app.controller.signal;
}

function clearBusy() {
  app.busy = null;
  app.controller = null;
  delete document.body.dataset.busy;
  for (const button of document.querySelectorAll('.run-buttons button:not(#cancel), #prefetch')) button.disabled = false;
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

/**
 * options.onEvent of a run through the composer. A call served from its cache sends no
 * request for the recorder to see; its `start` event (`cached: true`, with the reply's
 * `ageMs`) draws it at once, into `cached`, age included.
 */
function cacheWatcher(cached, onChange) {
  return (event) => {
    if (event.type !== 'start' || !event.cached || event.item !== undefined) return;
    cached[event.call] = { state: 'ok', cached: true, ageMs: event.ageMs, startMs: event.t, endMs: event.t, status: null, attempts: 0 };
    onChange();
  };
}

/**
 * Runs composeOrder in one schedule, drawing it live, and records the outcome for the panels.
 * The Eager run after a Prefetch goes through the page's composer, which holds the prefetched
 * replies; every other run is cold: the module's composeOrder(), with no cache.
 */
async function runMode(mode, signal) {
  const settingsKey = app.services.key();
  const prefetched = mode === 'eager' && app.prefetch !== null;
  if (prefetched) app.prefetch = null; // one Eager run uses a prefetch
  const started = performance.now();
  const onChange = () => {
    if (app.live) app.live.graphDirty = true;
    liveRedraw();
  };
  const recorder = liveRecorder({ match: app.match, t0: started, onChange });
  const cached = {};
  app.live = { mode, recorder, cached, started, graphDirty: true };
  document.body.dataset.busy = mode;
  const caption = $('#graph-caption');
  caption.textContent = `${MODE_LABEL[mode]} run${prefetched ? ' after prefetch' : ''} in flight: a call turns blue when its request is sent and light blue when its reply is in${
    prefetched ? '; one served from the cache gets a green outline' : ''}.`;
  delete caption.dataset.kind;
  renderPanels();
  const ticker = setInterval(liveRedraw, 100);
  let run;
  try {
    const options = { schedule: mode, signal, fetch: recorder.fetch };
    const order = prefetched
      ? await app.composer.composeOrder(readRequest(), { ...options, onEvent: cacheWatcher(cached, onChange) })
      : await composeOrder(readRequest(), { ...options, services: app.config.services });
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
  if (prefetched) run.prefetch = { cached: app.order.calls.filter((name) => run.calls[name]?.cached) };
  if (mode === 'eager') app.eager[prefetched ? 'prefetched' : 'cold'] = run;
  app.runs[mode] = run;
  app.lastRun = run;
  const fig = $(`.panel[data-mode="${mode}"]`);
  fig.dataset.runCount = String(Number(fig.dataset.runCount) + 1);
  renderPanels();
  renderSpeedup();
  renderResult(run, app.order);
  drawOrderGraph(graphStates(run.calls), run.critical);
  graphCaption(run);
  if (prefetched) setPrefetchStatus(prefetchUsed(run), 'used');
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

// ------------------------------------------------------------------ prefetch

function setPrefetchStatus(text, state) {
  const status = $('#prefetch-status');
  status.textContent = text;
  status.dataset.state = state;
}

/** What the Eager run after a prefetch took from the cache, for the prefetch status. */
function prefetchUsed(run) {
  const { cached } = run.prefetch;
  if (cached.length === 0) return 'The Eager run found nothing fresh in the cache and sent every call. Prefetch again to retry.';
  const sent = app.order.calls.filter((name) => run.calls[name] && !run.calls[name].cached && run.calls[name].attempts > 0);
  return `The Eager run took ${listWords(cached)} from the cache and sent ${sent.length ? listWords(sent) : 'nothing else'}. The next Eager run is cold again, unless you prefetch first.`;
}

/**
 * Prefetch: what a checkout page does when it opens. composer.prefetchOrder() fetches the
 * order's reads and quotes for the request in the form (never a write) into the composer's
 * cache, emptied first so that each prefetch starts cold; the graph marks what it holds.
 */
async function prefetch() {
  if (app.busy) return;
  const signal = setBusy('prefetch');
  app.prefetch = null;
  setPrefetchStatus('Prefetching…', 'running');
  try {
    await app.services.settle();
    app.composer.clear();
    const started = performance.now();
    const { calls } = await app.composer.prefetchOrder(readRequest(), { signal });
    const took = performance.now() - started;
    const cached = app.order.calls.filter((name) => calls[name]?.state === 'ok');
    if (cached.length === 0) {
      setPrefetchStatus('The prefetch cached nothing; the next Eager run sends every call.', 'failed');
      return;
    }
    app.prefetch = { cached };
    drawOrderGraph(Object.fromEntries(cached.map((name) => [name, 'cached'])));
    const caption = $('#graph-caption');
    caption.textContent = `Prefetched (green outline): ${listWords(cached)}, in the composer's cache for ${FRESH_FOR}. The next Eager run takes them from there and sends only the other calls.`;
    caption.dataset.kind = 'ok';
    const sent = Object.values(calls).reduce((sum, r) => sum + (r.attempts ?? 0), 0);
    const missing = PREFETCHED.filter((name) => !cached.includes(name));
    const notCached = missing.length ? ` Not cached: ${listWords(missing)}; the Eager run sends ${missing.length === 1 ? 'it' : 'them'}.` : '';
    setPrefetchStatus(`Prefetched ${listWords(cached)} in ${ms(took)} (${sent} request${sent === 1 ? '' : 's'}), fresh for ${FRESH_FOR}: press Eager to place the order with them.${notCached}`, 'ready');
  } catch (error) {
    app.composer.clear();
    const facts = errorFacts(error);
    const text = facts.code === 'ABORTED'
      ? 'Prefetch cancelled; the next Eager run sends every call.'
      : `Prefetch failed (${facts.code}${facts.call ? ` on ${facts.call}` : ''}): ${facts.message}. The next Eager run sends every call.`;
    setPrefetchStatus(text, facts.code === 'ABORTED' ? 'cancelled' : 'failed');
  } finally {
    clearBusy();
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
  $('#prefetch').addEventListener('click', prefetch);
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
  try {
    const fresh = { maxAgeMs: PREFETCH_MAX_AGE_MS };
    app.composer = createComposer({ services: app.config.services, cache: Object.fromEntries(PREFETCHED.map((name) => [name, fresh])) });
  } catch (error) {
    setStatus(`The package refused to make a composer for these services: ${error?.message ?? error}`, 'error');
    document.body.dataset.appState = 'error';
    return;
  }
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
