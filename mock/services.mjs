// Mock "create order" microservices: real HTTP servers, one port (origin) per service,
// plus a gateway and an admin API. Node 20 built-ins only; see mock/README.md.

import http from 'node:http';
import zlib from 'node:zlib';
import { EventEmitter } from 'node:events';
import {
  now, applyCorsHeaders, answerPreflight, splitTarget, splitScenario, readBody, parseJsonBody,
  headersObject, isBodyless,
} from './http-util.mjs';
import { Store, SERVICE_NAMES, ConfigError, faultType, TRANSPORT_FAULTS, domainState } from './store.mjs';
import { applyTransportFault } from './faults.mjs';
import { route, HttpError } from './domain.mjs';
import { labControls, labReply } from './lab.mjs';

const COMPRESS = { gzip: zlib.gzipSync, deflate: zlib.deflateSync, br: zlib.brotliCompressSync };

export { SERVICE_NAMES };
export const HOST = '127.0.0.1';
export const DEFAULT_PORT = 4500;
/** Port order from the base port: admin, gateway, then the services. */
export const PORT_LAYOUT = Object.freeze(['admin', 'gateway', ...SERVICE_NAMES]);

const SCENARIO_ID = /^[A-Za-z0-9_-]+$/;

// ------------------------------------------------------------------ one request/response

class Exchange {
  constructor(rt, req, res, entry) {
    this.rt = rt;
    this.req = req;
    this.res = res;
    this.entry = entry;
    this.done = false; // the reply is complete, or we destroyed the socket on purpose
    this.gone = false; // the client went away (or the server is closing): stop working on it
    this.timer = null;
    this.wake = null;
    rt.live.add(this);
    res.on('close', () => this.onClose());
  }

  onClose() {
    this.rt.live.delete(this);
    if (this.done) return;
    this.cancel();
    this.entry.aborted = true;
    this.rt.events.emit('abort', this.entry);
    this.trace('aborted');
  }

  /** Stop pending work (timers) without replying. */
  cancel() {
    this.gone = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const wake = this.wake;
    this.wake = null;
    wake?.(false);
  }

  /** Wait at least `ms` (checked against the monotonic clock). Resolves false if the exchange died meanwhile. */
  sleep(ms) {
    if (this.gone) return Promise.resolve(false);
    if (!(ms > 0)) return Promise.resolve(true);
    const until = performance.now() + ms;
    return new Promise((resolve) => {
      this.wake = resolve;
      const tick = () => {
        this.timer = null;
        const left = until - performance.now();
        if (left > 0) {
          // Timers may fire a fraction of a millisecond early; never reply before the latency is over.
          this.timer = setTimeout(tick, Math.max(1, Math.ceil(left)));
        } else {
          this.wake = null;
          resolve(true);
        }
      };
      this.timer = setTimeout(tick, ms);
    });
  }

