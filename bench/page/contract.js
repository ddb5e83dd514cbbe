// Shared by the benchmark driver (Node, bench/run.mjs) and the benchmark page (Chromium):
// the create-order contract's dependency graph, the latency sets, the reference figures
// computed from them, and part B's seeded graphs, plan copies and injected fetches (the
// benchmark page's and bench/ab.mjs's). No dependencies, no DOM.

/** The ten services, in stage order (the order sequential implementations call them). */
export const SERVICES = Object.freeze([
  'customer', 'cart', 'inventory', 'pricing', 'shipping', 'fraud', 'tax', 'payment', 'order', 'notification',
]);

/** What each call waits for (README.md, "composeOrder" table). */
export const DEPENDS = Object.freeze({
  customer: [],
  cart: [],
  inventory: ['cart'],
  pricing: ['cart', 'customer'],
  shipping: ['cart', 'customer'],
  fraud: ['customer'],
  tax: ['pricing', 'customer'],
  payment: ['pricing', 'shipping', 'tax', 'fraud'],
  order: ['inventory', 'payment'],
  notification: ['order', 'customer'],
});

/** The topological levels of DEPENDS, as validatePlan() would return them. */
export function stagesOf(depends = DEPENDS) {
  const level = {};
  const visit = (name) => {
    if (level[name] === undefined) level[name] = Math.max(-1, ...depends[name].map(visit)) + 1;
    return level[name];
  };
  const names = Object.keys(depends);
  names.forEach(visit);
  const stages = [];
  for (const name of names) (stages[level[name]] ??= []).push(name);
  return stages;
}

/** The two latency sets of part A: every service's latency in ms. */
export const LATENCY_SETS = Object.freeze({
  uniform: { defaultLatency: 100, latency: {} },
  skewed: { defaultLatency: 100, latency: { fraud: 300, pricing: 40 } },
});

/** { service: ms } for a latency set. */
export function latencies(set) {
  return Object.fromEntries(SERVICES.map((s) => [s, set.latency[s] ?? set.defaultLatency]));
}

/**
 * The critical path: the longest chain of latencies through the dependency graph, i.e. the
 * shortest possible makespan. Returns { ms, path } (ties go to the service listed first).
 */
export function criticalPath(lat, depends = DEPENDS) {
  const best = {};
  const visit = (name) => {
    if (best[name]) return best[name];
    let prev = { ms: 0, path: [] };
    for (const d of depends[name]) {
      const c = visit(d);
      if (c.ms > prev.ms) prev = c;
    }
    best[name] = { ms: prev.ms + lat[name], path: [...prev.path, name] };
    return best[name];
  };
  let top = { ms: 0, path: [] };
  for (const name of Object.keys(depends)) {
    const c = visit(name);
    if (c.ms > top.ms) top = c;
  }
  return top;
}

/** The best makespan with a barrier after each stage: the sum of each stage's slowest call. */
export function stagesMakespan(lat, depends = DEPENDS) {
  return stagesOf(depends).reduce((sum, stage) => sum + Math.max(...stage.map((s) => lat[s])), 0);
}

/** One call at a time: the sum of all latencies. */
export function sequentialMakespan(lat) {
  return Object.values(lat).reduce((a, b) => a + b, 0);
}

// ------------------------------------------------------------------ part B graphs

/** A small, fast, seeded PRNG (mulberry32); returns floats in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The dependency lists of a part-B graph of n calls: deps[i] lists indices < i.
 *   wide:   no edges;
 *   deep:   a chain, i depends on i - 1;
 *   random: `edges` distinct edges j -> i (j < i) drawn with a seeded PRNG.
 */
export function graphDeps(shape, n, { edges = 3 * n, seed = 1 } = {}) {
  const deps = Array.from({ length: n }, () => []);
  if (shape === 'wide') return deps;
  if (shape === 'deep') {
    for (let i = 1; i < n; i++) deps[i].push(i - 1);
    return deps;
  }
  if (shape !== 'random') throw new Error(`unknown graph shape ${shape}`);
  if (edges > (n * (n - 1)) / 2) throw new Error(`${edges} edges do not fit in ${n} calls`);
  const rand = prng(seed);
  const seen = new Set();
  while (seen.size < edges) {
    const a = Math.floor(rand() * n);
    const b = Math.floor(rand() * n);
    if (a === b) continue;
    const [from, to] = a < b ? [a, b] : [b, a];
    const key = from * n + to;
    if (seen.has(key)) continue;
    seen.add(key);
    deps[to].push(from);
  }
  for (const d of deps) d.sort((x, y) => x - y);
  return deps;
}

/** A compose() plan over a graph: call `c<i>` GETs `${base}/c<i>` after its dependencies. */
export function planOf(deps, base = 'https://bench.invalid/calls') {
  const calls = {};
  deps.forEach((d, i) => {
    const call = { url: `${base}/c${i}` };
    if (d.length) call.after = d.map((j) => `c${j}`);
    calls[`c${i}`] = call;
  });
  return { calls };
}

/** Number of edges of a graph. */
export function edgeCount(deps) {
  return deps.reduce((sum, d) => sum + d.length, 0);
}

/** Longest chain (in calls) of a graph. */
export function depthOf(deps) {
  const depth = [];
  deps.forEach((d, i) => {
    depth[i] = 1 + Math.max(0, ...d.map((j) => depth[j]));
  });
  return Math.max(0, ...depth);
}

// ------------------------------------------------------------------ part B's fetch and plans

/**
 * The injected fetch, of one of two kinds; either resolves at once.
 *   stub:     the same Response-like object for every call ({status, ok, json()}), whose
 *             json() resolves to the same reply: the engine's own cost, nothing else;
 *   response: a fresh `new Response(JSON.stringify(reply), {status: 200, headers:
 *             {'content-type': 'application/json'}})` per call, as a real fetch gives: the
 *             body is a stream to read and JSON to parse, the reply a new object each time.
 * `isReply(v)` says whether a composition's value for a call is the reply.
 */
export function instantFetch(kind = 'stub') {
  const reply = { ok: true, n: 1 };
  const state = { reply, calls: 0 };
  if (kind === 'stub') {
    const response = { status: 200, ok: true, json: () => Promise.resolve(reply) };
    state.fetch = (url, init) => {
      state.calls++;
      return Promise.resolve(response);
    };
    state.isReply = (v) => v === reply;
  } else if (kind === 'response') {
    const headers = { 'content-type': 'application/json' };
    state.fetch = (url, init) => {
      state.calls++;
      return Promise.resolve(new Response(JSON.stringify(reply), { status: 200, headers }));
    };
    state.isReply = (v) => v !== null && typeof v === 'object' && v !== reply && v.ok === true && v.n === 1 && Object.keys(v).length === 2;
  } else {
    throw new Error(`unknown fetch kind ${kind}`);
  }
  return state;
}

// A copy of each plan frozen all the way down, made once: what a portal does with the plans
// it runs again and again (compose() then reads the plan once; docs/options.md).
const frozenCopies = new WeakMap();
export function frozenCopy(plan) {
  let copy = frozenCopies.get(plan);
  if (!copy) {
    const freeze = (value) => {
      if (value !== null && typeof value === 'object') {
        Object.values(value).forEach(freeze);
        Object.freeze(value);
      }
      return value;
    };
    copy = freeze(structuredClone(plan));
    frozenCopies.set(plan, copy);
  }
  return copy;
}
