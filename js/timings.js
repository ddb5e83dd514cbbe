// DevTools timings: User Timing measures of a finished composition (`options.timings`).
//
// Measures take explicit start and end times, so they are made once the composition has
// settled, from its records, and cost nothing while it runs. Each composition gets its
// own track in Chrome's Performance panel (the extensibility API's `detail.devtools`),
// so two compositions on one page, whose measures have the same names, do not land on
// one row; `detail.traceId` tells them apart in code.

let compositions = 0;

/** The track of a new composition: its number on this page, and its trace id's start. */
export function timingsTrack(traceId) {
  compositions += 1;
  return traceId ? `compose #${compositions} (${traceId.slice(0, 8)})` : `compose #${compositions}`;
}

/**
 * `performance.measure(name, { start, end, detail })`. `state` is the call's state (or,
 * for the whole composition, "ok" or the error's code); `status` < 0 is none. Never throws:
 * a platform without User Timing Level 3 gets no measure, and the composition no error.
 */
export function measure(name, start, end, track, traceId, state, attempts, status) {
  const perf = globalThis.performance;
  if (!perf || typeof perf.measure !== 'function') return;
  const failed = state !== 'ok';
  try {
    perf.measure(name, {
      start,
      end,
      detail: {
        traceId,
        state,
        attempts,
        status: status < 0 ? null : status,
        devtools: {
          dataType: 'track-entry',
          track,
          trackGroup: 'parallel-composer',
          color: failed ? 'error' : 'primary',
          tooltipText: `${name}: ${state}`,
          properties: [
            ['state', state],
            ['attempts', String(attempts)],
            ['status', status < 0 ? '-' : String(status)],
            ['traceId', traceId ?? '-'],
          ],
        },
      },
    });
  } catch {
    // No measure rather than a failed composition.
  }
}