  /** Resolves true on the response's next 'drain', false if the exchange dies first. */
  drained() {
    if (this.gone) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onDrain = () => {
        this.wake = null;
        resolve(true);
      };
      this.res.once('drain', onDrain);
      this.wake = (ok) => {
        this.res.off('drain', onDrain);
        resolve(ok);
      };
    });
  }

  /** Whether a reply may still start: nothing sent yet and the client still there. */
  get open() {
    return !this.done && !this.gone && !this.res.headersSent;
  }

  setHeaders(headers) {
    const key = this.req.headers['idempotency-key'];
    if (key !== undefined) this.res.setHeader('Idempotency-Key', key);
    for (const [k, v] of Object.entries(headers)) this.res.setHeader(k, v);
  }

  /** Send the status line and headers now (the body follows), and log them as the reply. */
  sendHead(status) {
    const { res, entry } = this;
    entry.status = status;
    entry.repliedAt = now();
    res.writeHead(status);
    res.flushHeaders();
    this.rt.events.emit('reply', entry);
  }

  /**
   * Send headers at once, then write `pieces` (Buffers) with Content-Length set to their total: each after
   * waiting `gapMs`, and after 'drain' when the socket's buffer is full. If the client goes away (or the
   * mock closes), writing stops and no timer or listener is left behind; the entry is then `aborted`.
   */
  async stream(status, contentType, pieces, { gapMs = 0 } = {}) {
    if (!this.open) return;
    this.setHeaders({ 'Content-Type': contentType, 'Content-Length': pieces.reduce((n, p) => n + p.length, 0) });
    this.sendHead(status);
    for (const piece of pieces) {
      if (gapMs > 0 && !(await this.sleep(gapMs))) return;
      if (this.gone) return;
      if (!this.res.write(piece) && !(await this.drained())) return;
    }
    this.done = true;
    this.entry.endedAt = now();
    this.res.end();
    this.trace(`${status}, body streamed in ${pieces.length} pieces`);
  }

  /**
   * Send 200 headers with the Content-Length of `body`, write its first half, and once that has left,
   * close the connection: the client fails while reading the body.
   */
  cutMidBody(contentType, body) {
    if (!this.open) return;
    this.setHeaders({ 'Content-Type': contentType, 'Content-Length': body.length });
    this.sendHead(200);
    this.res.write(body.subarray(0, Math.floor(body.length / 2)), () => {
      if (this.gone) return;
      this.done = true;
      // A plain close (FIN), not resetAndDestroy (RST): an RST can make the client's TCP stack drop bytes
      // it received but had not read yet, headers included, so the client would fail before the headers.
      this.req.socket.destroy();
      this.entry.reset = true;
      this.rt.events.emit('reset', this.entry);
      this.trace('200, reset mid-body');
    });
  }

  /** Write a reply. opts: { json } or { text, contentType }, plus headers and an encoding (gzip, deflate, br). */
  reply(status, { json, text, contentType, headers = {}, encoding } = {}) {
    if (!this.open) return;
    this.done = true;
    const { res, entry } = this;
    this.setHeaders(headers);
    let payload = '';
    if (!isBodyless(status)) {
      if (text !== undefined) {
        payload = text;
        res.setHeader('Content-Type', contentType);
      } else if (json !== undefined) {
        payload = JSON.stringify(json);
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
      }
      if (encoding !== undefined) {
        payload = COMPRESS[encoding](Buffer.from(payload));
        res.setHeader('Content-Encoding', encoding);
      }
      res.setHeader('Content-Length', Buffer.byteLength(payload));
    }
    entry.status = status;
    entry.repliedAt = now();
    res.writeHead(status);
    res.end(isBodyless(status) ? undefined : payload);
    this.rt.events.emit('reply', entry);
    this.trace(String(status));
  }

  replyError(status, message, extra = {}, headers = {}) {
    this.reply(status, { json: { error: message, ...extra }, headers });
  }

  replyHttpError(err) {
    if (err instanceof HttpError) this.replyError(err.status, err.message, err.extra, err.headers);
    else this.replyError(500, `mock internal error: ${err?.message ?? err}`);
  }

  /** Never reply: the request stays open until the client aborts or the server closes. */
  hang() {
    this.trace('hanging');
  }

  /** Destroy the connection without a reply (a network error for the client). */
  reset() {
    if (!this.open) return;
    this.done = true;
    const socket = this.req.socket;
    if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
    this.entry.reset = true;
    this.rt.events.emit('reset', this.entry);
    this.trace('reset');
  }

  trace(outcome) {
    if (!this.rt.log) return;
    const e = this.entry;
    const took = e.repliedAt !== null ? ` ${(e.repliedAt - e.arrivedAt).toFixed(1)}ms` : '';
    const scen = e.scenario === 'default' ? '' : `[${e.scenario}] `;
    process.stderr.write(`[mock] ${scen}${e.service} ${e.method} ${e.path} → ${outcome}${took}\n`);
  }
}

// ------------------------------------------------------------------ service and gateway ports

function onServiceRequest(rt, portName, req, res) {
  const arrivedAt = now();
  applyCorsHeaders(res);
  if (req.method === 'OPTIONS') return answerPreflight(req, res);

  const { path: rawPath, query } = splitTarget(req.url);
  const { scenario, path: scoped, prefix } = splitScenario(rawPath);
  let service = portName;
  let path = scoped;
  let base = prefix; // what a client puts before a service path to reach this service (for Location)
  let unknownService = false;
  if (portName === 'gateway') {
    const m = /^\/([^/]+)(\/.*)?$/.exec(scoped);
    if (m && SERVICE_NAMES.includes(m[1])) {
      service = m[1];
      path = m[2] || '/';
      base = `${prefix}/${m[1]}`;
    } else if (!(m && m[1] === 'lab')) {
      unknownService = true;
    }
  }
  const lab = path === '/lab' || path.startsWith('/lab/');
  // Domain requests are numbered, and their fault chosen, in order of arrival (see Store.arrive).
  const arrival = unknownService || lab ? null : rt.store.arrive(scenario, service, { method: req.method, path });
  const entry = rt.store.addEntry({
    scenario, service, via: portName === 'gateway' ? 'gateway' : 'direct', method: req.method, path, query,
    headers: headersObject(req), body: null, arrivedAt, repliedAt: null, status: null, aborted: false,
    nth: arrival?.nth ?? null, wait: null,
  });
  const ex = new Exchange(rt, req, res, entry);
  rt.events.emit('arrive', entry);
  serve(rt, ex, { scenario, service, path, query, base, unknownService, lab, arrival }).catch((err) => ex.replyHttpError(err));
}

