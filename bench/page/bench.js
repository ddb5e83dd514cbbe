// The benchmark page's implementations. bench/run.mjs drives them through Playwright, one
// run per page.evaluate() call, and every time is taken here with performance.now() around
// exactly the work being compared (the driver's round trips are outside it).
//
// Part A: the create-order flow, written the ways a portal team would write it by hand
//         (sequential awaits, Promise.all per stage, async.auto) next to composeOrder();
//         plus a plain fetch chain along the critical path (the browser's round-trip floor).
// Part B: engine overhead per call against an injected fetch that resolves at once (a
//         Response-like stub, or a real Response per call).
// Part C: ten 1 MiB JSON replies through compose() and through Promise.all(fetch).
// Part M: many compositions in one page, for the JS heap and the wasm memory over time.
// Part P: the order flow through a composer, cold and after prefetchOrder() filled its cache.
// (Part A2 runs part A's implementations under CPU throttling; part D loads the package
// itself in blank.html.)
import { SERVICES, graphDeps, planOf, edgeCount, depthOf, instantFetch, frozenCopy } from './contract.js';
import { orderSteps } from './order-steps.js';
import { GUARD_MAX_BYTES, GUARD_TIMEOUT_MS, cappedJson } from './guards.js';

let pc = null; // the package: pkg/parallel_composer.js
let wasm = null; // what init() resolved to (the wasm exports, for the memory size)
let asyncLib = null; // node_modules/async/dist/async.mjs

async function setup() {
  pc = await import('/pkg/parallel_composer.js');
  wasm = await pc.default();
  asyncLib = await import('/vendor/async/async.mjs');
  return {
    exports: Object.keys(pc).sort(),
    asyncAuto: typeof asyncLib.auto === 'function',
    wasmMemoryBytes: wasmMemoryBytes(),
  };
}

function wasmMemoryBytes() {
  return wasm && wasm.memory ? wasm.memory.buffer.byteLength : null;
}

// ------------------------------------------------------------------ part A: the order flow


const ORDER_IMPLS = {
  /** Await each call in turn, in stage order. */
  'js-sequential': async (S, req, f) => {
    const s = orderSteps(S, req, f);
    const r = {};
    r.customer = await s.customer(r);
    r.cart = await s.cart(r);
    r.inventory = await s.inventory(r);
    r.pricing = await s.pricing(r);
    r.shipping = await s.shipping(r);
    r.fraud = await s.fraud(r);
    r.tax = await s.tax(r);
    r.payment = await s.payment(r);
    r.order = await s.order(r);
    r.notification = await s.notification(r);
    return s.result(r);
  },
  /** Promise.all per stage. */
  'js-staged': async (S, req, f) => {
    const s = orderSteps(S, req, f);
    const r = {};
    [r.customer, r.cart] = await Promise.all([s.customer(r), s.cart(r)]);
    [r.inventory, r.pricing, r.shipping, r.fraud] = await Promise.all([s.inventory(r), s.pricing(r), s.shipping(r), s.fraud(r)]);
    r.tax = await s.tax(r);
    r.payment = await s.payment(r);
    r.order = await s.order(r);
    r.notification = await s.notification(r);
    return s.result(r);
  },
  /** A dependency graph with async.auto: each task starts when the tasks it names are done. */
  'async.auto': async (S, req, f) => {
    const s = orderSteps(S, req, f);
    const r = await asyncLib.auto({
      customer: async () => s.customer(),
      cart: async () => s.cart(),
      inventory: ['cart', async (r) => s.inventory(r)],
      pricing: ['cart', 'customer', async (r) => s.pricing(r)],
      shipping: ['cart', 'customer', async (r) => s.shipping(r)],
      fraud: ['customer', async (r) => s.fraud(r)],
      tax: ['pricing', 'customer', async (r) => s.tax(r)],
      payment: ['pricing', 'shipping', 'tax', 'fraud', async (r) => s.payment(r)],
      order: ['inventory', 'payment', async (r) => s.order(r)],
      notification: ['order', 'customer', async (r) => s.notification(r)],
    });
    return s.result(r);
  },
};
for (const schedule of ['eager', 'stages', 'sequential']) {
  ORDER_IMPLS[`composer-${schedule}`] = async (S, req, f) => {
    const options = { services: S, schedule };
    if (f) options.fetch = f;
    const o = await pc.composeOrder(req, options);
    return {
      orderId: o.orderId,
      status: o.status,
      total: o.total,
      currency: o.currency,
      tax: o.tax,
      shippingCost: o.shipping.cost,
      notificationSent: o.notification.sent,
      calls: o.calls,
    };
  };
}

