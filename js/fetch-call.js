// One request of a composition: the only place the composer touches `fetch`.
//
// Rust calls `startFetch` once per request, and the request's Exchange comes back
// through one callback shared by all requests, so a request costs one crossing of the
// wasm boundary each way instead of a dozen property writes and two awaited promises. Failures are classified
// here, where the JavaScript error objects are, and handed to Rust as plain fields.

const OK = 0;
const NETWORK = 1;
const STATUS = 2;
const BODY = 3;
const EMPTY = 4;
const TOO_LARGE = 5;
const REDIRECT = 6;

// The statuses fetch treats as redirects; with `redirect: "manual"` browsers hide them
// behind an `opaqueredirect` response (status 0), while Node hands over the 3xx itself.
const REDIRECTS = [301, 302, 303, 307, 308];

// How much of a body that is not JSON goes to Rust, which shortens it further for the
// message: never the whole body across the boundary.
const EXCERPT = 200;

// One request: what reading its reply needs to know of it, then what came of it, the
// fields src/web/fetch.rs reads. One object per request for both, not two: bench B's plans
// make a thousand requests a composition.
class Exchange {
  constructor(url, head, keyed, maxBytes, controller) {
    this.url = url;
    this.head = head; // a HEAD request: its reply has no body
    this.keyed = keyed; // it carried an Idempotency-Key, so its reply may be a replay
    this.maxBytes = maxBytes;
    this.controller = controller; // aborts the request when the body passes maxBytes
    this.failure = OK;
    this.status = 0;
    this.body = null;
    this.reason = '';
    this.retryAfterMs = NaN;
    this.contentType = null;
    this.excerpt = '';
    this.length = NaN;
    this.replayed = false;
  }

  // It ended in `failure` (not OK), with the reply's `status` (0 without one).
  fail(failure, status, reason = '') {
    this.failure = failure;
    this.status = status;
    this.body = null;
    this.reason = reason;
  }
}

function header(response, name) {
  const h = response.headers;
  const value = h && typeof h.get === 'function' ? h.get(name) : null;
  return value === null || value === undefined ? null : String(value);
}

// The body is not needed: release the connection rather than leave it unread. A small
// body of known length is read to its end and dropped: cancelling it would make Chromium
// list the request as cancelled (net::ERR_ABORTED) though its whole reply arrived.
const DRAIN_BYTES = 64 * 1024;
function release(response) {
  const length = header(response, 'content-length');
  if (length !== null && Number(length) <= DRAIN_BYTES && typeof response.text === 'function') {
    response.text().catch(() => {});
  } else if (response.body && typeof response.body.cancel === 'function') {
    response.body.cancel().catch(() => {});
  }
}

// Whether the body arrives as sent: no Content-Encoding, or `identity`.
function plainEncoding(response) {
  const encoding = header(response, 'content-encoding');
  return encoding === null || /^\s*identity\s*$/i.test(encoding);
}

// A failed read: its Content-Type is read here, only for the message, not for every reply.
function failRead(x, failure, response, fields) {
  x.fail(failure, response.status);
  x.contentType = header(response, 'content-type');
  Object.assign(x, fields);
}

// `Retry-After` in milliseconds, from seconds or an HTTP date; NaN when absent or unreadable.
// An HTTP date is wall-clock time, so only here is Date used, to turn it into a delay.
function retryAfter(response) {
  const value = response.headers && typeof response.headers.get === 'function' ? response.headers.get('retry-after') : null;
  if (value === null || value === undefined) return NaN;
  const text = String(value).trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? NaN : Math.max(0, at - Date.now());
}

/** A fresh Idempotency-Key: a UUIDv4 from the platform's crypto (also outside secure contexts). */
export function newKey() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// The message of a rejection, with Node's `cause` when present
// ("fetch failed: connect ECONNREFUSED 127.0.0.1:9").
function describe(error) {
  const message = (e) => (e && typeof e.message === 'string' && e.message) || '';
  const main = message(error) || (typeof error === 'string' ? error : '') || 'the request failed';
  const cause = error && error.cause ? message(error.cause) : '';
  return cause ? `${main}: ${cause}` : main;
}

