// Generic "lab" endpoints for the engine's own tests: /lab/echo, /lab/items, /lab/not-json,
// /lab/empty, /lab/big. Controlled only by query parameters, never by the scenario config.

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

/** Query controls shared by every lab endpoint: ?delay=ms&status=N&retryAfter=s&fault=hang|reset. */
export function labControls(query) {
  const delay = intParam(query, 'delay', { min: 0, max: 600_000, fallback: 0 });
  const status = intParam(query, 'status', { min: 200, max: 599, fallback: undefined });
  const retryAfter = single(query, 'retryAfter');
  if (retryAfter !== undefined && /[\r\n]/.test(retryAfter)) throw new HttpError(400, 'query retryAfter is invalid');
  const fault = single(query, 'fault');
  if (fault !== undefined && !LAB_FAULTS.includes(fault)) {
    throw new HttpError(400, `query fault must be one of ${LAB_FAULTS.join(', ')}`);
  }
  return { delay, status, retryAfter, fault };
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
 * Reply for a lab path (`/lab/...`). Returns { status, body } for JSON, { status, text, contentType } for
 * text/pre-serialized replies, or throws HttpError (404 / 405 / 400).
 */
export function labReply({ method, path, query, headers, body }) {
  const get = () => {
    if (method !== 'GET') throw new HttpError(405, `method ${method} not allowed on ${path} (allowed: GET)`, {}, { Allow: 'GET' });
  };
  switch (path) {
    case '/lab/echo':
      if (!LAB_METHODS.includes(method)) {
        throw new HttpError(405, `method ${method} not allowed on ${path}`, {}, { Allow: LAB_METHODS.join(', ') });
      }
      return { status: 200, body: { method, path, query, headers, body } };
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
      throw new HttpError(404, `no lab endpoint ${path} (try /lab/echo, /lab/items, /lab/not-json, /lab/empty, /lab/big)`);
  }
}
