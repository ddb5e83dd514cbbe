// Per-call records as JavaScript objects. Built here with one object literal each, so
// they share a hidden class (fast to create and read), instead of five property writes
// from Rust per call.

const STATES = ['ok', 'failed', 'skipped', 'cancelled', 'not-sent', 'unknown'];

/** `status` < 0 and NaN times mean "none" and become null. */
export function callRecord(state, status, attempts, startMs, endMs) {
  return {
    state: STATES[state],
    status: status < 0 ? null : status,
    attempts,
    startMs: Number.isNaN(startMs) ? null : startMs,
    endMs: Number.isNaN(endMs) ? null : endMs,
  };
}
