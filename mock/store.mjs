// In-memory state of one running mock: scenarios (config + domain state) and the request log.

import { CHAOS_KINDS, pickChaos, tailDraw, tailPhase, inExactTail } from './chaos.mjs';

export const SERVICE_NAMES = Object.freeze([
  'customer', 'cart', 'inventory', 'pricing', 'shipping',
  'fraud', 'tax', 'payment', 'order', 'notification',
]);

export const MAX_LATENCY_MS = 10 * 60 * 1000;
// (MAX_LATENCY_MS × 2, latency plus jitter) × MAX_TAIL_FACTOR + MAX_LATENCY_MS stays below setTimeout's
// limit of 2^31 - 1 ms, past which a timer would fire at once.
export const MAX_TAIL_FACTOR = 1000;
export const MAX_LOG_ENTRIES = 200_000;
export const MAX_HUGE_BODY_MB = 64;
export const REDIRECT_STATUSES = Object.freeze([301, 302, 303, 307, 308]);

export class ConfigError extends Error {}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkMs(value, what) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_LATENCY_MS) {
    throw new ConfigError(`${what} must be a number of milliseconds between 0 and ${MAX_LATENCY_MS}`);
  }
  return value;
}

function checkService(name, what) {
  if (!SERVICE_NAMES.includes(name)) {
    throw new ConfigError(`${what}: unknown service "${name}" (known: ${SERVICE_NAMES.join(', ')})`);
  }
}

/** A redirect goes to another origin: notification, or customer when notification itself is faulted. */
export function defaultRedirectTarget(service) {
  return service === 'notification' ? 'customer' : 'notification';
}

// Fault types. `only`: the one service it applies to. `transport`: it replaces the whole reply (and so
// takes effect before body validation); the others shape a normal reply or only delay it. `params`: the
// parameters of its object form, each a check (value, what, service) → normalized value and a default
// (undefined: required), filled in by normalizeFault so the config read back says exactly what happens.
const FAULT_TYPES = new Map(Object.entries({
  hang: { transport: true },
  reset: { transport: true },
  'reset-mid-body': { transport: true },
  // The action runs (and its reply is kept for its Idempotency-Key), then the connection is
  // reset instead of replying: the write happened but the client cannot know it.
  'lose-reply': {},
  'not-json': { transport: true },
  empty: { transport: true },
  'slow-body': {
    transport: true,
    params: { ms: { check: checkMs, fallback: () => 1000 } },
  },
  'huge-body': {
    transport: true,
    params: {
      mb: {
        check: (v, what) => {
          if (!Number.isInteger(v) || v < 1 || v > MAX_HUGE_BODY_MB) {
            throw new ConfigError(`${what} must be an integer number of MiB 1..${MAX_HUGE_BODY_MB}`);
          }
          return v;
        },
        fallback: () => 6,
      },
    },
  },
  redirect: {
    transport: true,
    params: {
      to: {
        check: (v, what, service) => {
          if (typeof v !== 'string' || !SERVICE_NAMES.includes(v)) {
            throw new ConfigError(`${what} must be a service name (one of ${SERVICE_NAMES.join(', ')})`);
          }
          if (v === service) throw new ConfigError(`${what} must be another service than ${service} (another origin)`);
          return v;
        },
        fallback: defaultRedirectTarget,
      },
      status: {
        check: (v, what) => {
          if (!REDIRECT_STATUSES.includes(v)) throw new ConfigError(`${what} must be one of ${REDIRECT_STATUSES.join(', ')}`);
          return v;
        },
        fallback: () => 307,
      },
    },
  },
  delay: { params: { ms: { check: checkMs, fallback: undefined } } },
  reject: { only: 'fraud' },
  review: { only: 'fraud' },
  decline: { only: 'payment' },
}));

/** Faults that replace the whole reply (as opposed to faults that shape a normal reply or delay it). */
export const TRANSPORT_FAULTS = new Set(['status', ...[...FAULT_TYPES].filter(([, t]) => t.transport).map(([k]) => k)]);

const KNOWN = () => [...FAULT_TYPES.keys()].join(', ');

