// In-memory state of one running mock: scenarios (config + domain state) and the request log.

export const SERVICE_NAMES = Object.freeze([
  'customer', 'cart', 'inventory', 'pricing', 'shipping',
  'fraud', 'tax', 'payment', 'order', 'notification',
]);

const STRING_FAULTS = new Map([
  ['hang', null],
  ['reset', null],
  ['not-json', null],
  ['reject', 'fraud'],
  ['review', 'fraud'],
  ['decline', 'payment'],
]);

/** Faults that replace the whole reply (as opposed to domain faults, which shape a normal reply). */
export const TRANSPORT_FAULTS = new Set(['hang', 'reset', 'not-json', 'status']);

export const MAX_LATENCY_MS = 10 * 60 * 1000;
export const MAX_LOG_ENTRIES = 200_000;

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

/** Validate one fault and return its normalized form. */
export function normalizeFault(service, fault) {
  const what = `faults.${service}`;
  let type;
  let out;
  if (typeof fault === 'string') {
    type = fault;
    out = fault;
  } else if (isPlainObject(fault)) {
    const allowed = new Set(['status', 'retryAfter', 'type', 'times']);
    for (const k of Object.keys(fault)) {
      if (!allowed.has(k)) throw new ConfigError(`${what}: unknown key "${k}"`);
    }
    if (fault.status !== undefined && fault.type !== undefined) {
      throw new ConfigError(`${what}: give either "status" or "type", not both`);
    }
    out = {};
    if (fault.status !== undefined) {
      if (!Number.isInteger(fault.status) || fault.status < 200 || fault.status > 599) {
        throw new ConfigError(`${what}.status must be an integer HTTP status 200..599`);
      }
      type = 'status';
      out.status = fault.status;
      if (fault.retryAfter !== undefined) {
        const ra = fault.retryAfter;
        const okNumber = Number.isInteger(ra) && ra >= 0;
        const okString = typeof ra === 'string' && ra.length > 0 && !/[\r\n]/.test(ra);
        if (!okNumber && !okString) {
          throw new ConfigError(`${what}.retryAfter must be a non-negative integer (seconds) or an HTTP-date string`);
        }
        out.retryAfter = ra;
      }
    } else if (fault.type !== undefined) {
      if (typeof fault.type !== 'string' || !STRING_FAULTS.has(fault.type)) {
        throw new ConfigError(`${what}.type must be one of ${[...STRING_FAULTS.keys()].join(', ')}`);
      }
      if (fault.retryAfter !== undefined) throw new ConfigError(`${what}.retryAfter only goes with "status"`);
      type = fault.type;
      out.type = fault.type;
    } else {
      throw new ConfigError(`${what} needs "status" or "type"`);
    }
    if (fault.times !== undefined) {
      if (!Number.isInteger(fault.times) || fault.times < 1) {
        throw new ConfigError(`${what}.times must be a positive integer`);
      }
      out.times = fault.times;
    }
  } else {
    throw new ConfigError(`${what} must be a string or an object`);
  }
  if (type !== 'status') {
    if (!STRING_FAULTS.has(type)) {
      throw new ConfigError(`${what}: unknown fault "${type}" (known: ${[...STRING_FAULTS.keys()].join(', ')}, or {status})`);
    }
    const only = STRING_FAULTS.get(type);
    if (only && only !== service) throw new ConfigError(`${what}: fault "${type}" only applies to the ${only} service`);
  }
  return out;
}

/** Validate a scenario config (PUT body or startServices options) and return its normalized form. */
export function normalizeConfig(input) {
  if (input === null || input === undefined) input = {};
  if (!isPlainObject(input)) throw new ConfigError('scenario config must be a JSON object');
  for (const k of Object.keys(input)) {
    if (!['latency', 'defaultLatency', 'faults'].includes(k)) {
      throw new ConfigError(`unknown key "${k}" (expected latency, defaultLatency, faults)`);
    }
  }
  const config = { latency: {}, defaultLatency: 0, faults: {} };
  if (input.latency !== undefined) {
    if (!isPlainObject(input.latency)) throw new ConfigError('latency must be an object {<service>: ms}');
    for (const [svc, ms] of Object.entries(input.latency)) {
      checkService(svc, 'latency');
      config.latency[svc] = checkMs(ms, `latency.${svc}`);
    }
  }
  if (input.defaultLatency !== undefined) config.defaultLatency = checkMs(input.defaultLatency, 'defaultLatency');
  if (input.faults !== undefined) {
    if (!isPlainObject(input.faults)) throw new ConfigError('faults must be an object {<service>: fault}');
    for (const [svc, fault] of Object.entries(input.faults)) {
      checkService(svc, 'faults');
      if (fault === null) continue;
      config.faults[svc] = normalizeFault(svc, fault);
    }
  }
  return config;
}

/** The fault's kind: 'status' or one of the string faults. */
export function faultType(fault) {
  if (typeof fault === 'string') return fault;
  return fault.status !== undefined ? 'status' : fault.type;
}

function freshState(id, config) {
  return {
    id,
    config: structuredClone(config),
    faultUses: new Map(), // service → how many times its fault was applied
    counters: { res: 0, auth: 0, ord: 0, ntf: 0 },
    reservations: new Map(),
    authorizations: new Map(),
    orders: new Map(), // insertion-ordered
    notifications: new Map(),
    idempotency: new Map(), // `${service}\n${key}` → { status, body, headers }
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
    return id === 'default' ? this.initialDefault : { latency: {}, defaultLatency: 0, faults: {} };
  }

  scenario(id) {
    let s = this.scenarios.get(id);
    if (!s) {
      s = freshState(id, this.initialConfig(id));
      this.scenarios.set(id, s);
    }
    return s;
  }

  /** Replace a scenario's config (keeps its log and domain state, restarts fault `times` counting). */
  setConfig(id, input) {
    const config = normalizeConfig(input);
    const s = this.scenario(id);
    s.config = config;
    s.faultUses.clear();
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

  latencyFor(id, service) {
    const { config } = this.scenario(id);
    return config.latency[service] ?? config.defaultLatency ?? 0;
  }

  /** The fault currently active for a service (undefined if none or its `times` are used up). */
  activeFault(id, service) {
    const s = this.scenario(id);
    const fault = s.config.faults[service];
    if (fault === undefined) return undefined;
    if (typeof fault === 'object' && fault.times !== undefined && (s.faultUses.get(service) ?? 0) >= fault.times) {
      return undefined;
    }
    return fault;
  }

  consumeFault(id, service) {
    const s = this.scenario(id);
    s.faultUses.set(service, (s.faultUses.get(service) ?? 0) + 1);
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
