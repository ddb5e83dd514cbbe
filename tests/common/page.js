// The JavaScript the wasm tests need in the page: fetches that fake or record requests,
// values a Rust test cannot make (a cycle, a lone surrogate, a BigInt), and a watch on the
// page's timers. Each test module in tests/common/ declares the functions it uses.
//
// One module rather than a snippet per test file: the test page asks for every snippet at
// once, and wasm-bindgen-test-runner's server (tiny_http) stalls a connection for minutes
// when more arrive together than it has idle threads. It starts with four, one of them
// kept by the page's first connection, so a page may open three more at once: with the
// library's three modules (js/), this file is the fourth request, on that first connection.
// Fifteen snippets stalled the 7th and 8th requests in four of five fresh-clone runs, and
// six snippets still did once.

// --- tests/common/order_plan.rs
// A fetch that passes every request on to the global fetch and keeps its method and url,
// in the order they were sent.
export function forwardingFetch() {
  const seen = [];
  const fetch = (url, init) => {
    seen.push({ method: String(init?.method ?? 'GET'), url: String(url) });
    return globalThis.fetch(url, init);
  };
  return { fetch, seen };
}

// --- tests/common/data.rs
export function prototypeIsObjectPrototype(v) {
  return Object.getPrototypeOf(v) === Object.prototype;
}

// The value of `key` when it is an own data property of `v`, else undefined.
export function ownValue(v, key) {
  const d = Object.getOwnPropertyDescriptor(v, key);
  return d && 'value' in d ? d.value : undefined;
}

// Whatever any object inherits named `polluted`, and what Object.prototype holds of it.
export function pollution() {
  const found = [({}).polluted, [].polluted, Object.prototype.polluted, Object.create(Object.prototype).polluted]
    .filter((v) => v !== undefined);
  return found.length === 0 && !Object.prototype.hasOwnProperty('polluted') ? null : String(found);
}

export function typeOf(v) {
  return typeof v;
}

export function text(v) {
  return String(v);
}

// A fetch that answers requests to URLs containing `match` with `body` as JSON, and
// sends the rest to the real fetch; `bodies` holds each request's body text as sent,
// `inits` each request's init.
export function craftedFetch(match, body) {
  const bodies = [];
  const inits = [];
  const fetch = (url, init) => {
    bodies.push(init.body === undefined ? null : init.body);
    inits.push(init);
    if (match !== '' && url.includes(match)) {
      return Promise.resolve(new Response(body, { status: 200, headers: { 'content-type': 'application/json' } }));
    }
    return globalThis.fetch(url, init);
  };
  return { fetch, bodies, inits };
}

// Records every console call until `restore()`; `calls` holds each call's arguments as text.
const METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace', 'dir', 'table'];
export function trapConsole() {
  const calls = [];
  const saved = METHODS.map((m) => console[m]);
  for (const m of METHODS) {
    console[m] = (...args) => {
      calls.push(`${m}: ${args.map((a) => { try { return typeof a === 'string' ? a : JSON.stringify(a) ?? String(a); } catch { return String(a); } }).join(' ')}`);
    };
  }
  const restore = () => METHODS.forEach((m, i) => { console[m] = saved[i]; });
  return { calls, restore };
}

export function probeConsole() {
  console.warn('console trap probe');
}

// --- tests/common/plans.rs
// A fetch that answers every request with {"id": 7} and keeps each request's URL.
export function idFetch() {
  const urls = [];
  const fetch = (url) => {
    urls.push(url);
    return Promise.resolve(new Response('{"id":7}', { status: 200, headers: { 'content-type': 'application/json' } }));
  };
  return { fetch, urls };
}