/** One timed run of the order flow. `f` (a recording fetch) only in untimed verification runs. */
async function order(impl, S, req) {
  const run = ORDER_IMPLS[impl];
  if (!run) throw new Error(`unknown order implementation ${impl}`);
  const t0 = performance.now();
  const result = await run(S, req, undefined);
  const ms = performance.now() - t0;
  return { ms, ...result };
}

const hopsByKey = new Map();

/**
 * Records the requests of one js-staged run (untimed) and keeps those of `names`, in that
 * order, as the fetch chain of `key`: the same URLs, methods, headers and bodies the order
 * flow sends along its critical path.
 */
async function recordChain(key, S, req, names) {
  const seen = [];
  const recording = (url, init) => {
    seen.push({ url, init });
    return fetch(url, init);
  };
  await ORDER_IMPLS['js-staged'](S, req, recording);
  const hops = names.map((name) => {
    const hit = seen.find(({ url }) => url.startsWith(`${S[name]}/`));
    if (!hit) throw new Error(`no request to ${name} was recorded`);
    return hit;
  });
  hopsByKey.set(key, hops);
  return hops.map(({ url, init }) => `${init?.method ?? 'GET'} ${url}`);
}

/**
 * The plain fetch chain: sequential awaits of fetch + json over the recorded hops. Besides
 * its time, each hop's Resource Timing entry (the mock sends Timing-Allow-Origin: *) says
 * where a hop's time goes; those are read after the timed part.
 */
async function chain(key) {
  const hops = hopsByKey.get(key);
  if (!hops) throw new Error(`no chain recorded for ${key}`);
  performance.clearResourceTimings();
  const marks = new Array(hops.length);
  const t0 = performance.now();
  let last;
  for (let i = 0; i < hops.length; i++) {
    const { url, init } = hops[i];
    const called = performance.now();
    const res = await fetch(url, init);
    if (res.status < 200 || res.status > 299) throw new Error(`${url}: HTTP ${res.status}`);
    last = await res.json();
    marks[i] = { called, parsed: performance.now() };
  }
  const ms = performance.now() - t0;
  const entries = performance.getEntriesByType('resource');
  const timing = hops.map(({ url }, i) => {
    const e = entries.filter((x) => x.name === url).at(-1);
    if (!e || !(e.requestStart > 0)) return null;
    return {
      toRequest: e.requestStart - marks[i].called, // fetch() called -> request on the wire (a preflight would be here)
      toResponse: e.responseStart - e.requestStart, // request -> first byte: the service's latency + loopback + the mock
      body: e.responseEnd - e.responseStart,
      toParsed: marks[i].parsed - e.responseEnd, // last byte -> the parsed reply in the page
    };
  });
  return { ms, hops: hops.length, lastReplyKeys: Object.keys(last), timing };
}

// ------------------------------------------------------------------ part P: prefetch

/** What part P reads of an order: part A's figures and, per call, whether the cache served it. */
function prefetchFacts(o) {
  const calls = Object.fromEntries(Object.entries(o.calls).map(([name, c]) => [name, { cached: c.cached, attempts: c.attempts, state: c.state }]));
  return {
    orderId: o.orderId, status: o.status, total: o.total, notificationSent: o.notification.sent, calls,
  };
}

/** One timed cold order: the module's composeOrder(), or a fresh composer's (made before the clock starts). */
async function prefetchCold(impl, S, req) {
  if (impl === 'composeOrder') {
    const t0 = performance.now();
    const o = await pc.composeOrder(req, { services: S });
    return { ms: performance.now() - t0, ...prefetchFacts(o) };
  }
  if (impl !== 'composer-cold') throw new Error(`unknown cold implementation ${impl}`);
  return timedOrder(pc.createComposer({ services: S }), req);
}

