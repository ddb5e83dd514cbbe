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