function checkSelection(fault, what, out) {
  if (fault.after !== undefined) {
    if (!Number.isInteger(fault.after) || fault.after < 0) {
      throw new ConfigError(`${what}.after must be a non-negative integer (the number of requests let through first)`);
    }
    out.after = fault.after;
  }
  if (fault.times !== undefined) {
    if (!Number.isInteger(fault.times) || fault.times < 1) {
      throw new ConfigError(`${what}.times must be a positive integer`);
    }
    out.times = fault.times;
  }
}

/**
 * Validate one fault and return its normalized form: a parameterless type given as a string stays a
 * string; a type with parameters becomes an object with every parameter filled in.
 */
export function normalizeFault(service, fault) {
  const what = `faults.${service}`;
  if (typeof fault !== 'string' && !isPlainObject(fault)) throw new ConfigError(`${what} must be a string or an object`);
  const given = typeof fault === 'string' ? { type: fault } : fault;

  if (given.type === undefined) {
    if (given.status === undefined) throw new ConfigError(`${what} needs "status" or "type"`);
    for (const k of Object.keys(given)) {
      if (!['status', 'retryAfter', 'after', 'times'].includes(k)) {
        throw new ConfigError(`${what}: unknown key "${k}" for a status fault (allowed: status, retryAfter, after, times)`);
      }
    }
    if (!Number.isInteger(given.status) || given.status < 200 || given.status > 599) {
      throw new ConfigError(`${what}.status must be an integer HTTP status 200..599`);
    }
    const out = { status: given.status };
    if (given.retryAfter !== undefined) {
      const ra = given.retryAfter;
      const okNumber = Number.isInteger(ra) && ra >= 0;
      const okString = typeof ra === 'string' && ra.length > 0 && !/[\r\n]/.test(ra);
      if (!okNumber && !okString) {
        throw new ConfigError(`${what}.retryAfter must be a non-negative integer (seconds) or an HTTP-date string`);
      }
      out.retryAfter = ra;
    }
    checkSelection(given, what, out);
    return out;
  }

  const spec = typeof given.type === 'string' ? FAULT_TYPES.get(given.type) : undefined;
  if (!spec) {
    throw new ConfigError(typeof fault === 'string'
      ? `${what}: unknown fault "${fault}" (known: ${KNOWN()}, or {status})`
      : `${what}.type must be one of ${KNOWN()}`);
  }
  const type = given.type;
  if (spec.only && spec.only !== service) throw new ConfigError(`${what}: fault "${type}" only applies to the ${spec.only} service`);
  const params = spec.params ?? {};
  const allowed = ['type', ...Object.keys(params), 'after', 'times'];
  for (const k of Object.keys(given)) {
    if (k === 'retryAfter') throw new ConfigError(`${what}.retryAfter only goes with "status"`);
    if (k === 'status' && !allowed.includes(k)) {
      throw new ConfigError(`${what}: give either "status" or "type", not both (of the types, only "redirect" takes a status)`);
    }
    if (!allowed.includes(k)) {
      throw new ConfigError(`${what}: unknown key "${k}" for fault "${type}" (allowed: ${allowed.join(', ')})`);
    }
  }
  if (Object.keys(params).length === 0) {
    if (typeof fault === 'string') return fault;
    const out = { type };
    checkSelection(given, what, out);
    return out;
  }
  const out = { type };
  for (const [name, { check, fallback }] of Object.entries(params)) {
    if (given[name] !== undefined) {
      out[name] = check(given[name], `${what}.${name}`, service);
    } else if (fallback === undefined) {
      throw new ConfigError(`${what}: fault "${type}" needs "${name}", e.g. {"type":"${type}","${name}":500}`);
    } else {
      out[name] = fallback(service);
    }
  }
  checkSelection(given, what, out);
  return out;
}

const CHAOS_KEYS = ['rate', 'seed', 'kinds', 'retryAfter', 'slowBodyMs'];

