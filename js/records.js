// Per-call records as JavaScript objects. Built here with one object literal each, so
// they share a hidden class (fast to create and read), instead of a property write from
// Rust per field.

const STATES = ['ok', 'failed', 'skipped', 'cancelled', 'not-sent', 'unknown'];
const COMPENSATION_STATES = ['ok', 'failed', 'unknown', 'not-run'];

const none = (ms) => (Number.isNaN(ms) ? null : ms);
const failure = (code, message) => (code === undefined ? null : { code, message });

/**
 * `status` < 0 and NaN times mean "none" and become null; no `code` means no error.
 * `sharedFrom` is the name of the call whose read this one shared, or null; `replayed`
 * says the service replayed a stored reply for the request's Idempotency-Key.
 */
export function callRecord(state, status, attempts, startMs, endMs, code, message, queuedMs, sharedFrom, replayed) {
  return {
    state: STATES[state],
    status: status < 0 ? null : status,
    attempts,
    startMs: none(startMs),
    endMs: none(endMs),
    error: failure(code, message),
    queuedMs,
    sharedFrom,
    replayed,
  };
}

/** What became of one compensation; `reason` says why one was not run. */
export function compensationRecord(call, state, status, attempts, startMs, endMs, code, message, reason) {
  return {
    call,
    state: COMPENSATION_STATES[state],
    status: status < 0 ? null : status,
    attempts,
    startMs: none(startMs),
    endMs: none(endMs),
    error: failure(code, message),
    reason: reason === undefined ? null : reason,
  };
}