/** `composer.composeOrder(req)`, timed to the resolved order; the composer freed after. */
async function timedOrder(composer, req) {
  try {
    const t0 = performance.now();
    const o = await composer.composeOrder(req);
    return { ms: performance.now() - t0, ...prefetchFacts(o) };
  } finally {
    composer.free();
  }
}

let prefetched = null; // the composer prefetchPrepare() filled, waiting for its click

/** Not timed by the target: a fresh composer, and its prefetchOrder(req) awaited (the hover). */
async function prefetchPrepare(S, req) {
  prefetched?.free();
  prefetched = pc.createComposer({ services: S });
  const t0 = performance.now();
  const p = await prefetched.prefetchOrder(req);
  const ms = performance.now() - t0;
  return { ms, calls: Object.fromEntries(Object.entries(p.calls).map(([name, c]) => [name, { state: c.state, attempts: c.attempts }])) };
}

/** The click: composeOrder(req) on the composer prefetchPrepare() filled, timed to the resolved order. */
async function prefetchClick(req) {
  const composer = prefetched;
  if (!composer) throw new Error('prefetchPrepare() first');
  prefetched = null;
  return timedOrder(composer, req);
}

// ------------------------------------------------------------------ part B: engine overhead

let graph = null; // { shape, deps, plan }

/** Builds the part-B plan of a shape in the page (the same seeded generator as the driver). */
function prepareGraph(shape, n, edges, seed) {
  const deps = graphDeps(shape, n, { edges, seed });
  graph = { shape, deps, plan: planOf(deps) };
  return { shape, calls: deps.length, edges: edgeCount(deps), depth: depthOf(deps) };
}

const ENGINE_IMPLS = {
  /** compose(plan, {}, { fetch }): validation, scheduling, records, result object. */
  composer: async (plan, f) => (await pc.compose(plan, {}, { fetch: f })).data,
  /** The same over the plan frozen all the way down, which compose() reads once. */
  'composer-frozen': async (plan, f) => (await pc.compose(frozenCopy(plan), {}, { fetch: f })).data,
  /** async.auto over the same plan: each task names its `after` calls. */
  'async.auto': (plan, f) => {
    const tasks = {};
    for (const [name, call] of Object.entries(plan.calls)) {
      const run = async () => {
        const res = await f(call.url, { method: 'GET', headers: {} });
        if (res.status < 200 || res.status > 299) throw new Error(`${name}: HTTP ${res.status}`);
        return res.json();
      };
      tasks[name] = call.after ? [...call.after, run] : run;
    }
    return asyncLib.auto(tasks);
  },
  /** Hand-written, idiomatic: each call's promise waits on Promise.all of its inputs' promises. */
  'js-promise-all': (plan, f) => {
    const data = {};
    const promises = {};
    const start = (name) => {
      if (!promises[name]) {
        const call = plan.calls[name];
        const inputs = call.after ? Promise.all(call.after.map(start)) : Promise.resolve();
        promises[name] = inputs
          .then(() => f(call.url, { method: 'GET', headers: {} }))
          .then((res) => {
            if (res.status < 200 || res.status > 299) throw new Error(`${name}: HTTP ${res.status}`);
            return res.json();
          })
          .then((value) => {
            data[name] = value;
          });
      }
      return promises[name];
    };
    return Promise.all(Object.keys(plan.calls).map(start)).then(() => data);
  },
  /**
   * js-promise-all with two of the composer's guarantees written by hand (Response only; not
   * a baseline of a target): every request cancellable, by its own AbortController, with
   * one timer per composition that aborts the requests still in flight after 10 s (the
   * composer's default limit, which it also keeps with one timer), and a cap on a reply's
   * bytes (the composer's default 5 MiB) kept while reading: through a stream reader when
   * the reply declares no length. What these guarantees alone cost hand-written code.
   */
  'js-promise-all-guarded': (plan, f) => {
    const live = new Set();
    const timer = setTimeout(() => live.forEach((c) => c.abort()), GUARD_TIMEOUT_MS);
    const get = async (name, url) => {
      const controller = new AbortController();
      live.add(controller);
      try {
        const res = await f(url, { method: 'GET', headers: {}, signal: controller.signal });
        if (res.status < 200 || res.status > 299) throw new Error(`${name}: HTTP ${res.status}`);
        return await cappedJson(res, GUARD_MAX_BYTES);
      } finally {
        live.delete(controller);
      }
    };
    const data = {};
    const promises = {};
    const start = (name) => {
      if (!promises[name]) {
        const call = plan.calls[name];
        const inputs = call.after ? Promise.all(call.after.map(start)) : Promise.resolve();
        promises[name] = inputs
          .then(() => get(name, call.url))
          .then((value) => {
            data[name] = value;
          });
      }
      return promises[name];
    };
    return Promise.all(Object.keys(plan.calls).map(start)).then(
      () => { clearTimeout(timer); return data; },
      (error) => { clearTimeout(timer); throw error; },
    );
  },
  /** Hand-written, event-driven: a count of unfinished inputs per call; start it at zero. */
  'js-counter': (plan, f) => new Promise((resolve, reject) => {
    const names = Object.keys(plan.calls);
    const index = new Map(names.map((name, i) => [name, i]));
    const waiting = new Int32Array(names.length);
    const dependents = names.map(() => []);
    names.forEach((name, i) => {
      const after = plan.calls[name].after;
      if (!after) return;
      waiting[i] = after.length;
      for (const d of after) dependents[index.get(d)].push(i);
    });
    const data = {};
    let left = names.length;
    if (left === 0) resolve(data);
    const start = (i) => {
      const name = names[i];
      f(plan.calls[name].url, { method: 'GET', headers: {} })
        .then((res) => {
          if (res.status < 200 || res.status > 299) throw new Error(`${name}: HTTP ${res.status}`);
          return res.json();
        })
        .then((value) => {
          data[name] = value;
          if (--left === 0) resolve(data);
          for (const j of dependents[i]) if (--waiting[j] === 0) start(j);
        })
        .catch(reject);
    };
    for (let i = 0; i < names.length; i++) if (waiting[i] === 0) start(i);
  }),
};