export function deepFreeze(value) {
  if (value !== null && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

// A frozen plan whose call `a` has its URL behind a getter: /a/1, then /a/2, ...
export function frozenWithGetter() {
  let n = 0;
  const a = Object.freeze({ get url() { n += 1; return `https://api.example/a/${n}`; } });
  return Object.freeze({ calls: Object.freeze({ a }) });
}

// A plan POSTing `{ v }` to /a, where `v` is named by `kind`: the pairs tests/common/plans.rs
// runs are alike as JSON text (JSON.stringify writes Infinity as null, a Date as its ISO text, a
// String object as its text, and leaves a function out) but not as the plan reader reads them.
export function bodyPlan(kind) {
  const values = {
    null: () => null,
    infinity: () => Infinity,
    'date-text': () => new Date(0).toISOString(),
    date: () => new Date(0),
    text: () => 'ab',
    boxed: () => new String('ab'),
    empty: () => ({}),
    function: () => ({ f: () => 1 }),
  };
  return { calls: { a: { method: 'POST', url: 'https://api.example/a', body: { v: values[kind]() } } } };
}

// A plan (not frozen) whose call `a` has its URL behind a getter that throws.
export function planWithThrowingGetter() {
  return { calls: { a: { get url() { throw new Error('no URL today'); } } } };
}

// A plan (not frozen) whose call `a` has its URL behind a getter: a new URL at every read.
export function planWithGetter() {
  let n = 0;
  return { calls: { a: { get url() { n += 1; return `https://api.example/a/${n}`; } } } };
}

// --- tests/common/urls.rs
// A fetch that answers every request with `{}` (or `reply`, JSON text) and keeps each
// request's url and init.
export function recordingFetch(reply) {
  const seen = [];
  const fetch = (url, init) => {
    seen.push({ url, init });
    return Promise.resolve(new Response(reply ?? '{}', { status: 200, headers: { 'content-type': 'application/json' } }));
  };
  return { fetch, seen };
}

// `{ "a": { "a": ... { "a": leaf } } }`, `depth` objects deep.
export function nested(depth, leaf) {
  let value = leaf;
  for (let i = 0; i < depth; i += 1) value = { a: value };
  return value;
}

// A plan whose body refers to itself.
export function cyclicPlan() {
  const body = { items: [] };
  body.items.push(body);
  return { calls: { a: { method: 'POST', url: '/a', body } } };
}

// `{ v: text }` where text holds the lone surrogate U+D800 (JSON text cannot hold one
// unescaped, and a Rust string cannot hold one at all).
export function loneSurrogate(before, after) {
  return { v: before + String.fromCharCode(0xd800) + after };
}

export function pageOrigin() {
  return globalThis.location ? globalThis.location.origin : null;
}

export function isBrowser() {
  return typeof globalThis.document === 'object';
}

// --- tests/common/urls.rs
export function cyclicInput() {
  const o = { a: 1 };
  o.self = o;
  return { o };
}
export function bigintInput() {
  return { o: { n: 10n } };
}
// Writable as JSON once (the check before sending), then throwing (in startFetch).
export function flakyInput() {
  let n = 0;
  return { o: { toJSON() { n += 1; if (n > 1) throw new Error('boom'); return 1; } } };
}

// --- tests/common/limits.rs
// A fetch whose reply body never ends: `chunk` spaces (valid JSON whitespace) per pull.
// `state` counts the pulls and says whether the reader cancelled the stream.
export function endlessFetch(chunk) {
  const state = { pulls: 0, cancelled: false };
  const fetch = () => {
    const body = new ReadableStream({
      pull(controller) {
        state.pulls += 1;
        controller.enqueue(new Uint8Array(chunk).fill(32));
      },
      cancel() {
        state.cancelled = true;
      },
    });
    return Promise.resolve(new Response(body, { status: 200, headers: { 'content-type': 'application/json' } }));
  };
  return { fetch, state };
}

// A fetch that answers every request with `new Response(body, { status, headers })` and
// keeps each request's init in `inits`.
export function cannedFetch(status, body, headers) {
  const inits = [];
  const fetch = (url, init) => {
    inits.push(init);
    return Promise.resolve(new Response(body, { status, headers }));
  };
  return { fetch, inits };
}

// A fetch stand-in answering `reply`, a plain object (no Response, maybe no body stream).
export function plainFetch(reply) {
  return { fetch: () => Promise.resolve(reply) };
}

export function bigText(n) {
  return 'x'.repeat(n);
}

// --- tests/common/request.rs
// The gold request with `field` set to `before` + the lone surrogate U+D800 + `after`
// (a JSON text cannot hold one unescaped, and a Rust string cannot hold one at all).
export function requestWithLoneSurrogate(field, before, after) {
  const request = { customerId: 'c-gold-1', cartId: 'k1', paymentMethodId: 'pm_1' };
  request[field] = before + String.fromCharCode(0xd800) + after;
  return request;
}

// --- tests/common/faults.rs
// The page's fetch, noting when each request was started (Date.now(), the servers' clock).
export function timedFetch() {
  const startedAt = [];
  const fetch = (url, init) => {
    startedAt.push(Date.now());
    return globalThis.fetch(url, init);
  };
  return { fetch, startedAt };
}

// --- tests/common/platform.rs
// Wraps the global setTimeout and clearTimeout, keeping every handle one returned and the
// other was given, until `restore()`.
export function watchTimers() {
  const g = globalThis;
  const set = g.setTimeout;
  const clear = g.clearTimeout;
  const state = { set: [], cleared: [] };
  g.setTimeout = function (...args) {
    const handle = set.apply(this, args);
    state.set.push(handle);
    return handle;
  };
  g.clearTimeout = function (handle) {
    state.cleared.push(handle);
    return clear.call(this, handle);
  };
  state.restore = () => {
    g.setTimeout = set;
    g.clearTimeout = clear;
  };
  return state;
}

// Whether `state` saw exactly one timer set and that same handle cleared.
export function clearedItsOwnTimer(state) {
  return state.set.length === 1 && state.cleared.length === 1 && state.set[0] === state.cleared[0];
}

export function handleType(state) {
  return typeof state.set[0];
}

export function isNode() {
  return typeof process === 'object' && Boolean(process.versions && process.versions.node);
}

// Counts the `abort` listeners added to and removed from `signal`, through own properties
// that shadow EventTarget's methods on this one signal.
export function watchListeners(signal) {
  const counts = { added: 0, removed: 0, live: new Set() };
  const add = signal.addEventListener;
  const remove = signal.removeEventListener;
  signal.addEventListener = function (type, listener, options) {
    if (type === 'abort') {
      counts.added += 1;
      counts.live.add(listener);
    }
    return add.call(this, type, listener, options);
  };
  signal.removeEventListener = function (type, listener, options) {
    if (type === 'abort') {
      counts.removed += 1;
      counts.live.delete(listener);
    }
    return remove.call(this, type, listener, options);
  };
  return counts;
}

export function liveListeners(counts) {
  return counts.live.size;
}

// Aborts `controller` after `ms` milliseconds, from a timer of its own.
export function abortLater(controller, ms) {
  setTimeout(() => controller.abort(), ms);
}

// A fetch that never answers: only an abort ends a composition that waits on it.
export function neverFetch() {
  return () => new Promise(() => {});
}

// A fetch that answers every request at once with an empty JSON object.
export function instantFetch() {
  return () => Promise.resolve(new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } }));
}