async function serve(rt, ex, { scenario, service, path, query, base, unknownService, lab, arrival }) {
  const read = await readBody(ex.req);
  if (read === null || ex.gone) return;
  if (read.tooBig) return ex.replyError(413, 'request body too large');
  const parsed = parseJsonBody(read.text);
  ex.entry.body = parsed.value ?? null;

  if (unknownService) {
    return ex.replyError(404, `gateway: expected /<service>/<path> with service one of ${SERVICE_NAMES.join(', ')}`);
  }
  if (lab) return serveLab(ex, { path, query, parsed, raw: read.text });
  return serveDomain(rt, ex, { scenario, service, path, query, base, parsed, arrival });
}

async function serveLab(ex, { path, query, parsed, raw }) {
  let controls;
  try {
    controls = labControls(query);
  } catch (err) {
    return ex.replyHttpError(err);
  }
  ex.entry.wait = controls.delay;
  if (!(await ex.sleep(controls.delay))) return;
  if (controls.fault === 'hang') {
    ex.entry.fault = 'hang';
    return ex.hang();
  }
  if (controls.fault === 'reset') {
    ex.entry.fault = 'reset';
    return ex.reset();
  }
  if (parsed.error) return ex.replyError(400, parsed.error);
  let r;
  try {
    r = labReply({ method: ex.req.method, path, query, headers: ex.entry.headers, body: parsed.value, raw });
  } catch (err) {
    return ex.replyHttpError(err);
  }
  const headers = {};
  if (controls.retryAfter !== undefined) headers['Retry-After'] = controls.retryAfter;
  if (controls.replayed) headers['Idempotent-Replayed'] = 'true';
  ex.reply(controls.status ?? r.status, { json: r.body, text: r.text, contentType: r.contentType, headers, encoding: controls.encoding });
}

async function serveDomain(rt, ex, { scenario, service, path, query, base, parsed, arrival }) {
  const { fault, wait } = arrival;
  const type = fault === undefined ? undefined : faultType(fault);
  const { entry } = ex;
  // The entry shows a fault once it is applied; one drawn by chaos says so.
  const applied = () => {
    entry.fault = fault;
    if (arrival.chaos) entry.chaos = true;
  };
  entry.wait = wait;
  if (arrival.tail) entry.tail = true;
  // A delay is recorded as its wait starts, so a request that times out during it shows why.
  if (type === 'delay') applied();
  if (!(await ex.sleep(wait))) return;

  if (type !== undefined && TRANSPORT_FAULTS.has(type)) {
    applied();
    return applyTransportFault(rt, ex, { fault, scenario, service });
  }
  const r = parsed.error
    ? { status: 400, body: { error: parsed.error } }
    : handle(rt.store.scenario(scenario), ex, { service, path, query, base, body: parsed.value, type, applied });
  // What the request did, for judging a run by the log: the reply the mock produced (a snapshot: a GET's
  // body may be a live resource that changes later) and what it changed.
  entry.reply = structuredClone({ status: r.status, body: r.body });
  if (r.replayed) entry.replayed = true;
  if (r.effect) entry.effect = r.effect;
  if (type === 'lose-reply') {
    applied();
    return ex.reset();
  }
  ex.reply(r.status, { json: r.body, headers: r.headers });
}

/**
 * Route a domain request and run it: a replay for a known Idempotency-Key, or the handler's reply (an
 * HttpError it throws becomes its error reply). Returns { status, body, headers, effect?, replayed? }.
 */
