// What a composition reports to the page: every call's record and the error a rejected
// promise carries (src/bindings/records.rs), its progress events to `options.onEvent`
// (src/bindings/events.rs), the clock its times are read on (src/web/clock.rs), and its
// DevTools measures (src/web/timings.rs).
//
// One module for all of them rather than one each: where the glue is not bundled
// (wasm-bindgen's test runner, the bundler build) each module is a request of its own, and
// the test runner's server stalls minutes on a page that opens more connections at once
// than it has idle threads (three, at first; see tests/common/page.js).

// ---------------------------------------------------------------- records and the error

// Every call's record (`calls[<call>]`: src/bindings/types.d.ts, `CallRecord`), made in one
// call from Rust for the whole composition (src/bindings/records.rs, `records_js`). Written
// a field at a time by serde-wasm-bindgen, a record cost 13 calls into JavaScript; one call
// per record still cost a crossing with nine arguments for every call of every composition
// (measured in docs/performance.md, "Engine overhead per call").
//
// `states[kinds[i]]` is call i's state (the names come from Rust's enum, in its order);
// `numbers` holds RECORD_NUMBERS per call: status, attempts, startMs, endMs, queuedMs,
// sharedFrom (the index of the call it shared from, or -1), replayed (0 or 1), for a
// fan-out call how many of its items' records follow its own (-1 for any other call), and
// fellBack (0 or 1), the age of a reply a composer's cache served (NaN when it sent its
// own), and hedged (0: no, 1: hedged, 2: hedged and the hedge's reply won), with NaN for a
// null. `errors[k]` is the error of record `errorAt[k]`,
// in increasing order.
// Returns `calls`: the records by call name, each an own data property (`__proto__` too).
const RECORD_NUMBERS = 11;

// Given `null` and the record of one call, callRecords returns that record, as `calls`
// would hold it: a part of composeStream() (below), written when the call's value is known.
//
// Given a `result` object, callRecords instead makes `result.calls` that object, built the
// first time it is read, and from then on an ordinary data property holding it: a
// composition whose caller reads only `data` never builds a thousand-key object of records
// (docs/performance.md, "Engine overhead per call"). Everything else is as for a data
// property: an own enumerable property in its place among the result's keys (`result` has
// it already), read by JSON.stringify, structuredClone and spreading, the same object at
// every read, and assignable. The typed arrays are views of the wasm memory, so they are
// copied to be kept until then.
export function callRecords(result, names, states, kinds, numbers, errorAt, errors) {
  if (result === undefined) return buildCalls(names, states, kinds, numbers, errorAt, errors);
  if (result === null) return reader(names, states, kinds, numbers, errorAt, errors)();
  const kept = [names, states, kinds.slice(), numbers.slice(), errorAt.slice(), errors];
  let calls;
  Object.defineProperty(result, 'calls', {
    get() {
      if (calls === undefined) {
        calls = buildCalls(...kept);
        try {
          ownValue(result, 'calls', calls);
        } catch {
          // Sealed or frozen before this first read: the accessor stays, and answers the same.
        }
      }
      return calls;
    },
    set(value) {
      ownValue(result, 'calls', value);
    },
    enumerable: true,
    configurable: true,
  });
  return undefined;
}

function buildCalls(names, states, kinds, numbers, errorAt, errors) {
  const calls = {};
  const next = reader(names, states, kinds, numbers, errorAt, errors);
  for (const name of names) {
    const record = next();
    if (name === '__proto__') ownValue(calls, name, record);
    else calls[name] = record;
  }
  return calls;
}

/** The records, read one call at a time (its items with it) by the function returned. */
function reader(names, states, kinds, numbers, errorAt, errors) {
  // The next record (`at`) and the next error (`e`): a fan-out call's items follow it.
  let at = 0;
  let e = 0;
  const next = () => {
    const i = at++;
    const k = i * RECORD_NUMBERS;
    const shared = numbers[k + 5];
    const record = {
      state: states[kinds[i]],
      status: orNull(numbers[k]),
      attempts: numbers[k + 1],
      startMs: orNull(numbers[k + 2]),
      endMs: orNull(numbers[k + 3]),
      error: errorAt[e] === i ? errors[e++] : null,
      queuedMs: numbers[k + 4],
      sharedFrom: shared < 0 ? null : names[shared],
      replayed: numbers[k + 6] === 1,
      fellBack: numbers[k + 8] === 1,
      cached: !Number.isNaN(numbers[k + 9]),
      ageMs: orNull(numbers[k + 9]),
      hedged: numbers[k + 10] > 0,
      hedgeWon: numbers[k + 10] === 2,
    };
    if (numbers[k + 7] >= 0) record.items = Array.from({ length: numbers[k + 7] }, next);
    return record;
  };
  return next;
}