/** `reps` compositions of the current graph, back to back, over a fetch of `kind`; the time of all of them. */
async function engineSample(impl, kind, reps) {
  const run = ENGINE_IMPLS[impl];
  if (!run || !graph) throw new Error(`unknown engine implementation ${impl}, or no graph prepared`);
  const { plan } = graph;
  const inst = instantFetch(kind);
  let data;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) data = await run(plan, inst.fetch);
  const ms = performance.now() - t0;
  const names = Object.keys(data);
  return {
    ms,
    reps,
    replies: names.length,
    allTheReply: names.every((name) => inst.isReply(data[name])),
    fetchCalls: inst.calls,
  };
}

/**
 * An untimed check of one implementation on the current graph, over a fetch of `kind`
 * (see instantFetch): every call fetched once, and no call fetched before each of its
 * inputs had its reply read (the stub: json() resolved; a real Response: its body read to the end).
 */
async function engineVerify(impl, kind = 'stub') {
  const { plan, deps } = graph;
  const reply = { ok: true };
  const read = new Set();
  const fetched = [];
  const problems = [];
  const byUrl = new Map(Object.entries(plan.calls).map(([name, call], i) => [call.url, i]));
  const f = (url, init) => {
    const i = byUrl.get(url);
    fetched.push(i);
    if (i === undefined) problems.push(`unexpected url ${url}`);
    else if (init?.method !== undefined && init.method !== 'GET') problems.push(`c${i}: method ${init.method}`);
    else for (const d of deps[i]) if (!read.has(d)) problems.push(`c${i} fetched before c${d} was read`);
    if (kind === 'stub') {
      return Promise.resolve({
        status: 200,
        ok: true,
        json: () => Promise.resolve(reply).then((v) => {
          read.add(i);
          return v;
        }),
      });
    }
    // A real Response whose body is a stream of ours: it hands over the bytes on the first
    // read and marks the reply read when the reader asks for more (the end). That sees the
    // read however it is done (json(), text(), a reader on res.body), where a method put on
    // the instance would not.
    const bytes = new TextEncoder().encode(JSON.stringify(reply));
    let sent = false;
    const body = new ReadableStream({
      pull(controller) {
        if (!sent) {
          sent = true;
          controller.enqueue(bytes);
        } else {
          read.add(i);
          controller.close();
        }
      },
    }, { highWaterMark: 0 });
    return Promise.resolve(new Response(body, { status: 200, headers: { 'content-type': 'application/json' } }));
  };
  const isReply = kind === 'stub' ? (v) => v === reply : (v) => v?.ok === true && Object.keys(v).length === 1;
  const data = await ENGINE_IMPLS[impl](plan, f);
  const names = Object.keys(data);
  return {
    replies: names.length,
    allTheReply: names.every((name) => isReply(data[name])),
    fetchCalls: fetched.length,
    distinctFetched: new Set(fetched).size,
    problems: problems.slice(0, 5),
    problemCount: problems.length,
  };
}