// Replaces the global fetch with one that counts its calls and calls the platform's, until
// `restore()`.
export function countGlobalFetch() {
  const g = globalThis;
  const own = g.fetch;
  const state = { calls: 0 };
  g.fetch = function (url, init) {
    state.calls += 1;
    return own.call(this, url, init);
  };
  state.restore = () => {
    g.fetch = own;
  };
  return state;
}

// In Node, counts the requests node:http starts (its `http.client.request.start` diagnostics
// channel), until `restore()`; null where there is no Node.
export function countHttpRequests() {
  if (!isNode()) return null;
  const channel = process.getBuiltinModule('node:diagnostics_channel').channel('http.client.request.start');
  const state = { calls: 0 };
  const count = () => {
    state.calls += 1;
  };
  channel.subscribe(count);
  state.restore = () => channel.unsubscribe(count);
  return state;
}

// --- tests/common/stream.rs
// Reads `stream` with `for await`, as a page would: every part, and the error the loop
// threw (null when it ended).
export async function readStream(stream) {
  const parts = [];
  try {
    for await (const part of stream) parts.push(part);
  } catch (error) {
    return { parts, error };
  }
  return { parts, error: null };
}

// Reads `stream` with `for await` and leaves the loop after `n` parts, by `break` or by a
// throw in the loop body (`how`): the parts read, once the loop is left (`for await` waits
// for the iterator's `return()` either way).
export async function leaveStream(stream, n, how) {
  const parts = [];
  const left = new Error('left the loop');
  try {
    for await (const part of stream) {
      parts.push(part);
      if (parts.length < n) continue;
      if (how === 'throw') throw left;
      break;
    }
  } catch (error) {
    if (error !== left) throw error;
  }
  return parts;
}

// Whether `v` is its own async iterator, as `for await` finds it.
export function isOwnAsyncIterator(v) {
  return v[Symbol.asyncIterator]() === v;
}