function handle(state, ex, { service, path, query, base, body, type, applied }) {
  const method = ex.req.method;
  const key = ex.req.headers['idempotency-key'] || null;
  let r;
  try {
    const { handler, params } = route(service, method, path); // throws 404 / 405 / 400
    const idemKey = method === 'POST' && key !== null ? `${service}\n${key}` : undefined;
    const stored = idemKey === undefined ? undefined : state.idempotency.get(idemKey);
    if (stored) {
      return { status: stored.status, body: stored.body, headers: { ...stored.headers, 'Idempotent-Replayed': 'true' }, replayed: true };
    }
    r = handler({ state, params, query, body, fault: type, faultApplied: applied, location: (p) => `${base}${p}` });
    // Only a success is kept for the key: a retry after an error (a 409 included) runs the action.
    if (idemKey !== undefined && r.status >= 200 && r.status < 300) {
      state.idempotency.set(idemKey, structuredClone({ service, key, status: r.status, body: r.body, headers: r.headers ?? {} }));
    }
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    return { status: err.status, body: { error: err.message, ...err.extra }, headers: err.headers };
  }
  if (r.effect?.created) state.createdBy.set(r.effect.created, { key, seq: ex.entry.seq });
  return r;
}

// ------------------------------------------------------------------ admin port

