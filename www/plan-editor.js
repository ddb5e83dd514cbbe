// The plan editor: a JSON plan for the generic compose(), validated as you type (errors
// inline, the stages listed and drawn as a graph), run against the mock services with a
// live waterfall and graph. Several example plans are preloaded (examples.js).
//
// While a plan runs, its requests (live-fetch.js) say when each call is in flight, and its
// progress events (live-events.js) what the requests cannot: a fan-out call's items, and
// the calls that will never be sent.
import { compose, validatePlan, ComposeError } from '/pkg/parallel_composer.js';
import { $, el, ms, frameScheduler } from './dom.js';
import { EXAMPLES } from './examples.js';
import { dependencies, fanOuts, requestMatcher } from './plan-deps.js';
import { criticalPath } from './critical-path.js';
import { liveRecorder } from './live-fetch.js';
import { liveEvents, itemCount } from './live-events.js';
import { drawWaterfall, niceScale } from './waterfall.js';
import { drawGraph } from './graph.js';
import { errorFacts, renderCompensations } from './result-panel.js';

/**
 * " Not needed: points, badge." for the calls that sent nothing because their `when` was false
 * or they read such a call, in `names`' order; '' when every call was needed.
 */
function notNeeded(names, calls) {
  const unneeded = names.filter((name) => calls[name]?.state === 'not-needed');
  return unneeded.length ? ` Not needed: ${unneeded.join(', ')}.` : '';
}

/** { call: its state } of some records, as the graph colours its nodes. */
const statesOf = (calls) => Object.fromEntries(Object.entries(calls).map(([name, r]) => [name, r.state]));

/** { call: its item count, or null while not known } for the plan's fan-out calls. */
const countsOf = (fanOut, calls) => Object.fromEntries(fanOut.map((name) => [name, itemCount(calls[name])]));

/**
 * What a run shows while it is in flight, drawn at most once a frame and ten times a
 * second (so that open bars grow): the waterfall, and the graph when a state changed.
 * Returns { fetch, onEvent } for compose()'s options, and stop().
 */
function liveView({ valid, names, deps, fanOut }) {
  const started = performance.now();
  let live = true;
  let graphDirty = true;
  const redraw = frameScheduler(() => {
    if (!live) return;
    const now = performance.now() - started;
    const { scale, step } = niceScale(now);
    const calls = events.records(recorder.calls);
    const undo = Object.entries(recorder.undo).map(([call, r]) => ({ call, ...r }));
    drawWaterfall($('#plan-waterfall'), { names, calls, compensations: undo, scale, step, prefix: 'plan', now });
    if (graphDirty) {
      graphDirty = false;
      drawGraph($('#plan-graph'), { stages: valid.stages, deps, prefix: 'plan-graph', states: statesOf(calls), fanOut: countsOf(fanOut, calls) });
    }
  });
  const changed = () => {
    graphDirty = true;
    redraw();
  };
  const recorder = liveRecorder({ match: requestMatcher(valid.plan), t0: started, onChange: changed });
  const events = liveEvents({ fanOut, onChange: changed });
  const ticker = setInterval(redraw, 100);
  redraw();
  const stop = () => {
    live = false;
    clearInterval(ticker);
    redraw.cancel();
  };
  return { started, fetch: recorder.fetch, onEvent: events.onEvent, stop };
}

/**
 * Wires the editor.
 *   services  { name: base URL }, for the examples
 *   busy      { start(kind) -> AbortSignal, end(), active() }: one composition at a time on the page
 * Returns { validate() }, called again when the page stops being busy.
 */