// Where a redirect pointed: its origin only (the full URL may carry a token in its
// query), and '' when it cannot be seen, as with a browser's opaque redirect.
function redirectOrigin(response, url) {
  const location = header(response, 'location');
  if (location === null) return '';
  try {
    const page = globalThis.location && globalThis.location.href;
    return new URL(location, new URL(url, page)).origin;
  } catch {
    return '';
  }
}

// One decoder for every reply: decoding a whole buffer (not a stream) keeps no state
// between calls, and making one per reply showed in profiles of many small replies.
const UTF8 = new TextDecoder();

// The body as text, read chunk by chunk: the count of bytes is checked after every
// chunk, and the request aborted the moment it passes `maxBytes`, so a huge or endless
// body is never held whole. Resolves null when over the cap.
async function readCapped(response, maxBytes, controller) {
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      reader.cancel().catch(() => {});
      controller.abort();
      return null;
    }
    chunks.push(value);
  }
  let bytes = chunks.length === 1 ? chunks[0] : new Uint8Array(size);
  if (chunks.length !== 1) {
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.byteLength;
    }
  }
  // Like response.json(): UTF-8, a leading BOM dropped, bad bytes replaced.
  return UTF8.decode(bytes);
}

const broke = (x, error) => x.fail(NETWORK, 0, `reading the reply failed: ${describe(error)}`);

async function readBody(response, x) {
  const { head, maxBytes, controller } = x;
  const status = response.status;
  // A HEAD reply has no body, whatever its Content-Length says of the GET's.
  if (status === 204 || status === 205 || head) {
    release(response);
    return failRead(x, EMPTY, response);
  }
  const declared = header(response, 'content-length');
  const known = declared !== null && /^\s*\d+\s*$/.test(declared);
  if (known && Number(declared) > maxBytes) {
    release(response);
    controller.abort();
    return failRead(x, TOO_LARGE, response, { length: Number(declared) });
  }
  // A declared length within the cap bounds the read (the browser stops at it), so the
  // body is read whole by the platform, as text (as fast as response.json(); an
  // ArrayBuffer and a TextDecoder cost 8-15% more on 1 MiB replies). Only a body of unknown or compressed length is
  // read chunk by chunk: Chromium reports about half of the requests whose body a page
  // reads through a stream reader as aborted (DevTools shows them cancelled), though every
  // byte arrived. A compression the server does not expose is caught after the read. The
  // encoding matters only where the length is known: it is not read otherwise.
  let text;
  if (known && plainEncoding(response) && typeof response.text === 'function') {
    try {
      text = await response.text();
    } catch (error) {
      return broke(x, error);
    }
    // A string has at most 3 bytes of UTF-8 per UTF-16 unit; count exactly only near the cap.
    if (text.length * 3 > maxBytes && new TextEncoder().encode(text).byteLength > maxBytes) text = null;
  } else if (response.body && typeof response.body.getReader === 'function') {
    try {
      text = await readCapped(response, maxBytes, controller);
    } catch (error) {
      return broke(x, error);
    }
  } else if (typeof response.text === 'function') {
    // A stand-in for fetch without a body stream: the cap can only be checked afterwards.
    try {
      text = String(await response.text());
    } catch (error) {
      return broke(x, error);
    }
    if (new TextEncoder().encode(text).byteLength > maxBytes) text = null;
  } else {
    // A stand-in with json() alone: neither the cap nor an excerpt can be had.
    try {
      return replied(response, await response.json(), x);
    } catch (error) {
      return failRead(x, BODY, response, { reason: describe(error) });
    }
  }
  if (text === null) return failRead(x, TOO_LARGE, response);
  if (text.length === 0) return failRead(x, EMPTY, response);
  try {
    x.length = text.length; // a composer's cache counts its bytes by it
    return replied(response, parseReply(text), x);
  } catch (error) {
    return failRead(x, BODY, response, { excerpt: text.slice(0, EXCERPT), reason: describe(error) });
  }
}