/** Validate a chaos config and return it with every default filled in (so it reads back as it acts). */
export function normalizeChaos(input) {
  if (!isPlainObject(input)) throw new ConfigError('chaos must be an object {rate, seed?, kinds?, retryAfter?, slowBodyMs?}');
  for (const k of Object.keys(input)) {
    if (!CHAOS_KEYS.includes(k)) throw new ConfigError(`chaos: unknown key "${k}" (allowed: ${CHAOS_KEYS.join(', ')})`);
  }
  const { rate, seed = 1, kinds, retryAfter = 1, slowBodyMs = 1000 } = input;
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw new ConfigError('chaos.rate must be a number from 0 to 1');
  if (!Number.isSafeInteger(seed) || seed < 0) throw new ConfigError('chaos.seed must be a non-negative safe integer');
  if (!Number.isInteger(retryAfter) || retryAfter < 0) throw new ConfigError('chaos.retryAfter must be a non-negative integer (seconds)');
  const out = { rate, seed, kinds: {}, retryAfter, slowBodyMs: checkMs(slowBodyMs, 'chaos.slowBodyMs') };
  if (kinds === undefined) {
    for (const k of CHAOS_KINDS) out.kinds[k] = 1;
    return out;
  }
  if (!isPlainObject(kinds) || Object.keys(kinds).length === 0) {
    throw new ConfigError('chaos.kinds must be a non-empty object {<kind>: weight}');
  }
  for (const [k, weight] of Object.entries(kinds)) {
    if (!CHAOS_KINDS.includes(k)) throw new ConfigError(`chaos.kinds: unknown kind "${k}" (known: ${CHAOS_KINDS.join(', ')})`);
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
      throw new ConfigError(`chaos.kinds.${k} must be a positive number (a weight)`);
    }
  }
  // Written in CHAOS_KINDS order, the order picks are made in.
  for (const k of CHAOS_KINDS) if (kinds[k] !== undefined) out.kinds[k] = kinds[k];
  return out;
}

const TAIL_KEYS = ['share', 'factor', 'seed', 'spread'];
/** How the share is spread over a service's requests: an independent draw each, or exactly, evenly. */
export const TAIL_SPREADS = Object.freeze(['random', 'exact']);
const TAIL_SHAPE = '{share, factor, seed?, spread?}';

/**
 * Validate one long-tail setting {share, factor, seed?, spread?} (`what` names it in messages). `seed` and
 * `spread` stay absent when not given, so a tail reads back as it was given: the draw is then random,
 * where a seed makes it a function of (seed, service, nth); `spread` absent is "random".
 */
export function normalizeTail(input, what) {
  if (!isPlainObject(input)) throw new ConfigError(`${what} must be an object ${TAIL_SHAPE}`);
  for (const k of Object.keys(input)) {
    if (!TAIL_KEYS.includes(k)) throw new ConfigError(`${what}: unknown key "${k}" (allowed: ${TAIL_KEYS.join(', ')})`);
  }
  const { share, factor, seed } = input;
  if (typeof share !== 'number' || !(share >= 0 && share <= 1)) {
    throw new ConfigError(`${what}.share must be a number from 0 to 1 (the share of requests slowed)`);
  }
  if (typeof factor !== 'number' || !(factor >= 1 && factor <= MAX_TAIL_FACTOR)) {
    throw new ConfigError(`${what}.factor must be a number from 1 to ${MAX_TAIL_FACTOR} (how many times the latency a slowed request waits)`);
  }
  const out = { share, factor };
  if (seed !== undefined) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new ConfigError(`${what}.seed must be a non-negative safe integer`);
    out.seed = seed;
  }
  if (input.spread !== undefined) {
    if (!TAIL_SPREADS.includes(input.spread)) {
      throw new ConfigError(`${what}.spread must be "random" or "exact" (each request drawn on its own, or exactly the share of every run of requests)`);
    }
    out.spread = input.spread;
  }
  return out;
}