// ------------------------------------------------------------------ part C: payload

let keptPayload = null;

const PAYLOAD_IMPLS = {
  composer: async (urls) => {
    const calls = {};
    urls.forEach((url, i) => {
      calls[`b${i}`] = { url };
    });
    const { data } = await pc.compose({ calls }, {});
    return urls.map((_, i) => data[`b${i}`]);
  },
  'js-promise-all': (urls) => Promise.all(urls.map((u) => fetch(u).then((r) => r.json()))),
};

/** One timed run of part C. With `keep`, the replies stay referenced until releasePayload(). */
async function payload(impl, urls, keep) {
  const run = PAYLOAD_IMPLS[impl];
  if (!run) throw new Error(`unknown payload implementation ${impl}`);
  const t0 = performance.now();
  const replies = await run(urls);
  const ms = performance.now() - t0;
  if (keep) keptPayload = replies;
  return {
    ms,
    replies: replies.length,
    rows: replies.map((r) => (Array.isArray(r?.rows) ? r.rows.length : -1)),
    padChars: replies.map((r) => (typeof r?.pad === 'string' ? r.pad.length : -1)),
    wasmMemoryBytes: wasmMemoryBytes(),
  };
}

function releasePayload() {
  keptPayload = null;
}

// ------------------------------------------------------------------ part M: memory

let memoryPlan = null; // { plan, calls }
let memoryDone = 0;

/** The part-M plan: a seeded random graph (the part-B generator), small. */
function memoryPrepare(calls, edges, seed) {
  const deps = graphDeps('random', calls, { edges, seed });
  memoryPlan = { plan: planOf(deps), calls: deps.length };
  memoryDone = 0;
  return { calls: deps.length, edges: edgeCount(deps), depth: depthOf(deps) };
}

/**
 * `count` more compositions of the part-M plan, one after another, each over a fresh
 * instant fetch that gives a new Response per call (so that a reply or a Response kept by
 * mistake would show in the heap). Nothing is kept between calls of this function but the
 * counts it returns.
 */
async function memoryRun(count) {
  if (!memoryPlan) throw new Error('memoryPrepare() first');
  const { plan, calls } = memoryPlan;
  let good = 0;
  let fetches = 0;
  const t0 = performance.now();
  for (let k = 0; k < count; k++) {
    const inst = instantFetch('response');
    const { data } = await pc.compose(plan, {}, { fetch: inst.fetch });
    const names = Object.keys(data);
    if (names.length === calls && names.every((name) => inst.isReply(data[name]))) good++;
    fetches += inst.calls;
  }
  memoryDone += count;
  return { ms: performance.now() - t0, count, good, fetches, done: memoryDone, wasmMemoryBytes: wasmMemoryBytes() };
}

window.bench = {
  setup, order, recordChain, chain, prepareGraph, engineSample, engineVerify, payload, releasePayload, wasmMemoryBytes,
  memoryPrepare, memoryRun, prefetchCold, prefetchPrepare, prefetchClick,
  services: SERVICES,
};
window.benchReady = true;
