// A fetch for `options.fetch` that lets the page watch a composition while it runs.
//
// The engine calls it as fetch(url, init) for every request (retries and compensations
// included). It passes both arguments on to the browser's fetch unchanged and returns the
// browser's own promise, so the engine sees exactly what it would without it; on the side it
// notes when each request started and when its reply (or its failure) arrived, booked
// under the call it belongs to. These live times are only for drawing: when the
// composition settles, the page draws the engine's own records instead.

/**
 * recorder.fetch is the function to pass as options.fetch. recorder.calls and recorder.undo
 * hold { state: 'running' | 'answered' | 'dropped', startMs, endMs, status, attempts } per call, times in
 * ms from `t0` (a performance.now() value). match(url, method, started) names the call.
 */
export function liveRecorder({ match, t0 = performance.now(), onChange = () => {} }) {
  const calls = {};
  const undo = {};
  const book = (isUndo) => (isUndo ? undo : calls);
  const started = (call, isUndo) => call in book(isUndo);

  const fetchThrough = (url, init) => {
    const hit = match(String(url), String(init?.method ?? 'GET'), started);
    const at = performance.now() - t0;
    const promise = globalThis.fetch(url, init);
    if (!hit) return promise;
    const records = book(hit.undo);
    const record = records[hit.call] ?? (records[hit.call] = { state: 'running', startMs: at, endMs: null, status: null, attempts: 0, inFlight: 0 });
    record.attempts += 1;
    record.inFlight += 1;
    record.state = 'running';
    record.endMs = null;
    onChange();
    const settle = (status) => {
      record.inFlight -= 1;
      record.status = status;
      if (record.inFlight === 0) {
        record.state = status === null ? 'dropped' : 'answered';
        record.endMs = performance.now() - t0;
      }
      onChange();
    };
    // A side branch: the engine gets `promise` itself, and a rejection is handled there too.
    promise.then((response) => settle(response.status), () => settle(null));
    return promise;
  };
  return { fetch: fetchThrough, calls, undo, t0 };
}