/** Validate a scenario config (PUT body or startServices options) and return its normalized form. */
export function normalizeConfig(input) {
  if (input === null || input === undefined) input = {};
  if (!isPlainObject(input)) throw new ConfigError('scenario config must be a JSON object');
  const keys = ['latency', 'defaultLatency', 'jitter', 'defaultJitter', 'tail', 'defaultTail', 'faults', 'chaos'];
  for (const k of Object.keys(input)) {
    if (!keys.includes(k)) throw new ConfigError(`unknown key "${k}" (expected ${keys.join(', ')})`);
  }
  const config = emptyConfig();
  for (const [map, fallback] of [['latency', 'defaultLatency'], ['jitter', 'defaultJitter']]) {
    if (input[map] !== undefined) {
      if (!isPlainObject(input[map])) throw new ConfigError(`${map} must be an object {<service>: ms}`);
      for (const [svc, ms] of Object.entries(input[map])) {
        checkService(svc, map);
        config[map][svc] = checkMs(ms, `${map}.${svc}`);
      }
    }
    if (input[fallback] !== undefined) config[fallback] = checkMs(input[fallback], fallback);
  }
  // Like chaos, tail and defaultTail are absent when off, so a config without them reads back as it did
  // before they existed.
  if (input.tail !== undefined) {
    if (!isPlainObject(input.tail)) throw new ConfigError(`tail must be an object {<service>: ${TAIL_SHAPE}}`);
    for (const [svc, tail] of Object.entries(input.tail)) {
      if (TAIL_KEYS.includes(svc)) {
        throw new ConfigError(`tail is {<service>: ${TAIL_SHAPE}}; for every service give defaultTail: ${TAIL_SHAPE}`);
      }
      checkService(svc, 'tail');
      (config.tail ??= {})[svc] = normalizeTail(tail, `tail.${svc}`);
    }
  }
  if (input.defaultTail !== undefined && input.defaultTail !== null) config.defaultTail = normalizeTail(input.defaultTail, 'defaultTail');
  if (input.faults !== undefined) {
    if (!isPlainObject(input.faults)) throw new ConfigError('faults must be an object {<service>: fault}');
    for (const [svc, fault] of Object.entries(input.faults)) {
      checkService(svc, 'faults');
      if (fault === null) continue;
      config.faults[svc] = normalizeFault(svc, fault);
    }
  }
  // Absent (not null) when off, so a config without chaos reads back as it did before chaos existed.
  if (input.chaos !== undefined && input.chaos !== null) config.chaos = normalizeChaos(input.chaos);
  return config;
}

function emptyConfig() {
  return { latency: {}, defaultLatency: 0, jitter: {}, defaultJitter: 0, faults: {} };
}

/** The fault's kind: 'status' or one of the fault types. */
export function faultType(fault) {
  if (typeof fault === 'string') return fault;
  return fault.type ?? 'status';
}

/** Whether a fault selects request number `nth` (1-based): after < nth ≤ after + times. */
export function selects(fault, nth) {
  if (typeof fault === 'string') return true;
  const after = fault.after ?? 0;
  return nth > after && (fault.times === undefined || nth <= after + fault.times);
}

function freshState(id, config) {
  return {
    id,
    config: structuredClone(config),
    requests: new Map(), // service → how many domain requests arrived since the config was set
    tailPhases: new Map(), // service → the phase of its tail's exact spread, since the config was set
    counters: { res: 0, auth: 0, ord: 0, ntf: 0 },
    reservations: new Map(),
    authorizations: new Map(),
    orders: new Map(), // insertion-ordered
    notifications: new Map(),
    // id of a reservation, authorization, order or notification → { key, seq }: the Idempotency-Key
    // (or null) and log seq of the request that created it. Kept beside the resources, not in them,
    // so the services' replies stay what they were.
    createdBy: new Map(),
    idempotency: new Map(), // `${service}\n${key}` → { service, key, status, body, headers }
  };
}

/** With createdBy added: each resource of `map`, in insertion order. */
function withCreator(s, map) {
  return [...map].map(([id, resource]) => ({ ...resource, createdBy: s.createdBy.get(id) ?? null }));
}

/** A scenario's domain state, for GET /scenarios/<id>/state: what a chaos run is judged by. */
export function domainState(s) {
  return {
    reservations: withCreator(s, s.reservations),
    authorizations: withCreator(s, s.authorizations),
    orders: withCreator(s, s.orders),
    notifications: withCreator(s, s.notifications),
    idempotency: [...s.idempotency.values()].map(({ service, key, status, body }) => ({ service, key, status, body })),
  };
}

