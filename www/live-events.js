// What the composer's progress events (options.onEvent) tell the page while a composition
// runs that the requests it watches (live-fetch.js) cannot: which item of a fan-out call a
// request was for and how each item ended, since every item of a list is sent to the same
// URL template; and the calls that are never sent (a `skip` event: not needed, or a call
// they need failed), marked the moment the engine decides it instead of when the run ends.
//
// Like the live requests, these records are only for drawing while the composition runs:
// when it settles, the page draws the engine's own records, whose shape they copy
// (docs/options.md, "Fan-out": a fan-out call's record holds its items' in `items`).

const TERMINAL = new Set(['end', 'skip', 'cancel']);
const isTimed = (record) => record?.startMs !== null && record?.startMs !== undefined;

/**
 * How many items a fan-out call's record says its list had, or null while that is not known:
 * before the call settled, and when it failed before its list was read (no items then).
 */
export function itemCount(record) {
  if (!Array.isArray(record?.items)) return null;
  if (['running', 'answered'].includes(record.state)) return null;
  return record.items.length > 0 || record.state === 'ok' ? record.items.length : null;
}

/** One item's record, moved on by one of its events. */
function itemStep(record, event) {
  const r = record ?? { state: 'running', startMs: null, endMs: null, status: null, attempts: 0 };
  if (event.type === 'start') {
    if (!isTimed(r)) r.startMs = event.t;
    r.state = 'running';
    r.attempts = event.attempt;
  } else if (event.type === 'retry') {
    r.status = event.status;
  } else if (TERMINAL.has(event.type)) {
    r.state = event.state;
    r.status = event.status ?? null;
    r.endMs = isTimed(r) ? event.t : null;
  }
  return r;
}

/** A fan-out call's record as its items' events so far make it; null before any of them. */
function fanOutRecord(items, settled) {
  if (items.length === 0 && !settled) return null;
  const starts = items.filter(isTimed).map((r) => r.startMs);
  const startMs = starts.length ? Math.min(...starts) : null;
  return {
    state: settled?.state ?? 'running',
    startMs,
    endMs: settled && startMs !== null ? settled.t : null,
    status: null,
    attempts: items.reduce((sum, r) => sum + (r?.attempts ?? 0), 0),
    // Lanes in list order; an item not heard of yet has none.
    items: Array.from({ length: items.length }, (_, k) => items[k] ?? null),
  };
}

/**
 * events.onEvent is the function to pass as options.onEvent; events.records(calls) returns
 * live-fetch.js's `calls` with what the events add: the fan-out calls (`fanOut`: their
 * names) as their items make them, and the calls skipped so far, untimed.
 */
export function liveEvents({ fanOut = [], onChange = () => {} }) {
  const fans = new Set(fanOut);
  const items = Object.fromEntries(fanOut.map((name) => [name, []]));
  const settled = {}; // a fan-out call's own terminal event, or any call's skip: { state, t }

  const onEvent = (event) => {
    // A compensation's event comes after the run's calls all ended: the final records draw it.
    if (event.type === 'compensate') return;
    if (event.item !== undefined && fans.has(event.call)) {
      items[event.call][event.item] = itemStep(items[event.call][event.item], event);
    } else if (event.type === 'skip' || (fans.has(event.call) && TERMINAL.has(event.type))) {
      settled[event.call] = { state: event.state, t: event.t };
    } else {
      return;
    }
    onChange();
  };

  const records = (calls) => {
    const out = { ...calls };
    for (const name of fans) {
      const record = fanOutRecord(items[name], settled[name]);
      if (record) out[name] = record;
      else delete out[name]; // its requests are drawn as items, never as the call's own
    }
    for (const [name, { state }] of Object.entries(settled)) {
      if (!fans.has(name)) out[name] = { state, startMs: null, endMs: null, status: null, attempts: 0 };
    }
    return out;
  };

  return { onEvent, records };
}
