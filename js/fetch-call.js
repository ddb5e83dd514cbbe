// One request of a composition: the only place the composer touches `fetch`.
//
// Rust calls `startFetch` once per request and awaits one promise that always resolves
// (to a FetchOutcome), so a request costs one crossing of the wasm boundary each way
// instead of a dozen property writes and two awaited promises. Failures are classified
// here, where the JavaScript error objects are, and handed to Rust as plain fields.

const OK = 0;
const NETWORK = 1;
const STATUS = 2;
const BODY = 3;

class FetchOutcome {
  constructor(failure, status, body, reason, retryAfterMs = NaN) {
    this.failure = failure;
    this.status = status;
    this.body = body;
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }
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

function readReply(response) {
  if (response === null || typeof response !== 'object') {
    return new FetchOutcome(NETWORK, 0, null, 'fetch did not resolve to a Response');
  }
  const status = response.status;
  if (!(status >= 200 && status <= 299)) {
    // The body is not needed: release the connection rather than leave it unread.
    if (response.body && typeof response.body.cancel === 'function') response.body.cancel().catch(() => {});
    return new FetchOutcome(STATUS, status, null, '', retryAfter(response));
  }
  if (status === 204 || status === 205) return new FetchOutcome(OK, status, null, '');
  return response.json().then(
    (body) => new FetchOutcome(OK, status, body, ''),
    (error) => new FetchOutcome(BODY, status, null, describe(error)),
  );
}

/** A request in flight: `reply` settles to a FetchOutcome; `abort()` cancels it. */
class PendingFetch {
  constructor(controller, reply) {
    this.controller = controller;
    this.reply = reply;
  }

  abort() {
    this.controller.abort();
  }
}

/**
 * Starts `method url` with `headers` (a flat [name, value, ...] list) and an optional
 * JSON `body` value, through `fetchFn` or the global fetch.
 */
export function startFetch(fetchFn, url, method, headers, body) {
  const controller = new AbortController();
  const init = { method, headers: {}, signal: controller.signal };
  let hasType = false;
  for (let i = 0; i < headers.length; i += 2) {
    init.headers[headers[i]] = headers[i + 1];
    hasType = hasType || headers[i].toLowerCase() === 'content-type';
  }
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    if (!hasType) init.headers['Content-Type'] = 'application/json';
  }
  let sent;
  try {
    sent = Promise.resolve(fetchFn ? fetchFn(url, init) : fetch(url, init));
  } catch (error) {
    sent = Promise.reject(error);
  }
  const reply = sent.then(readReply, (error) => new FetchOutcome(NETWORK, 0, null, describe(error)));
  return new PendingFetch(controller, reply);
}