const orNull = (n) => (Number.isNaN(n) ? null : n);

const ownValue = (object, key, value) =>
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });

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
  constructor(message, { code, call = null, item = null, status = null, calls = {}, compensations = [], traceId = null, resubmit = 'new-operation', origin = null, retryAt = null } = {}) {
    super(message);
    this.name = 'ComposeError';
    /** A stable code such as "HTTP_STATUS". */
    this.code = code;
    /** The call that failed, or null. */
    this.call = call;
    /** For a fan-out call, the position in its list of the item that failed, or null. */
    this.item = item;
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
    /** For CIRCUIT_OPEN: the origin whose circuit breaker is open, else null. */
    this.origin = origin;
    /** For CIRCUIT_OPEN: when the origin is tried again, in ms since the epoch (as Date.now()), else null. */
    this.retryAt = retryAt;
  }
}

// ---------------------------------------------------------------- events

// Hands progress events to `options.onEvent`.
//
// Rust builds each event (a plain object of own data properties, written by
// serde-wasm-bindgen from the engine's own names: src/bindings/events.rs) and crosses into
// JavaScript once per event, here. The callback cannot break the composition: what it
// throws, or what a promise it returns rejects with, is caught here and reported once per
// composition on the console. The report names the event type and the call (the plan
// author's names); it quotes nothing from the requests.

/** One composition's events, sent to `callback`. */
export class EventSink {
  constructor(callback) {
    this.callback = callback;
    this.reported = false;
  }

  /** Calls the callback with `event`, catching what it throws or rejects with. */
  send(event) {
    try {
      const returned = this.callback.call(undefined, event);
      // An async callback's rejection would otherwise be unhandled (and end a Node process).
      if (returned !== null && (typeof returned === 'object' || typeof returned === 'function') && typeof returned.then === 'function') {
        returned.then(undefined, (error) => this.report(event, error));
      }
    } catch (error) {
      this.report(event, error);
    }
  }

  report(event, error) {
    if (this.reported) return;
    this.reported = true;
    if (typeof console === 'undefined' || typeof console.error !== 'function') return;
    console.error(
      `parallel-composer: options.onEvent failed on the "${event.type}" event of call "${event.call}"; ` +
        'the composition carries on without it. Later failures of onEvent in this composition are not reported.',
      error,
    );
  }
}

// ---------------------------------------------------------------- the clock and DevTools measures

// The engine's clock (src/web/clock.rs): the records' times, the time limits. `performance`
// is looked up once: in browsers it is an accessor of the global object, and reading it
// before every `now()` cost more than the clock itself. Called as `performance.now()` from
// Rust, the two readings per call were 8% of the engine's own time per call in Chromium's
// profile (bench B); through this function a call costs 0.5-0.7 µs less (bench/ab.mjs).
// The DevTools measures below use the same object.
const performance = globalThis.performance;

/** Milliseconds on the page's (or the process's) monotonic clock. */
export function now() {
  return performance.now();
}

// A time on that clock as milliseconds since the epoch, as Date.now() counts: the
// `retryAt` of an open circuit, which a page compares with Date.now().
export function epoch(t) {
  return performance.timeOrigin + t;
}

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
 * for the whole composition, its success or the error's code), `failed` whether that is a
 * failure (Rust says so: the names are its own); `status` < 0 is none. Never throws: a
 * platform without User Timing Level 3 gets no measure, and the composition no error.
 */