function sendAdmin(res, status, json, headers = {}) {
  const payload = JSON.stringify(json);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

async function onAdminRequest(rt, req, res) {
  applyCorsHeaders(res);
  if (req.method === 'OPTIONS') return answerPreflight(req, res);
  const { path, query } = splitTarget(req.url);
  const read = await readBody(req);
  if (read === null) return;
  if (read.tooBig) return sendAdmin(res, 413, { error: 'request body too large' });
  const parsed = parseJsonBody(read.text);
  const { store } = rt;
  const method = req.method;
  const notAllowed = (allow) => sendAdmin(res, 405, { error: `method ${method} not allowed on ${path} (allowed: ${allow})` }, { Allow: allow });
  const scenarioParam = Array.isArray(query.scenario) ? query.scenario.at(-1) : query.scenario;

  if (path === '/health') {
    return method === 'GET' ? sendAdmin(res, 200, { ok: true }) : notAllowed('GET');
  }
  if (path === '/info') {
    return method === 'GET' ? sendAdmin(res, 200, rt.info) : notAllowed('GET');
  }
  if (path === '/log') {
    if (method === 'GET') return sendAdmin(res, 200, store.entries(scenarioParam));
    if (method === 'DELETE') {
      store.clearLog(scenarioParam);
      return sendAdmin(res, 200, { ok: true });
    }
    return notAllowed('GET, DELETE');
  }
  if (path === '/scenarios') {
    if (method === 'GET') return sendAdmin(res, 200, { scenarios: [...new Set(['default', ...store.scenarios.keys()])] });
    if (method === 'DELETE') {
      store.resetAll();
      return sendAdmin(res, 200, { ok: true });
    }
    return notAllowed('GET, DELETE');
  }
  const m = /^\/scenarios\/([^/]+)(\/state)?$/.exec(path);
  if (m) {
    const id = m[1];
    if (!SCENARIO_ID.test(id)) return sendAdmin(res, 400, { error: 'scenario id must match [A-Za-z0-9_-]+' });
    if (m[2]) return method === 'GET' ? sendAdmin(res, 200, domainState(store.scenario(id))) : notAllowed('GET');
    if (method === 'GET') return sendAdmin(res, 200, store.scenario(id).config);
    if (method === 'PUT') {
      if (parsed.error) return sendAdmin(res, 400, { error: parsed.error });
      try {
        return sendAdmin(res, 200, store.setConfig(id, parsed.value));
      } catch (err) {
        if (err instanceof ConfigError) return sendAdmin(res, 400, { error: err.message });
        throw err;
      }
    }
    if (method === 'DELETE') {
      store.reset(id);
      return sendAdmin(res, 200, store.scenario(id).config);
    }
    return notAllowed('GET, PUT, DELETE');
  }
  return sendAdmin(res, 404, {
    error: `no admin endpoint ${path} (try /health, /info, /scenarios/<id>, /scenarios/<id>/state, /log)`,
  });
}

// ------------------------------------------------------------------ start / stop

function listen(server, port) {
  return new Promise((resolve, reject) => {
    const onError = (err) => reject(err);
    server.once('error', onError);
    server.listen(port, HOST, () => {
      server.off('error', onError);
      resolve(server.address().port);
    });
  });
}

function closeServer(server) {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * Start the admin API, the gateway and the ten services on 127.0.0.1.
 * port: base port (admin = port, gateway = port+1, services = port+2..port+11), or 0 for any free ports.
 * latency: { <service>: ms }, defaultLatency: ms, jitter: { <service>: ms } and defaultJitter: ms form the
 * initial config of the `default` scenario (a bare number for latency or jitter applies to every service),
 * and so do tail: { <service>: { share, factor, seed?, spread? } } and defaultTail: { share, factor, seed?, spread? }
 * (a share of requests wait factor times their latency, drawn each on its own or, with spread "exact", exactly
 * that share of every run of requests; a bare { share, factor, ... } as tail applies to every service)
 * and chaos: { rate, seed?, kinds?, retryAfter?, slowBodyMs? } (random faults; see mock/README.md).
 * log: print one line per request to stderr.
 * Resolves to { adminUrl, gatewayUrl, services: { <name>: url } } plus non-enumerable close() and events
 * (so JSON.stringify(result) gives just the URLs).
 */
export async function startServices({
  port = DEFAULT_PORT, latency = {}, defaultLatency = 0, jitter = {}, defaultJitter = 0, tail, defaultTail, chaos,
  log = false,
} = {}) {
  const maxBase = 65535 - (PORT_LAYOUT.length - 1);
  if (!Number.isInteger(port) || port < 0 || port > maxBase) {
    throw new RangeError(`startServices: port must be 0 (any free ports) or an integer 1..${maxBase}, got ${port}`);
  }
  // Convenience: a bare number means the same for every service.
  if (typeof latency === 'number') [defaultLatency, latency] = [latency, {}];
  if (typeof jitter === 'number') [defaultJitter, jitter] = [jitter, {}];
  if (tail !== null && typeof tail === 'object' && 'share' in tail) [defaultTail, tail] = [tail, undefined];
  let store;
  try {
    store = new Store({ latency, defaultLatency, jitter, defaultJitter, tail, defaultTail, chaos });
  } catch (err) {
    if (err instanceof ConfigError) throw new TypeError(`startServices: ${err.message}`);
    throw err;
  }

  const events = new EventEmitter();
  events.setMaxListeners(100); // tests may wait on many requests at once
  const rt = { store, events, live: new Set(), log: Boolean(log), info: null };
  const servers = PORT_LAYOUT.map((name) => {
    const handler = name === 'admin'
      ? (req, res) => onAdminRequest(rt, req, res).catch((err) => {
        if (!res.headersSent) sendAdmin(res, 500, { error: `mock internal error: ${err?.message ?? err}` });
      })
      : (req, res) => onServiceRequest(rt, name, req, res);
    return { name, server: http.createServer(handler) };
  });

  const results = await Promise.allSettled(servers.map(({ server }, i) => listen(server, port === 0 ? 0 : port + i)));
  const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [{ i, err: r.reason }] : []));
  if (failures.length > 0) {
    await Promise.all(servers.map(({ server }) => closeServer(server)));
    const { i, err } = failures[0];
    const where = `port ${port === 0 ? '(any)' : port + i} (${PORT_LAYOUT[i]}) on ${HOST}`;
    const why = err?.code === 'EADDRINUSE' ? 'is already in use'
      : err?.code === 'EACCES' ? 'cannot be opened: permission denied'
        : `cannot be opened: ${err?.message ?? err}`;
    let also = '';
    if (failures.length === PORT_LAYOUT.length && port !== 0) {
      also = ` (so are all ports ${port}..${port + PORT_LAYOUT.length - 1}: is another mock already running?)`;
    } else if (failures.length > 1) {
      also = `; also failed: ${failures.slice(1).map((f) => (port === 0 ? PORT_LAYOUT[f.i] : port + f.i)).join(', ')}`;
    }
    throw new Error(`mock services: ${where} ${why}${also}. Choose another base port (--port).`, { cause: err });
  }
  for (const { name, server } of servers) {
    server.on('error', (err) => process.stderr.write(`[mock] ${name} server error: ${err.message}\n`));
  }

  const url = (i) => `http://${HOST}:${results[i].value}`;
  const info = {
    adminUrl: url(0),
    gatewayUrl: url(1),
    services: Object.fromEntries(SERVICE_NAMES.map((name, k) => [name, url(k + 2)])),
  };
  rt.info = info;

  let closing = null;
  const close = () => {
    if (!closing) {
      closing = (async () => {
        for (const ex of rt.live) ex.cancel();
        await Promise.all(servers.map(({ server }) => closeServer(server)));
      })();
    }
    return closing;
  };

  const result = structuredClone(info);
  Object.defineProperties(result, {
    close: { value: close, enumerable: false },
    events: { value: events, enumerable: false },
  });
  return result;
}