export class Store {
  constructor(defaultConfig) {
    this.initialDefault = normalizeConfig(defaultConfig);
    this.scenarios = new Map();
    this.log = [];
    this.seq = 0;
  }

  initialConfig(id) {
    return id === 'default' ? this.initialDefault : emptyConfig();
  }

  scenario(id) {
    let s = this.scenarios.get(id);
    if (!s) {
      s = freshState(id, this.initialConfig(id));
      this.scenarios.set(id, s);
    }
    return s;
  }

  /** Replace a scenario's config (keeps its log and domain state, numbers requests from 1 again). */
  setConfig(id, input) {
    const config = normalizeConfig(input);
    const s = this.scenario(id);
    s.config = config;
    s.requests.clear();
    s.tailPhases.clear();
    return config;
  }

  /** Reset a scenario: initial config, no log, no orders/reservations/idempotency records, counters from 1. */
  reset(id) {
    this.scenarios.delete(id);
    this.clearLog(id);
  }

  resetAll() {
    this.scenarios.clear();
    this.clearLog();
  }

  /**
   * Number a domain request to `service` as it arrives and decide what it gets: { nth, fault, chaos, tail, wait }.
   * fault: the scenario's fault for the service if it selects this request number, else the chaos draw's
   * fault (chaos: true), else undefined. The draw needs the method and path, since decline and reject
   * only apply to one endpoint each.
   * tail: whether the long tail slowed it: under the random spread its own draw per request (so a second
   * copy of a request in flight, a hedge, draws again); under the exact spread whether its nth is one of
   * the service's slow numbers (a second copy has an nth of its own too).
   * wait: milliseconds to wait before replying: latency + a uniform draw in [0, jitter), times the tail's
   * factor when in the tail, + a delay fault's ms.
   */
  arrive(id, service, { method, path }) {
    const s = this.scenario(id);
    const nth = (s.requests.get(service) ?? 0) + 1;
    s.requests.set(service, nth);
    const { config } = s;
    const configured = config.faults[service];
    let fault = configured !== undefined && selects(configured, nth) ? configured : undefined;
    let chaos = false;
    if (fault === undefined && config.chaos) {
      fault = pickChaos(config.chaos, { service, nth, method, path });
      chaos = fault !== undefined;
    }
    const latency = config.latency[service] ?? config.defaultLatency;
    const jitter = config.jitter[service] ?? config.defaultJitter;
    const tailOf = config.tail?.[service] ?? config.defaultTail;
    const tail = tailOf !== undefined && (tailOf.spread === 'exact'
      ? inExactTail(tailOf.share, this.tailPhaseOf(s, service, tailOf), nth)
      : tailDraw(tailOf, { service, nth }) < tailOf.share);
    const delay = fault !== undefined && faultType(fault) === 'delay' ? fault.ms : 0;
    const latencyWait = latency + Math.random() * jitter;
    return { nth, fault, chaos, tail, wait: (tail ? tailOf.factor * latencyWait : latencyWait) + delay };
  }

  /** The phase of `service`'s exact spread in scenario state `s`, drawn at its first request since the config was set. */
  tailPhaseOf(s, service, tailOf) {
    let phase = s.tailPhases.get(service);
    if (phase === undefined) {
      phase = tailPhase(tailOf, service);
      s.tailPhases.set(service, phase);
    }
    return phase;
  }

  addEntry(fields) {
    const entry = { seq: ++this.seq, ...fields };
    this.log.push(entry);
    if (this.log.length > MAX_LOG_ENTRIES) this.log.splice(0, this.log.length - MAX_LOG_ENTRIES);
    return entry;
  }

  entries(scenario) {
    return scenario === undefined ? this.log : this.log.filter((e) => e.scenario === scenario);
  }

  clearLog(scenario) {
    this.log = scenario === undefined ? [] : this.log.filter((e) => e.scenario !== scenario);
  }
}
