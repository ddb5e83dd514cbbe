// The waterfall (a Gantt chart): one row per call, a bar from its start to its end on a
// shared time axis, a second, hatched bar for its compensation when it was undone. A fan-out
// call's row also holds one thin bar per item under its own, in list order, each from that
// item's start to its end and coloured by how it ended; the call's bar spans them. A call a
// composer served from its cache (after a prefetch) sent nothing: its bar is hollow, a short
// outline where the call would have started, and its words say how old the reply was
// ("customer: from the cache, 1.2 s old").
//
// A mark is a dashed line down the rows at a moment worth comparing with, such as where the
// last run without a prefetch ended, labelled under the rows. The figure's caption says it in
// words, so the line and its label are hidden from assistive technology.
//
// drawWaterfall() updates the rows it drew before rather than rebuilding them, so it can be
// called on every animation frame while a composition runs: a bar appears when its call
// starts, grows while the request is in flight and stops when the reply arrives. Bars carry
// data-testid="bar-<prefix>-<call>" (and "undo-<prefix>-<call>", "item-<prefix>-<call>-<k>")
// with their state and times in data attributes, for the tests.
//
// For assistive technology each bar is an image (role="img") named by its aria-label, which
// says what its tooltip says: the call, how it ended, when, and whether it is on the critical
// path; an item's bar is named like its User Timing measure, `call[k]` (k counts from 0, as
// `{index}` does). A row without a bar says "not started" in visually hidden text.
import { age, el, ms, pct, STATE_LABEL } from './dom.js';
import { itemCount } from './live-events.js';

/**
 * A round time scale (ms) that fits `maxMs`, with a tick step giving at most 8 intervals, or 4
 * on a narrow screen (style.css's own breakpoint), where 8 labels would run into each other.
 */
export function niceScale(maxMs) {
  const steps = [50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 30000, 60000, 120000, 300000];
  const intervals = globalThis.matchMedia?.('(max-width: 560px)').matches ? 4 : 8;
  const max = Math.max(maxMs, 1);
  const step = steps.find((s) => Math.ceil(max / s) <= intervals) ?? Math.ceil(max / intervals);
  return { scale: Math.max(1, Math.ceil(max / step)) * step, step };
}

/**
 * Each call's compensation as one span on its row: a fan-out call's items are undone one by
 * one, so its span runs from the first one's start to the last one's end, in the state of
 * the first that did not succeed (else "ok"), with how many there were (`items`).
 */
function undoSpans(compensations) {
  const spans = new Map();
  for (const c of compensations.filter(isTimed)) {
    const span = spans.get(c.call);
    if (!span) {
      spans.set(c.call, { ...c, items: 1 });
      continue;
    }
    span.startMs = Math.min(span.startMs, c.startMs);
    span.endMs = Math.max(span.endMs, c.endMs);
    span.items += 1;
    if (span.state === 'ok') span.state = c.state;
  }
  return spans;
}

/** The furthest point in time a finished run's drawing needs (compensations included). */
export function runExtent(run) {
  const ends = [...Object.values(run.calls ?? {}), ...(run.compensations ?? [])].map((r) => r.endMs ?? 0);
  return Math.max(run.totalMs ?? 0, ...ends);
}

/** The axis's unit: its ticks are numbers, so that they stay apart on a narrow screen. */
const tickUnit = (step) => (step >= 1000 ? 's' : 'ms');
const tickLabel = (t, step) => `${step >= 1000 ? t / 1000 : t}`;

const isTimed = (record) => record.startMs !== null && record.startMs !== undefined;