// Reads a settled fetch's reply into `x`; returns a promise when the body must be read
// first, else nothing.
function readReply(response, x) {
  if (response === null || typeof response !== 'object') {
    return x.fail(NETWORK, 0, 'fetch did not resolve to a Response');
  }
  const status = response.status;
  if (response.type === 'opaqueredirect' || REDIRECTS.includes(status)) {
    release(response);
    return failRead(x, REDIRECT, response, { reason: redirectOrigin(response, x.url), contentType: null });
  }
  if (!(status >= 200 && status <= 299)) {
    release(response);
    x.fail(STATUS, status);
    x.retryAfterMs = retryAfter(response);
    return undefined;
  }
  return readBody(response, x);
}

// A reply read. A service that replays a stored reply for an Idempotency-Key says so
// (Stripe's header): the write was made by an earlier request with that key, not by this one.
// A request that carried no key cannot have been replayed: its header is not read.
function replied(response, body, x) {
  x.status = response.status;
  x.body = body;
  if (x.keyed) {
    const value = header(response, 'idempotent-replayed');
    x.replayed = value !== null && value.trim().toLowerCase() === 'true';
  }
}

// ---------------------------------------------------------------- big integers
//
// JSON.parse turns 12345678901234567890 into 12345678901234567000: an id or an amount
// above 2^53 would be rounded before a later call sends it on. So an integer outside
// Number's safe range (Number.isSafeInteger) arrives as a BigInt with its exact digits;
// the engine substitutes those digits into URLs and text, and sends it in a body as the
// same JSON number. Decimals and exponents stay numbers. The cost is paid only by a reply
// that holds 16 digits in a row somewhere (a rounded integer has at least that many):
// one scan with a simple regular expression, about 0.3 ms per MiB.
const SIXTEEN_DIGITS = /\d\d\d\d\d\d\d\d\d\d\d\d\d\d\d\d/;
const INTEGER = /^-?\d+$/;

// Whether JSON.parse hands a reviver each value's source text (Chromium, Firefox 135+;
// not Node 20), found out once.
let sourceText;
function revivesWithSource() {
  if (sourceText === undefined) {
    sourceText = false;
    try {
      JSON.parse('1', (key, value, context) => {
        sourceText = Boolean(context) && context.source === '1';
        return value;
      });
    } catch {
      sourceText = false;
    }
  }
  return sourceText;
}

const bigFromSource = (key, value, context) =>
  typeof value === 'number' && !Number.isSafeInteger(value) && context && INTEGER.test(context.source)
    ? BigInt(context.source)
    : value;

// A marker no reply can forge: 128 random bits, fresh for each use.
function nonce() {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return `\u{e000}${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}:`;
}

const isNumberPart = (c) => (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46 || c === 69 || c === 101;

// Without source text: a scan over the JSON text, outside strings, for integer tokens
// outside the safe range; each becomes a string holding a fresh marker and its digits,
// which the reviver turns into a BigInt.
function parseMarked(text) {
  const mark = nonce();
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // A string: skip to its closing quote, past escapes.
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) break;
      }
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      let end = i + 1;
      while (end < text.length && isNumberPart(text.charCodeAt(end))) end++;
      const token = text.slice(i, end);
      if (INTEGER.test(token) && !Number.isSafeInteger(Number(token))) {
        out += `${text.slice(copied, i)}"${mark}${token}"`;
        copied = end;
      }
      i = end - 1;
    }
  }
  if (copied === 0) return JSON.parse(text);
  out += text.slice(copied);
  return JSON.parse(out, (key, value) =>
    typeof value === 'string' && value.startsWith(mark) ? BigInt(value.slice(mark.length)) : value);
}

/** Parses a reply's text as JSON, integers outside the safe range as BigInts. */
export function parseReply(text) {
  if (!SIXTEEN_DIGITS.test(text)) return JSON.parse(text);
  try {
    return revivesWithSource() ? JSON.parse(text, bigFromSource) : parseMarked(text);
  } catch {
    // Not JSON after all: the error (and the excerpt) of the text as it came.
    return JSON.parse(text);
  }
}

/**
 * A request body as JSON text. A BigInt (a reply's big integer sent on) is written as
 * the JSON number of its digits: with JSON.rawJSON where there is one, else through a
 * marker replaced in the text. The common case, no BigInt, is one JSON.stringify.
 */
