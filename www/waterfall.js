// The waterfall (a Gantt chart): one row per call, a bar from its start to its end on a
// shared time axis, a second, hatched bar for its compensation when it was undone.
//
// drawWaterfall() updates the rows it drew before rather than rebuilding them, so it can be
// called on every animation frame while a composition runs: a bar appears when its call
// starts, grows while the request is in flight and stops when the reply arrives. Bars carry
// data-testid="bar-<prefix>-<call>" (and "undo-<prefix>-<call>") with their state and times
// in data attributes, for the tests.
//
// For assistive technology each bar is an image (role="img") named by its aria-label, which
// says what its tooltip says: the call, how it ended, when, and whether it is on the critical
// path. A row without a bar says "not started" in visually hidden text.
import { el, ms, pct, STATE_LABEL } from './dom.js';

/** A round time scale (ms) that fits `maxMs`, with a tick step giving at most 8 intervals. */
export function niceScale(maxMs) {
  const steps = [50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 30000, 60000, 120000, 300000];
  const max = Math.max(maxMs, 1);
  const step = steps.find((s) => Math.ceil(max / s) <= 8) ?? Math.ceil(max / 8);
  return { scale: Math.max(1, Math.ceil(max / step)) * step, step };
}

/** The furthest point in time a finished run's drawing needs (compensations included). */
export function runExtent(run) {
  const ends = [...Object.values(run.calls ?? {}), ...(run.compensations ?? [])].map((r) => r.endMs ?? 0);
  return Math.max(run.totalMs ?? 0, ...ends);
}

function tickLabel(t, step) {
  if (t === 0) return '0';
  return step >= 1000 ? `${t / 1000} s` : `${t} ms`;
}

const isTimed = (record) => record.startMs !== null && record.startMs !== undefined;

function callDetail(record) {
  const took = isTimed(record) && record.endMs !== null && record.endMs !== undefined ? ms(record.endMs - record.startMs) : '';
  const retried = record.attempts > 1 ? ` · ${record.attempts} tries` : '';
  switch (record.state) {
    case 'ok':
    case 'answered':
      return took + retried;
    case 'running':
      return 'in flight…';
    case 'failed':
      return (record.status !== null ? `failed · HTTP ${record.status}` : 'failed') + retried;
    case 'cancelled':
      return took ? `cancelled at ${ms(record.endMs)}` : 'cancelled';
    default:
      return STATE_LABEL[record.state] ?? record.state;
  }
}

/** Per container: the rows drawn, and what they were drawn for. */
const drawn = new WeakMap();

function skeleton(container, { names, scale, step }) {
  container.replaceChildren();
  container.style.setProperty('--grid-step', pct(step, scale));
  const ticks = [];
  for (let t = 0; t <= scale; t += step) {
    const tick = el('span', { class: t === scale ? 'tick tick-last' : 'tick', text: tickLabel(t, step) });
    tick.style.left = pct(t, scale);
    ticks.push(tick);
  }
  container.append(el('div', { class: 'axis', 'aria-hidden': 'true' }, el('span'), el('div', { class: 'axis-track' }, ticks), el('span')));
  const rows = new Map();
  const list = el('ol', { class: 'rows' });
  for (const name of names) {
    const track = el('div', { class: 'track' });
    const spoken = el('span', { class: 'sr-only' });
    const detail = el('span', { class: 'row-detail', 'aria-hidden': 'true' });
    const li = el('li', { class: 'row', 'data-call': name }, el('span', { class: 'row-name', text: name }), track, detail);
    list.append(li);
    track.append(spoken);
    rows.set(name, { li, track, spoken, detail, bar: null, undo: null });
  }
  container.append(list);
  return rows;
}

/** Creates, moves or removes one bar of a row. */
function placeBar(row, slot, { testid, record, scale, now, givenUpAt, name, critical, undo }) {
  if (!record) {
    row[slot]?.remove();
    row[slot] = null;
    return;
  }
  if (!row[slot]) {
    row[slot] = el('div', { 'data-testid': testid, role: 'img' });
    row.track.prepend(row[slot]);
  }
  const bar = row[slot];
  const timed = isTimed(record);
  const open = record.endMs === null || record.endMs === undefined;
  const end = open ? Math.max(record.startMs ?? 0, now ?? record.startMs ?? 0) : record.endMs;
  bar.className = `bar state-${record.state}${timed ? '' : ' bar-untimed'}${undo ? ' bar-undo' : ''}${critical ? ' critical' : ''}`;
  bar.dataset.state = record.state;
  bar.dataset.startMs = timed ? record.startMs.toFixed(1) : '';
  bar.dataset.endMs = open ? '' : record.endMs.toFixed(1);
  if (critical) bar.dataset.critical = 'true';
  else delete bar.dataset.critical;
  const what = undo ? `${name}, undone` : name;
  const label = STATE_LABEL[record.state] ?? record.state;
  const onPath = critical ? ', on the critical path' : '';
  if (timed) {
    bar.style.left = pct(record.startMs, scale);
    bar.style.width = pct(end - record.startMs, scale);
    bar.title = `${what}: ${label}, ${ms(record.startMs)} → ${open ? 'now' : ms(end)}${onPath}`;
  } else {
    bar.style.left = `max(0px, calc(${pct(givenUpAt, scale)} - 0.8rem))`;
    bar.style.width = '';
    bar.title = `${what}: ${label}, never started`;
  }
  bar.setAttribute('aria-label', bar.title);
}

/**
 * Draws (or updates) one waterfall.
 *   names        the rows, in order
 *   calls        { name: { state, status, attempts, startMs, endMs } }; a call without a record
 *                has an empty row (it has not started)
 *   compensations [{ call, state, startMs, endMs }], drawn on their call's row
 *   critical     the names on the critical path
 *   now          ms since the start, where an open bar ends (live drawing)
 *   empty        the text to show when there are no rows
 */
export function drawWaterfall(container, {
  names, calls = {}, compensations = [], scale, step, prefix, critical = [], now = null, empty = 'No call was sent.',
}) {
  if (names.length === 0) {
    drawn.delete(container);
    container.replaceChildren(el('p', { class: 'waterfall-empty', text: empty }));
    return;
  }
  const key = `${names.join(' ')}|${scale}|${step}`;
  let state = drawn.get(container);
  if (!state || state.key !== key) {
    state = { key, rows: skeleton(container, { names, scale, step }) };
    drawn.set(container, state);
  }
  // Calls that never started are marked where the composition gave up on them.
  const givenUpAt = Math.max(0, ...Object.values(calls).map((r) => r.endMs ?? 0));
  const onPath = new Set(critical);
  const undoOf = new Map(compensations.filter((c) => isTimed(c)).map((c) => [c.call, c]));
  for (const name of names) {
    const row = state.rows.get(name);
    const record = calls[name] ?? null;
    row.li.classList.toggle('on-path', onPath.has(name));
    placeBar(row, 'bar', { testid: `bar-${prefix}-${name}`, record, scale, now, givenUpAt, name, critical: onPath.has(name) });
    placeBar(row, 'undo', { testid: `undo-${prefix}-${name}`, record: undoOf.get(name) ?? null, scale, now, givenUpAt, name, undo: true });
    // The bars speak for themselves (their aria-label); only an empty row needs words.
    row.spoken.textContent = record ? '' : ': not started';
    const undone = undoOf.get(name);
    row.detail.className = `row-detail${record ? ` detail-${record.state}` : ''}`;
    row.detail.textContent = record ? callDetail(record) + (undone ? ' · undone' : '') : '';
  }
}