function callDetail(record) {
  const took = isTimed(record) && record.endMs !== null && record.endMs !== undefined ? ms(record.endMs - record.startMs) : '';
  const retried = record.attempts > 1 ? ` · ${record.attempts} tries` : '';
  // No-break spaces: a narrow screen wraps it after "cached ·", never inside "0.4 s old".
  if (record.cached) return record.ageMs === null || record.ageMs === undefined ? 'cached' : `cached · ${age(record.ageMs).replace(' ', '\u00a0')}\u00a0old`;
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

/** A fan-out call's detail: how many items and how long, or which item failed. */
function fanOutDetail(record) {
  const failed = record.items.findIndex((r) => r?.state === 'failed');
  if (record.state === 'failed' && failed >= 0) {
    const { status } = record.items[failed];
    // Short enough for the detail column; the colour and the bars' names say it failed.
    return status !== null && status !== undefined ? `[${failed}] HTTP ${status}` : `[${failed}] failed`;
  }
  const count = itemCount(record);
  if (count === null) return callDetail(record);
  const items = `${count} item${count === 1 ? '' : 's'}`;
  if (!isTimed(record) || record.endMs === null || record.endMs === undefined) return items; // an empty list
  // Its attempts count every item's requests: more than one per item means retries.
  const retried = record.attempts > count ? ` · ${record.attempts} requests` : '';
  return `${items} · ${ms(record.endMs - record.startMs)}${retried}`;
}

/** Per container: the rows drawn, and what they were drawn for. */
const drawn = new WeakMap();

/** One mark's line on a row's track, or its label in the marks row. */
function markAt(mark, scale, props) {
  const node = el('span', props);
  node.style.left = pct(mark.atMs, scale);
  return node;
}

function skeleton(container, { names, scale, step, marks }) {
  container.replaceChildren();
  container.style.setProperty('--grid-step', pct(step, scale));
  const ticks = [];
  for (let t = 0; t <= scale; t += step) {
    const tick = el('span', { class: t === scale ? 'tick tick-last' : 'tick', text: tickLabel(t, step) });
    tick.style.left = pct(t, scale);
    ticks.push(tick);
  }
  container.append(el('div', { class: 'axis', 'aria-hidden': 'true' }, el('span'), el('div', { class: 'axis-track' }, ticks), el('span', { class: 'axis-unit', text: tickUnit(step) })));
  const rows = new Map();
  const list = el('ol', { class: 'rows' });
  for (const name of names) {
    const track = el('div', { class: 'track' });
    const spoken = el('span', { class: 'sr-only' });
    const detail = el('span', { class: 'row-detail', 'aria-hidden': 'true' });
    const li = el('li', { class: 'row', 'data-call': name }, el('span', { class: 'row-name', text: name }), track, detail);
    list.append(li);
    track.append(spoken, ...marks.map((m) => markAt(m, scale, { class: 'mark-line', 'aria-hidden': 'true' })));
    rows.set(name, { li, track, spoken, detail, bar: null, undo: null, items: [] });
  }
  container.append(list);
  if (marks.length > 0) {
    // A label past the middle hangs to the left of its line, so that it stays inside the track.
    const labels = marks.map((m) => markAt(m, scale, {
      class: m.atMs > scale / 2 ? 'mark-label mark-label-left' : 'mark-label', 'data-testid': m.testid, 'data-at-ms': m.atMs.toFixed(1), text: m.label,
    }));
    container.append(el('div', { class: 'marks', 'aria-hidden': 'true' }, el('span'), el('div', { class: 'marks-track' }, labels), el('span')));
  }
  return rows;
}

/** Creates, moves or removes one bar of a row. */
function placeBar(row, slot, options) {
  if (!options.record) {
    row[slot]?.remove();
    row[slot] = null;
    return;
  }
  if (!row[slot]) {
    row[slot] = el('div', { 'data-testid': options.testid, role: 'img' });
    row.track.prepend(row[slot]);
  }
  paintBar(row[slot], options);
}

/** Sets a bar's place, length, state and words from its record. */
function paintBar(bar, { record, scale, now, givenUpAt, what, critical, undo, item = null }) {
  const timed = isTimed(record);
  const open = record.endMs === null || record.endMs === undefined;
  const end = open ? Math.max(record.startMs ?? 0, now ?? record.startMs ?? 0) : record.endMs;
  const cached = record.cached === true;
  bar.className = `bar state-${record.state}${timed ? '' : ' bar-untimed'}${undo ? ' bar-undo' : ''}${item === null ? '' : ' bar-item'}${cached ? ' bar-cached' : ''}${critical ? ' critical' : ''}`;
  bar.dataset.state = record.state;
  if (cached) {
    bar.dataset.cached = 'true';
    bar.dataset.ageMs = record.ageMs === null || record.ageMs === undefined ? '' : record.ageMs.toFixed(0);
  } else {
    delete bar.dataset.cached;
    delete bar.dataset.ageMs;
  }
  bar.dataset.startMs = timed ? record.startMs.toFixed(1) : '';
  bar.dataset.endMs = open ? '' : record.endMs.toFixed(1);
  if (critical) bar.dataset.critical = 'true';
  else delete bar.dataset.critical;
  const label = STATE_LABEL[record.state] ?? record.state;
  const onPath = critical ? ', on the critical path' : '';
  if (timed && cached) {
    // It took no time: what it says is that nothing was sent, and how old the reply was.
    const old = record.ageMs === null || record.ageMs === undefined ? '' : `, ${age(record.ageMs)} old`;
    bar.style.left = pct(record.startMs, scale);
    bar.style.width = pct(end - record.startMs, scale);
    bar.title = `${what}: ${STATE_LABEL.cached}${old}${onPath}`;
  } else if (timed) {
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
 * A fan-out call's item bars, one lane per item under the call's own bar, in list order; an
 * item not heard of yet (live) has an empty lane. The track grows a lane per item.
 */
function placeItems(row, { record, prefix, name, scale, now, givenUpAt }) {
  const items = Array.isArray(record?.items) ? record.items : [];
  for (const bar of row.items.splice(items.length)) bar?.remove();
  let added = false;
  items.forEach((item, k) => {
    if (!item) {
      row.items[k]?.remove();
      row.items[k] = null;
      return;
    }
    if (!row.items[k]) {
      row.items[k] = el('div', { 'data-testid': `item-${prefix}-${name}-${k}`, 'data-item': k, role: 'img' });
      row.items[k].style.setProperty('--lane', String(k));
      added = true;
    }
    paintBar(row.items[k], { record: item, scale, now, givenUpAt, what: `${name}[${k}]`, item: k });
  });
  // Appended again in list order when one was added: the order assistive technology reads.
  if (added) row.track.append(...row.items.filter(Boolean));
  row.li.classList.toggle('row-fan-out', items.length > 0);
  row.track.style.setProperty('--lanes', String(items.length));
}

/** What a call's bar is called: a fan-out call says how many items, once that is known. */
function callWhat(name, record) {
  const count = itemCount(record);
  return count === null ? name : `${name} (${count} item${count === 1 ? '' : 's'})`;
}

/**
 * Draws (or updates) one waterfall.
 *   names        the rows, in order
 *   calls        { name: { state, status, attempts, startMs, endMs, items? } }; a call without a
 *                record has an empty row (it has not started); a fan-out call's `items` (its
 *                items' records, in list order) get a lane each
 *   compensations [{ call, state, startMs, endMs }], drawn on their call's row
 *                a record with `cached: true` (and `ageMs`) was served from a composer's cache
 *   critical     the names on the critical path
 *   now          ms since the start, where an open bar ends (live drawing)
 *   marks        [{ atMs, label, testid }]: dashed lines down the rows, labelled under them
 *   empty        the text to show when there are no rows
 */
export function drawWaterfall(container, {
  names, calls = {}, compensations = [], scale, step, prefix, critical = [], now = null, marks = [], empty = 'No call was sent.',
}) {
  if (names.length === 0) {
    drawn.delete(container);
    container.replaceChildren(el('p', { class: 'waterfall-empty', text: empty }));
    return;
  }
  const key = `${names.join(' ')}|${scale}|${step}|${marks.map((m) => `${m.atMs}:${m.label}`).join(' ')}`;
  let state = drawn.get(container);
  if (!state || state.key !== key) {
    state = { key, rows: skeleton(container, { names, scale, step, marks }) };
    drawn.set(container, state);
  }
  // Calls that never started are marked where the composition gave up on them.
  const givenUpAt = Math.max(0, ...Object.values(calls).map((r) => r.endMs ?? 0));
  const onPath = new Set(critical);
  const undoOf = undoSpans(compensations);
  for (const name of names) {
    const row = state.rows.get(name);
    const record = calls[name] ?? null;
    row.li.classList.toggle('on-path', onPath.has(name));
    placeBar(row, 'bar', { testid: `bar-${prefix}-${name}`, record, scale, now, givenUpAt, what: callWhat(name, record), critical: onPath.has(name) });
    const undoing = undoOf.get(name) ?? null;
    const undoWhat = undoing?.items > 1 ? `${name}, ${undoing.items} items undone` : `${name}, undone`;
    placeBar(row, 'undo', { testid: `undo-${prefix}-${name}`, record: undoing, scale, now, givenUpAt, what: undoWhat, undo: true });
    placeItems(row, { record, prefix, name, scale, now, givenUpAt });
    // The bars speak for themselves (their aria-label); only an empty row needs words.
    row.spoken.textContent = record ? '' : ': not started';
    const undone = undoOf.get(name);
    row.detail.className = `row-detail${record ? ` detail-${record.state}` : ''}`;
    const detail = Array.isArray(record?.items) ? fanOutDetail(record) : record && callDetail(record);
    row.detail.textContent = record ? detail + (undone ? ' · undone' : '') : '';
  }
}