export function planEditor({ services, busy }) {
  const planText = $('#plan-text');
  const inputText = $('#plan-input');
  const picker = $('#plan-example');

  function load(id) {
    const example = EXAMPLES.find((e) => e.id === id) ?? EXAMPLES[0];
    picker.value = example.id;
    planText.value = JSON.stringify(example.plan(services), null, 2);
    inputText.value = JSON.stringify(example.input);
    $('#example-about').textContent = example.about;
    validate();
  }

  /** Validates the editor's text; shows errors, stages and the graph. Returns { plan, input, stages } or null. */
  function validate() {
    const errors = $('#plan-errors');
    const stagesList = $('#plan-stages');
    const fail = (field, message) => {
      field.setAttribute('aria-invalid', 'true');
      errors.textContent = message;
      errors.dataset.valid = 'false';
      stagesList.replaceChildren(el('li', { class: 'muted', text: 'Fix the plan to see its stages.' }));
      $('#plan-graph').replaceChildren(el('p', { class: 'muted graph-empty', text: 'Fix the plan to see its graph.' }));
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
    const fanOut = Object.fromEntries(Object.keys(fanOuts(plan)).map((name) => [name, null]));
    drawGraph($('#plan-graph'), { stages: summary.stages, deps: dependencies(plan), prefix: 'plan-graph', fanOut });
    $('#run-plan').disabled = busy.active();
    return { plan, input, stages: summary.stages };
  }

  async function run() {
    const valid = validate();
    if (!valid || busy.active()) return;
    const schedule = $('#plan-schedule').value;
    const signal = busy.start('plan');
    const output = $('#plan-output');
    const summary = $('#plan-summary');
    const result = $('#plan-result');
    const waterfall = $('#plan-waterfall');
    const names = valid.stages.flat();
    const deps = dependencies(valid.plan);
    const fanOut = Object.keys(fanOuts(valid.plan));
    output.hidden = false;
    output.dataset.runState = 'running';
    summary.textContent = `Running (${schedule})…`;
    summary.dataset.kind = 'info';
    $('#plan-undo').hidden = true;

    const view = liveView({ valid, names, deps, fanOut });
    const { started } = view;
    let calls = {};
    let compensations = [];
    try {
      const value = await compose(valid.plan, valid.input, { schedule, signal, fetch: view.fetch, onEvent: view.onEvent });
      const took = performance.now() - started;
      calls = value.calls;
      const fellBack = value.fellBack?.length ? ` Fell back: ${value.fellBack.join(', ')}.` : '';
      summary.textContent = `compose() resolved in ${ms(took)} (${schedule}).${fellBack}${notNeeded(names, calls)}`;
      summary.dataset.kind = 'ok';
      result.textContent = JSON.stringify({ data: value.data, stages: value.stages, fellBack: value.fellBack }, null, 2);
      output.dataset.runState = 'ok';
    } catch (error) {
      const took = performance.now() - started;
      const facts = errorFacts(error);
      calls = error instanceof ComposeError ? error.calls : {};
      compensations = error instanceof ComposeError ? error.compensations ?? [] : [];
      const where = facts.call ? ` in call “${facts.call}”${facts.item !== null ? `, item ${facts.item}` : ''}` : '';
      summary.textContent = `compose() rejected after ${ms(took)}: ${facts.code}${where}.`;
      summary.dataset.kind = 'error';
      result.textContent = JSON.stringify({ ...facts, compensations }, null, 2);
      output.dataset.runState = 'failed';
      if (compensations.length) {
        $('#plan-undo').hidden = false;
        renderCompensations($('#plan-undo-summary'), $('#plan-compensations'), compensations, 'plan-compensation');
      }
    } finally {
      view.stop();
      busy.end();
    }
    const total = performance.now() - started;
    const { scale, step } = niceScale(Math.max(total, ...Object.values(calls).map((r) => r.endMs ?? 0), ...compensations.map((c) => c.endMs ?? 0)));
    const critical = criticalPath(calls, { deps, stages: valid.stages, schedule });
    drawWaterfall(waterfall, { names: names.filter((n) => calls[n]), calls, compensations, scale, step, prefix: 'plan', critical });
    drawGraph($('#plan-graph'), {
      stages: valid.stages, deps, prefix: 'plan-graph', critical, states: statesOf(calls), fanOut: countsOf(fanOut, calls),
    });
  }

  picker.replaceChildren(...EXAMPLES.map((e) => el('option', { value: e.id, text: e.label })));
  picker.addEventListener('change', () => load(picker.value));
  planText.addEventListener('input', validate);
  inputText.addEventListener('input', validate);
  $('#run-plan').addEventListener('click', run);
  load(EXAMPLES[0].id);
  return { validate };
}
