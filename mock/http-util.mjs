// Small HTTP helpers shared by the admin, gateway and service ports.
// Node 20 built-ins only.

/** Milliseconds on the `performance.timeOrigin + performance.now()` clock (Date.now()-compatible, sub-ms). */
export function now() {
  return performance.timeOrigin + performance.now();
}

export const ALLOW_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS';
export const EXPOSE_HEADERS = '*, Retry-After, Location, Idempotency-Key, Idempotent-Replayed';
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Headers sent on every response of every port. */
export function applyCorsHeaders(res) {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', EXPOSE_HEADERS);
  res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
  res.setHeader('Timing-Allow-Origin', '*');
  res.setHeader('Cache-Control', 'no-store');
}

/** Answer a CORS preflight: 204, no body, no latency, not logged. */
export function answerPreflight(req, res) {
  res.setHeader('Access-Control-Allow-Methods', ALLOW_METHODS);
  res.setHeader('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] || '*');
  res.setHeader('Access-Control-Max-Age', '600');
  if (req.headers['access-control-request-private-network'] === 'true') {
    res.setHeader('Access-Control-Allow-Private-Network', 'true');
  }
  res.writeHead(204);
  res.end();
}

/**
 * Split a raw request target into path and query object, without using a base URL
 * (so a target like `//x` stays a path instead of becoming a host).
 * A repeated query key becomes an array of its values.
 */
export function splitTarget(rawUrl) {
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = {};
  if (q >= 0) {
    for (const [k, v] of new URLSearchParams(rawUrl.slice(q + 1))) {
      if (Object.hasOwn(query, k)) {
        query[k] = Array.isArray(query[k]) ? [...query[k], v] : [query[k], v];
      } else {
        query[k] = v;
      }
    }
  }
  return { path, query };
}

const SCENARIO_PREFIX = /^\/s\/([A-Za-z0-9_-]+)(\/.*)?$/;

/** `/s/<id>/rest` → { scenario: id, path: '/rest' }; anything else → scenario 'default'. */
export function splitScenario(path) {
  const m = SCENARIO_PREFIX.exec(path);
  if (!m) return { scenario: 'default', path, prefix: '' };
  return { scenario: m[1], path: m[2] || '/', prefix: `/s/${m[1]}` };
}

/**
 * Read the whole request body. Resolves to
 *   { text } on success, { tooBig: true } when over the limit, or null when the
 *   client went away before the body was complete.
 */
export function readBody(req, limit = MAX_BODY_BYTES) {
  return new Promise((resolve) => {
    const chunks = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) tooBig = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooBig ? { tooBig: true } : { text: Buffer.concat(chunks).toString('utf8') }));
    req.on('error', () => resolve(null));
    // After 'end' this is a no-op (a promise settles once).
    req.on('close', () => resolve(null));
  });
}

/** Parse a body text: empty → null; invalid → { error }. */
export function parseJsonBody(text) {
  if (text === undefined || text.trim() === '') return { value: null };
  try {
    return { value: JSON.parse(text) };
  } catch (err) {
    return { error: `invalid JSON body: ${err.message}` };
  }
}

/** Copy Node's (already lowercased) header object into a plain object. */
export function headersObject(req) {
  const out = {};
  for (const [k, v] of Object.entries(req.headers)) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** Statuses that must not carry a body. */
export function isBodyless(status) {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}