export function bodyText(body) {
  try {
    return JSON.stringify(body);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
  const raw = typeof JSON.rawJSON === 'function' ? JSON.rawJSON : null;
  const mark = raw ? '' : nonce();
  const text = JSON.stringify(body, function exact(key, value) {
    const original = this[key];
    if (typeof original !== 'bigint') return value;
    return raw ? raw(original.toString()) : `${mark}${original}`;
  });
  return raw ? text : text.split(`"${mark}`).map((part, i) => (i === 0 ? part : part.replace('"', ''))).join('');
}

// ---------------------------------------------------------------- Node's own HTTP
//
// In Node, a request the composer sends itself (no `options.fetch`, and the global fetch
// still Node's own) goes out through node:http or node:https, not through that fetch. Node
// 20's fetch spends about 3.7 times the CPU per request of its http module on the same
// requests (a backend-for-frontend composing the order flow against services in another
// process: 3.16 against 0.86 ms of CPU per order, bench E's setup), which made a Node
// service composing with the composer need more machines than one calling fetch by hand.
// The guarantees are the same: the byte cap (counted as the body arrives, the request
// destroyed past it), redirects answered rather than followed (http never follows them),
// an abort that destroys the request, the same reading and classification of the reply.
// Node's fetch would decompress a compressed reply; no Accept-Encoding is sent, and a reply
// compressed anyway is decompressed here too. A replaced global fetch (a test's stand-in,
// an instrumentation) is called as it is, as `options.fetch` is.
let fetchSeen;
let modules = null;
// A URL with user info in it goes to fetch, which refuses it as a browser does; http would
// send it on as Basic authentication.
const USER_INFO = /^https?:\/\/[^/\\?#]*@/i;
// Headers an HTTP client sets itself, or refuses: a request that names one goes to fetch,
// which drops or refuses it as it always has (a Content-Length on a GET, sent on by http,
// would leave the service waiting for a body that never comes).
const CLIENT_OWN = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'expect', 'te']);

// node:http and node:https when a request to `url` goes through them, else null.
function nodeHttp(url) {
  const f = globalThis.fetch;
  if (f !== fetchSeen) {
    fetchSeen = f;
    const own = typeof f === 'function' && typeof globalThis.process?.getBuiltinModule === 'function'
      && Function.prototype.toString.call(f).includes('internal/deps/undici');
    modules = own ? { 'http:': process.getBuiltinModule('node:http'), 'https:': process.getBuiltinModule('node:https') } : null;
  }
  if (modules === null || USER_INFO.test(url)) return null;
  return url.startsWith('http://') ? modules['http:'] : url.startsWith('https://') ? modules['https:'] : null;
}

// A request sent with node:http(s): what `abort()` destroys.
class NodeRequest {
  constructor() {
    this.request = null;
  }

  // The reply as a NodeReply, as fetch resolves to its Response.
  send(http, url, init) {
    return new Promise((resolve, reject) => {
      if (init.body !== undefined) init.headers['Content-Length'] = String(Buffer.byteLength(init.body));
      const request = http.request(url, { method: init.method, headers: init.headers });
      this.request = request;
      request.on('response', (response) => resolve(new NodeReply(response)));
      request.on('error', reject);
      request.end(init.body);
    });
  }

  abort() {
    if (this.request !== null) this.request.destroy(new Error('the request was aborted'));
  }
}

const DECOMPRESS = { gzip: 'createGunzip', 'x-gzip': 'createGunzip', deflate: 'createInflate', br: 'createBrotliDecompress' };

// An http.IncomingMessage as the reading above reads a Response: status, headers.get, text,
// and a body with getReader and cancel.
class NodeReply {
  constructor(message) {
    this.message = message;
    this.status = message.statusCode;
    this.headers = new NodeHeaders(message.headers);
    const decompress = DECOMPRESS[String(message.headers['content-encoding'] ?? '').trim().toLowerCase()];
    // pipeline, not pipe: a reply cut short fails the decompressed stream too.
    this.stream = decompress
      ? process.getBuiltinModule('node:stream').pipeline(message, process.getBuiltinModule('node:zlib')[decompress](), () => {})
      : message;
    this.body = new NodeBody(this);
  }

