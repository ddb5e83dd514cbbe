// What a composition hands to JavaScript besides the replies themselves: every call's
// record, and the error a rejected promise carries. Used from src/bindings/records.rs.

// A call's record (`calls[<call>]`: src/bindings/types.d.ts, `CallRecord`), made as one
// object literal in one call from Rust (src/bindings/records.rs). Written a field at a time
// by serde-wasm-bindgen, a record cost 13 calls into JavaScript (an object, nine keys, three
// numbers); there is one record per call of every composition (measured in
// docs/performance.md, "Engine overhead per call").
//
// `None` arrives as `undefined` and is written `null`, as the records document.
export function callRecord(state, status, attempts, startMs, endMs, error, queuedMs, sharedFrom, replayed) {
  return {
    state,
    status: status ?? null,
    attempts,
    startMs: startMs ?? null,
    endMs: endMs ?? null,
    error,
    queuedMs,
    sharedFrom,
    replayed,
  };
}

// The plan's call names as JS strings, from one text of names each ended by a line break
// (a name holds no line break: letters, digits, `_`, `-`, `$`). One string crosses from
// Rust instead of one per call, each of which cost a UTF-8 decode (src/bindings/run.rs).
export function callNames(text) {
  const names = text.split('\n');
  names.pop();
  return names;
}

// The error every rejected compose(), composeOrder() and validatePlan() throws.
// Defined in JavaScript so that it is a real Error subclass: `instanceof Error`,
// a stack trace, and `Error.isError()` all work as web developers expect.
export class ComposeError extends Error {
  constructor(message, { code, call = null, status = null, calls = {}, compensations = [], traceId = null, resubmit = 'new-operation' } = {}) {
    super(message);
    this.name = 'ComposeError';
    /** A stable code such as "HTTP_STATUS". */
    this.code = code;
    /** The call that failed, or null. */
    this.call = call;
    /** The HTTP status of the failing reply, or null. */
    this.status = status;
    /** Every call's record: which calls ran, which writes happened. */
    this.calls = calls;
    /** What became of each completed write the failure left to undo, in the order undone. */
    this.compensations = compensations;
    /** The trace id its requests' traceparent carried, or null (see options.traceContext). */
    this.traceId = traceId;
    /**
     * How to try again: "same-operation" (a write's outcome is unknown, or one is still in
     * effect: resubmit under the same operationId, which gets what exists back by key) or
     * "new-operation" (nothing it made remains: a new attempt needs a new operationId).
     */
    this.resubmit = resubmit;
  }
}
