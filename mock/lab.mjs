// Generic "lab" endpoints for the engine's own tests: /lab/echo, /lab/echo-text, /lab/raw,
// /lab/items, /lab/not-json, /lab/empty, /lab/big. Controlled only by query parameters,
// never by the scenario config.

import { HttpError } from './domain.mjs';

export const LAB_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
export const MAX_LAB_ITEMS = 100_000;
export const MAX_BIG_KB = 32 * 1024;
export const LAB_FAULTS = ['hang', 'reset'];

function single(query, key) {
  const v = query[key];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function intParam(query, key, { min, max, fallback }) {
  const raw = single(query, key);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new HttpError(400, `query ${key} must be an integer ${min}..${max}`);
  const n = Number(raw);
  if (n < min || n > max) throw new HttpError(400, `query ${key} must be an integer ${min}..${max}`);
  return n;
}

/**
 * Query controls shared by every lab endpoint: ?delay=ms&status=N&retryAfter=s&fault=hang|reset
 * &replayed=true (the reply says `Idempotent-Replayed: true`, as a replayed stored reply does)
 * &encoding=gzip|deflate|br (the body sent compressed that way, with its Content-Encoding, asked
 * for or not, as a service behind a compressing proxy may).
 */
const LAB_ENCODINGS = ['gzip', 'deflate', 'br'];

export function labControls(query) {
  const delay = intParam(query, 'delay', { min: 0, max: 600_000, fallback: 0 });
  const status = intParam(query, 'status', { min: 200, max: 599, fallback: undefined });
  const retryAfter = single(query, 'retryAfter');
  if (retryAfter !== undefined && /[\r\n]/.test(retryAfter)) throw new HttpError(400, 'query retryAfter is invalid');
  const fault = single(query, 'fault');
  if (fault !== undefined && !LAB_FAULTS.includes(fault)) {
    throw new HttpError(400, `query fault must be one of ${LAB_FAULTS.join(', ')}`);
  }
  const replayed = single(query, 'replayed');
  if (replayed !== undefined && replayed !== 'true') throw new HttpError(400, 'query replayed must be true');
  const encoding = single(query, 'encoding');
  if (encoding !== undefined && !LAB_ENCODINGS.includes(encoding)) {
    throw new HttpError(400, `query encoding must be one of ${LAB_ENCODINGS.join(', ')}`);
  }
  return { delay, status, retryAfter, fault, replayed: replayed === 'true', encoding };
}

const bigCache = new Map();

/** A JSON document of exactly kb × 1024 bytes: {"rows":[...],"pad":"xx…"}. Built once per size. */
export function bigJson(kb) {
  let doc = bigCache.get(kb);
  if (doc) return doc;
  const target = kb * 1024;
  const head = '{"rows":[';
  const tail = '],"pad":""}';
  const parts = [];
  let length = head.length + tail.length;
  for (let i = 1; ; i++) {
    const row = JSON.stringify({
      id: i, name: `row-${i}`, sku: `SKU-${(i % 50) + 1}`, quantity: (i % 7) + 1, price: 1000 + ((i * 37) % 9000),
    });
    const extra = row.length + (parts.length ? 1 : 0);
    if (length + extra > target) break;
    parts.push(row);
    length += extra;
  }
  doc = `${head}${parts.join(',')}],"pad":"${'x'.repeat(target - length)}"}`;
  bigCache.set(kb, doc);
  return doc;
}

/**
 * The request as text, the way a careless service might quote it in an error page: the
 * request line, the `Authorization` and `X-*` headers, a blank line, the body as received.
 */
export function echoText({ method, path, query, headers, raw }) {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) for (const one of [].concat(v)) search.append(k, one);
  const q = search.toString();
  const lines = [`${method} ${path}${q ? `?${q}` : ''}`];
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'authorization' || name.startsWith('x-')) lines.push(`${name}: ${value}`);
  }
  return `${lines.join('\n')}\n\n${raw ?? ''}`;
}

/**
 * Reply for a lab path (`/lab/...`). Returns { status, body } for JSON, { status, text, contentType } for
 * text/pre-serialized replies, or throws HttpError (404 / 405 / 400).
 */
export function labReply({ method, path, query, headers, body, raw }) {
  const get = () => {
    if (method !== 'GET') throw new HttpError(405, `method ${method} not allowed on ${path} (allowed: GET)`, {}, { Allow: 'GET' });
  };
  const any = () => {
    if (!LAB_METHODS.includes(method)) {
      throw new HttpError(405, `method ${method} not allowed on ${path}`, {}, { Allow: LAB_METHODS.join(', ') });
    }
  };
  // /lab/echo/<anything> echoes too, so tests can see what a URL's path received.
  switch (path.startsWith('/lab/echo/') ? '/lab/echo' : path) {
    case '/lab/echo':
      any();
      return { status: 200, body: { method, path, query, headers, body } };
    case '/lab/echo-text':
      any();
      return { status: 200, text: echoText({ method, path, query, headers, raw }), contentType: 'text/plain; charset=utf-8' };
    case '/lab/raw': {
      any();
      const text = single(query, 'body');
      if (text === undefined) throw new HttpError(400, 'query body is required: the exact text to answer');
      const type = single(query, 'type') ?? 'application/json; charset=utf-8';
      if (/[\r\n]/.test(type) || type.trim() === '') throw new HttpError(400, 'query type must be a content type on one line');
      return { status: 200, text, contentType: type };
    }
    case '/lab/items': {
      get();
      const n = intParam(query, 'n', { min: 0, max: MAX_LAB_ITEMS, fallback: 3 });
      const items = Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `item-${i + 1}` }));
      return { status: 200, body: { items, count: n } };
    }
    case '/lab/not-json':
      get();
      return { status: 200, text: 'not json', contentType: 'text/plain; charset=utf-8' };
    case '/lab/empty':
      get();
      return { status: 204 };
    case '/lab/big': {
      get();
      const kb = intParam(query, 'kb', { min: 1, max: MAX_BIG_KB, fallback: 1024 });
      return { status: 200, text: bigJson(kb), contentType: 'application/json; charset=utf-8' };
    }
    default:
      throw new HttpError(404, `no lab endpoint ${path} (try /lab/echo, /lab/echo-text, /lab/raw, /lab/items, /lab/not-json, /lab/empty, /lab/big)`);
  }
}