  // The whole body as text; only for a body whose declared length is within the cap.
  text() {
    return new Promise((resolve, reject) => {
      const chunks = [];
      const stream = this.stream;
      stream.on('data', (chunk) => chunks.push(chunk));
      stream.on('end', () => resolve(UTF8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks))));
      stream.on('error', reject);
      // Only when it closed before its end: an Error made for every reply (its stack
      // captured) was a tenth of the composer's own time in Node's profile.
      stream.on('close', () => {
        if (!stream.readableEnded) reject(new Error('the reply was cut short'));
      });
    });
  }
}

class NodeHeaders {
  constructor(headers) {
    this.headers = headers;
  }

  get(name) {
    const value = this.headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }
}

class NodeBody {
  constructor(reply) {
    this.reply = reply;
  }

  // A reader of the body's chunks, as readCapped reads a stream.
  getReader() {
    const chunks = this.reply.stream[Symbol.asyncIterator]();
    return { read: () => chunks.next(), cancel: () => this.cancel() };
  }

  cancel() {
    this.reply.message.destroy();
    return Promise.resolve();
  }
}

/**
 * Starts `method url` with `headers` (a flat [name, value, ...] list) and an optional
 * JSON `body` value, through `fetchFn` or the global fetch; reads at most `maxBytes` of
 * the reply. Redirects are not followed: a redirect would carry the headers (an
 * Authorization, say) to wherever the service points. `credentials` is always set
 * ("same-origin" unless the caller opted this origin in), never left to a default.
 * Calls `onSettled(id, exchange, failure, status, body, replayed, length)` once: the Exchange,
 * and beside it the fields every reply needs, so that a reply costs Rust no reads of its
 * own (the rest are read from the outcome only when it failed). A `fresh` request (a
 * hedge) goes with `cache: "no-store"`. Returns what aborts the request: its
 * AbortController, or with Node's http the NodeRequest.
 */
export function startFetch(fetchFn, url, method, headers, body, maxBytes, credentials, id, onSettled, fresh) {
  const init = { method, headers: {} };
  let hasType = false;
  let keyed = false;
  let clientOwn = false;
  for (let i = 0; i < headers.length; i += 2) {
    // Defined, not assigned: a header named `__proto__` is a header, not a prototype.
    Object.defineProperty(init.headers, headers[i], { value: headers[i + 1], enumerable: true, writable: true, configurable: true });
    const name = headers[i].toLowerCase();
    hasType = hasType || name === 'content-type';
    keyed = keyed || name === 'idempotency-key';
    clientOwn = clientOwn || CLIENT_OWN.has(name);
  }
  const http = fetchFn || clientOwn ? null : nodeHttp(url);
  const controller = http ? new NodeRequest() : new AbortController();
  if (!http) {
    init.signal = controller.signal;
    init.redirect = 'manual';
    init.credentials = credentials;
    // A hedge: past the HTTP cache, whose lock would hold it behind the request it hedges.
    if (fresh) init.cache = 'no-store';
  }
  let sent;
  try {
    // Inside the try: a body that cannot be written as JSON (a cycle) fails this request
    // instead of throwing through the wasm instance. BigInts are written exactly.
    if (body !== undefined) {
      init.body = bodyText(body);
      if (!hasType) init.headers['Content-Type'] = 'application/json';
    }
    sent = http ? controller.send(http, url, init) : fetchFn ? fetchFn(url, init) : fetch(url, init);
  } catch (error) {
    sent = Promise.reject(error);
  }
  settle(sent, new Exchange(url, method === 'HEAD', keyed, maxBytes, controller), id, onSettled);
  return controller;
}

// Awaits the reply, reads it, and hands the exchange to `onSettled`: always with an outcome (a
// stand-in's odd Response that makes reading throw is a failure too). One async function,
// not a chain of then() calls: each link of a chain costs a turn of the microtask queue,
// which a chain of dependent calls pays in full. The outcome goes to Rust through
// `onSettled`, one function for every request (src/web/fetch.rs), rather than through a
// promise Rust awaits, which would cost two closures made and released per request.
async function settle(sent, x, id, onSettled) {
  try {
    const reading = readReply(await sent, x);
    if (reading !== undefined) await reading;
  } catch (error) {
    x.fail(NETWORK, 0, describe(error));
  }
  onSettled(id, x, x.failure, x.status, x.body, x.replayed, x.length);
}