export function measure(name, start, end, track, traceId, state, failed, attempts, status) {
  if (!performance || typeof performance.measure !== 'function') return;
  try {
    performance.measure(name, {
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

// ---------------------------------------------------------------- results as they arrive

// composeStream() and composeOrderStream() (src/bindings/stream.rs). The composition runs
// exactly as compose()'s or composeOrder()'s does, under a signal of its own; the engine
// hands each call's value over the moment it is known, and Rust makes it a part here
// (`PartQueue.call`). Parts wait in the queue until they are read, so a consumer that reads
// slowly never holds a request up. The caller gets a `PartStream`, the iterator over them.

/** The queue between one composition and its iterator. */
export class PartQueue {
  constructor() {
    /** Parts not yet read, oldest first. */
    this.parts = [];
    /** next() calls waiting for a part, oldest first: each its promise's settle functions. */
    this.readers = [];
    /** Whether the composition has settled: its result part is queued, or its error kept. */
    this.settled = false;
    /** The composition's rejection, thrown once the parts before it are read; thrown once. */
    this.failed = false;
    this.error = undefined;
    /** Whether the iteration is over: the error was thrown, or the caller left. */
    this.closed = false;
    /** Aborted when the caller leaves early, and when the caller's own signal aborts. */
    this.controller = new AbortController();
    /** Stops following the caller's signal. */
    this.unlink = () => {};
    /** Resolves once the composition has wound down; never rejects. */
    this.wound = undefined;
  }

  /**
   * The signal the composition runs under: it aborts when the caller leaves the iteration
   * early, and when `caller` (options.signal, if any) aborts. Followed by hand rather than
   * with AbortSignal.any, which Node 20 lacks before 20.3; the listener goes once the
   * composition settles.
   */
  signal(caller) {
    const { controller } = this;
    if (caller) {
      const follow = () => controller.abort(caller.reason);
      if (caller.aborted) follow();
      else {
        caller.addEventListener('abort', follow, { once: true });
        this.unlink = () => caller.removeEventListener('abort', follow);
      }
    }
    return controller.signal;
  }

  /** Queues call `call`'s part: its value `data` and its record, as `calls[call]` holds it. */
  call(call, data, record) {
    this.put({ type: 'call', call, data, record, fellBack: record.fellBack });
  }

  /** Runs the composition whose promise is `composition`, and returns its iterator. */
  run(composition) {
    this.wound = composition.then(
      (result) => this.end({ type: 'result', result }, false, undefined),
      (error) => this.end(undefined, true, error),
    );
    return new PartStream(this);
  }

  put(part) {
    if (this.closed) return;
    const reader = this.readers.shift();
    if (reader) reader.resolve({ value: part, done: false });
    else this.parts.push(part);
  }

  /** The composition settled: with its result part, or `failed` with `error`. */
  end(part, failed, error) {
    this.settled = true;
    this.unlink();
    if (part) this.put(part);
    else if (!this.closed) {
      const reader = this.readers.shift();
      if (reader) {
        this.closed = true;
        reader.reject(error);
      } else {
        this.failed = true;
        this.error = error;
      }
    }
    for (const reader of this.readers.splice(0)) reader.resolve({ value: undefined, done: true });
  }

  next() {
    if (this.parts.length > 0) return Promise.resolve({ value: this.parts.shift(), done: false });
    if (this.failed) {
      const { error } = this;
      this.failed = false;
      this.error = undefined;
      this.closed = true;
      return Promise.reject(error);
    }
    if (this.closed || this.settled) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.readers.push({ resolve, reject }));
  }

  /**
   * The caller left: the parts not read are dropped, and a composition still running is
   * aborted as its signal would abort it. Resolves once it has wound down (compensations
   * included), so that its records, and what the services hold, are final by then.
   */
  async return(value) {
    if (!this.closed) {
      this.closed = true;
      this.parts.length = 0;
      this.failed = false;
      this.error = undefined;
      for (const reader of this.readers.splice(0)) reader.resolve({ value: undefined, done: true });
      if (!this.settled) this.controller.abort();
    }
    await this.wound;
    return { value, done: true };
  }
}

/**
 * What composeStream() and composeOrderStream() return: an async iterator of the parts that
 * is its own iterable, as an async generator's object is, so one composition is iterated
 * once (a second `for await` goes on where the first left off).
 */
class PartStream {
  #queue;

  constructor(queue) {
    this.#queue = queue;
  }

  /** The next part, in the order they came; rejects with the ComposeError after them. */
  next() {
    return this.#queue.next();
  }

  /** Leaves early (what `break` does): aborts the composition, resolves once it wound down. */
  return(value) {
    return this.#queue.return(value);
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}
