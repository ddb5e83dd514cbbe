#!/usr/bin/env node
// Part E of the benchmark (issue 14): parallel-composer as a Node backend-for-frontend.
//
//   node bench/node/bff.mjs            # the full run: throughput, then the Node memory check
//   node bench/node/bff.mjs --smoke    # a handful of compositions per level; nothing judged
//   node bench/node/bff.mjs --only throughput|memory [--port N] [--latency MS] [--rounds N]
//                                      [--cell-ms MS] [--node-pkg DIR] [--out FILE]
//
// Throughput. The mock services run in another process (bench/mock-child.mjs, which closes
// when its stdin ends, so also when this process is killed), with a latency of 0 ms by default, so the CPU cost of composing shows. Five implementations place the same
// order with the same requests: composeOrder() from the nodejs build, and hand-written Node
// code (bench/node/order-js.mjs), staged (Promise.all per stage) and eager (each call starts
// when its inputs are there), and js-staged with the composer's per-request guarantees written
// by hand (js-staged-guarded, not a baseline of the target: what those guarantees cost by
// hand; see order-js.mjs), and js-staged over Node's http module, the client composeOrder()
// itself uses in Node (js-staged-http, not a baseline either). Before anything is timed, one order of each is checked against
// the mock's request log (method, path, query, every header, JSON body; one request per
// service) and against the money rules applied to the replies in that log; any difference
// fails the run. Then, at 1, 16 and 64 compositions in flight (a closed loop: each of N
// workers starts its next composition when its previous one ends), each implementation runs
// for a fixed time per cell (smoke: a fixed count), implementations interleaved round-robin
// (their order rotated each round) over several rounds, the scenario reset and the heap
// collected before each cell. Reported: compositions/s (completed / wall time, the drain of
// the last in-flight compositions included) and CPU time per composition (process.cpuUsage()
// of this process; the mock's CPU is its own process's, reported beside it where /proc has
// it), median over rounds. Target: composer >= 0.95 x the best hand-written version at every
// level.
//
// Memory. bench/node/memory-child.mjs runs 100,000 compositions of compose() (smoke: 2,000)
// in a fresh `node --expose-gc` over an injected fetch that answers at once with a Response,
// and reports the collected JS heap and the wasm linear memory after the first 1,000 and at
// the end. Target: both at the end within 10% of their size after the first 1,000.
//
// Interface (for bench/run.mjs):
//   partE({ smoke, log, ...settings }) -> { entries, memory, targets, sanity, settings, environment }
//   nodeMemory({ smoke, log, ...settings }) -> { after1000, atEnd, compositions, ... }
// Both build the nodejs package when needed, always stop what they start (the mock child also
// on an error or a signal), and bound every wait with a timeout. With `handleSignals: false`
// they install no signal handlers: the caller (bench/run.mjs) handles SIGINT/SIGTERM and
// calls stopAll(), which stops every child this module started and has not seen exit. Nothing is hard-coded but
// the settings' defaults: every figure is measured in the run.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';

import { SERVICES } from '../page/contract.js';
import { ensurePackage } from '../../scripts/ensure-package.mjs';
import { startMockProcess } from '../../scripts/mock-process.mjs';
import { withTimeout } from '../parts/shared.mjs';
import { jsEager, jsStaged, jsStagedGuarded, jsStagedHttp } from './order-js.mjs';

const NODE_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(NODE_DIR, '..', '..');
export const DEFAULT_NODE_PKG = join(ROOT, 'target', 'bench-node', 'pkg');

export const IMPLS = Object.freeze(['composer', 'js-staged', 'js-eager', 'js-staged-guarded', 'js-staged-http']);
// The hand-written versions the target compares with. `js-staged-guarded` is js-staged with
// what the composer gives every request and they do not (cancellable, a time limit, no
// redirects followed, a byte cap), to show what that costs by hand; `js-staged-http` is
// js-staged over Node's http module, the HTTP client composeOrder() uses in Node, to show the
// composer's own cost over the same client.
export const BASELINES = Object.freeze(['js-staged', 'js-eager']);
export const LEVELS = Object.freeze([1, 16, 64]);
export const TARGET_RATIO = 0.95; // composer's compositions/s over the best hand-written version's
export const MEMORY_TARGET = 0.10; // at most 10% above the size after the first 1,000
/** The order every implementation places: a gold customer, so the discount is not 0. */
export const ORDER_REQUEST = Object.freeze({ customerId: 'bff-gold-1', cartId: 'bff-cart-1', paymentMethodId: 'pm_bff', shippingOption: 'express' });

/** The settings of a run; `smoke` changes the defaults, anything given wins. */
export function settingsOf({ smoke = false, ...given } = {}) {
  const defaults = {
    smoke,
    levels: [...LEVELS],
    rounds: smoke ? 1 : 7,
    cellMs: smoke ? null : 1000, // each implementation's time per level per round (7 s over the rounds)
    cellCount: smoke ? (n) => Math.max(8, n) : null, // smoke: compositions per cell
    warmUpMs: smoke ? null : 1500, // per implementation, at the largest level, not measured
    warmUpCount: smoke ? 16 : null,
    latencyMs: 0,
    port: 0, // the mock's base port; 0: any free ports
    nodePkg: null, // a given --target nodejs build, used as it is
    memoryCompositions: smoke ? 2000 : 100_000,
    memoryFirst: 1000,
    handleSignals: true, // false: the caller handles signals and calls stopAll()
  };
  const s = { ...defaults };
  for (const [k, v] of Object.entries(given)) if (v !== undefined && v !== null && k !== 'log') s[k] = v;
  return s;
}

// ------------------------------------------------------------------ small helpers

export { withTimeout }; // hedge.mjs's, from the parts' shared helpers

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d);

/** A forced collection between cells, so that one cell's garbage is not collected on another's time. */
const forceGc = (() => {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc');
    return typeof gc === 'function' ? gc : null;
  } catch {
    return null;
  }
})();

// ------------------------------------------------------------------ the nodejs build


/**
 * The --target nodejs build in `dir` (default target/bench-node/pkg/), built when it is
 * missing or older than the sources, or the build `given` as it is
 * (scripts/ensure-package.mjs).
 */
export function ensureNodeBuild({ dir = DEFAULT_NODE_PKG, given = null, log = () => {} } = {}) {
  return ensurePackage({ target: 'nodejs', dir, given, log });
}

export function loadNodePackage(dir) {
  return createRequire(import.meta.url)(join(dir, 'parallel_composer.js'));
}

// ------------------------------------------------------------------ the mock services

/** Children this module started and has not seen exit yet; killed if this process exits first. */
const children = new Set();
/** The stop functions of those children (each ends its stdin, then signals it). */
const stoppers = new Map();

/** Stops every child this module started that is still running (for a caller's cleanup). */
export async function stopAll() {
  await Promise.all([...children].map((c) => Promise.resolve(stoppers.get(c)?.()).catch(() => c.kill('SIGKILL'))));
}
let exitHookInstalled = false;
function trackChild(child) {
  children.add(child);
  child.once('exit', () => {
    children.delete(child);
    stoppers.delete(child);
  });
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of children) c.kill('SIGKILL');
    });
  }
}

/**
 * While `work` runs, SIGINT and SIGTERM first stop what `stop` stops, then take their usual
 * course (the handlers are removed and the signal raised again).
 */
async function stoppingOnSignals(stop, work, { handleSignals = true } = {}) {
  if (!handleSignals) return work();
  const handlers = {};
  for (const sig of ['SIGINT', 'SIGTERM']) {
    handlers[sig] = () => {
      for (const [s, h] of Object.entries(handlers)) process.removeListener(s, h);
      Promise.resolve(stop()).finally(() => process.kill(process.pid, sig));
    };
    process.on(sig, handlers[sig]);
  }
  try {
    return await work();
  } finally {
    for (const [s, h] of Object.entries(handlers)) process.removeListener(s, h);
  }
}

/**
 * Starts `node bench/mock-child.mjs --port <port>` (scripts/mock-process.mjs: the mock
 * services of mock/services.mjs, closing when its stdin ends); resolves to { config, stop, pid }.
 */
export async function startMock({ port = 0 } = {}) {
  const { config, stop, child } = await startMockProcess('bench/mock-child.mjs', ['--port', String(port)], { closesOnStdin: true, stderrLines: 20 });
  trackChild(child);
  stoppers.set(child, stop);
  const missing = SERVICES.filter((s) => !config.services?.[s]);
  if (missing.length) {
    await stop();
    throw new Error(`the mock printed no URL for ${missing.join(', ')}: ${JSON.stringify(config)}`);
  }
  return { config, stop, pid: child.pid };
}

export async function admin(mock, method, path, body) {
  const res = await fetch(`${mock.adminUrl}${path}`, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Resets the scenario (state, log, ids) and sets its latency. */
async function freshScenario(mock, scenario, latencyMs) {
  await admin(mock, 'DELETE', `/scenarios/${scenario}`);
  const cfg = await admin(mock, 'PUT', `/scenarios/${scenario}`, { defaultLatency: latencyMs, latency: {} });
  if (cfg.defaultLatency !== latencyMs) throw new Error(`the mock set defaultLatency ${cfg.defaultLatency}, not ${latencyMs}`);
}

export const servicesIn = (mock, scenario) => Object.fromEntries(SERVICES.map((s) => [s, `${mock.services[s]}/s/${scenario}`]));

/** CLK_TCK for /proc/<pid>/stat, or null where there is no getconf. */
const CLOCK_TICKS = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 });
  const n = Number(r.stdout?.trim());
  return r.status === 0 && n > 0 ? n : null;
})();

/** CPU time (ms) a process has used so far, from /proc (Linux); null where it is not readable. */
function processCpuMs(pid) {
  if (!CLOCK_TICKS || !pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // after "pid (comm) "
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1000; // utime + stime
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------ the implementations

function implementations(pc) {
  return {
    composer: async (S, req) => {
      const o = await pc.composeOrder(req, { services: S });
      return { orderId: o.orderId, status: o.status, total: o.total, currency: o.currency, tax: o.tax, shippingCost: o.shipping.cost, notificationSent: o.notification.sent };
    },
    'js-staged': (S, req) => jsStaged(S, req),
    'js-eager': (S, req) => jsEager(S, req),
    'js-staged-guarded': (S, req) => jsStagedGuarded(S, req),
    'js-staged-http': (S, req) => jsStagedHttp(S, req),
  };
}

// ------------------------------------------------------------------ the sanity check

// Headers an HTTP client adds on its own, whatever the code asked: Node's fetch sends accept,
// accept-language, accept-encoding, sec-fetch-mode and user-agent with every request, its http
// module (which composeOrder uses in Node, js/fetch-call.js) none of them; both send the
// connection's own (host, connection, content-length).
const CLIENT_HEADERS = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding',
  'accept', 'accept-language', 'accept-encoding', 'sec-fetch-mode', 'user-agent']);

/**
 * What each service received in a scenario's log, comparable across implementations: method,
 * path, query, every header the code set (an Idempotency-Key's value by its shape: each is
 * random; not CLIENT_HEADERS), the JSON body with the mock's ids (res-3, auth-5, ...) made
 * generic.
 */
function requestsFromLog(entries) {
  const generic = (v) => JSON.parse(JSON.stringify(v ?? null), (k, x) => (typeof x === 'string' && /^(res|auth|ord|ntf)-\d+$/.test(x) ? x.replace(/\d+$/, 'N') : x));
  const out = {};
  for (const e of entries) {
    const headers = Object.fromEntries(Object.entries(e.headers).filter(([name]) => !CLIENT_HEADERS.has(name)));
    if ('idempotency-key' in headers) headers['idempotency-key'] = `<${String(headers['idempotency-key']).replace(/[0-9a-f]/g, 'x')}>`;
    (out[e.service] ??= []).push({ method: e.method, path: e.path, query: e.query, headers, body: generic(e.body) });
  }
  return out;
}

/** What differs between two services' lists of requests (from requestsFromLog), briefly. */
function requestDiff(mine, theirs) {
  if (mine?.length !== 1 || theirs?.length !== 1) return `${mine?.length ?? 0} requests vs composer's ${theirs?.length ?? 0}`;
  const [a, b] = [mine[0], theirs[0]];
  const out = [];
  for (const k of ['method', 'path', 'query', 'body']) {
    if (!isDeepStrictEqual(a[k], b[k])) out.push(`${k} ${JSON.stringify(a[k])} vs composer's ${JSON.stringify(b[k])}`);
  }
  for (const h of new Set([...Object.keys(a.headers), ...Object.keys(b.headers)])) {
    if (a.headers[h] !== b.headers[h]) out.push(`header ${h}: ${JSON.stringify(a.headers[h] ?? null)} vs composer's ${JSON.stringify(b.headers[h] ?? null)}`);
  }
  return out.join(', ');
}

/** The outcome the money rules give from the replies in the log (README.md, composeOrder). */
export function expectedFromLog(entries) {
  const reply = (s) => entries.find((e) => e.service === s)?.reply?.body;
  const [pricing, shipping, tax, order] = ['pricing', 'shipping', 'tax', 'order'].map(reply);
  if (!pricing || !shipping || !tax || !order) return null;
  return {
    orderId: order.orderId,
    status: order.status,
    total: pricing.subtotal - pricing.discount + shipping.cost + tax.amount,
    currency: pricing.currency,
    tax: tax.amount,
    shippingCost: shipping.cost,
    notificationSent: true,
  };
}

/**
 * One order of each implementation, each in a fresh scenario, judged by the mock's log: one
 * request per service, the same requests as composeOrder's, the result the money rules give.
 * Returns the checks; the caller fails the run when one failed.
 */
async function sanityCheck(mock, impls, scenario, latencyMs, log) {
  const checks = [];
  const check = (name, ok, detail = '') => {
    checks.push({ name, ok: Boolean(ok), detail: ok ? '' : detail });
    log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}${ok || !detail ? '' : `: ${detail}`}`);
  };
  let reference = null;
  for (const impl of IMPLS) {
    await freshScenario(mock, scenario, latencyMs);
    let result;
    try {
      result = await withTimeout(impls[impl](servicesIn(mock, scenario), ORDER_REQUEST), 30_000, `one ${impl} order`);
    } catch (err) {
      check(`${impl}: places the order`, false, String(err?.message ?? err));
      continue;
    }
    const entries = await admin(mock, 'GET', `/log?scenario=${scenario}`);
    const open = entries.filter((e) => e.status === null);
    check(`${impl}: every request answered by the time the composition resolved`, open.length === 0, `${open.length} still open`);
    const sent = requestsFromLog(entries);
    const oneEach = SERVICES.every((s) => sent[s]?.length === 1) && Object.keys(sent).length === SERVICES.length;
    check(`${impl}: one request per service (${SERVICES.length})`, oneEach, JSON.stringify(Object.fromEntries(Object.entries(sent).map(([k, v]) => [k, v.length]))));
    const expected = expectedFromLog(entries);
    check(`${impl}: the result the money rules give from the replies in the log`, expected && isDeepStrictEqual(result, expected),
      JSON.stringify({ result, expected }));
    if (impl === 'composer') {
      reference = sent;
      continue;
    }
    if (!reference) {
      check(`${impl}: the same requests as composeOrder`, false, 'no composeOrder reference (its order failed)');
      continue;
    }
    const diff = SERVICES.filter((s) => !isDeepStrictEqual(sent[s], reference[s]));
    check(`${impl}: the same requests as composeOrder (method, path, query, headers, JSON bodies)`, diff.length === 0,
      diff.map((s) => `${s}: ${requestDiff(sent[s], reference[s])}`).join('; '));
  }
  return checks;
}

// ------------------------------------------------------------------ the closed loop

/**
 * `inflight` workers, each starting its next composition when its previous one ends, until
 * `ms` have passed (or `count` compositions have started). Any failure stops the cell and is
 * thrown after the in-flight ones end. Returns the completed count, wall and CPU time.
 */
async function closedLoop(run, { inflight, ms = null, count = null, mockPid = null }) {
  let started = 0;
  let completed = 0;
  let stop = false;
  let failure = null;
  const worker = async () => {
    while (!stop && (count === null || started < count)) {
      started++;
      try {
        await run();
        completed++;
      } catch (err) {
        failure ??= err;
        stop = true;
      }
    }
  };
  const mock0 = processCpuMs(mockPid);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const timer = ms === null ? null : setTimeout(() => {
    stop = true;
  }, ms);
  try {
    // Generous: the time asked for, then a minute for the in-flight compositions to end.
    const limit = (ms ?? 0) + (count === null ? 0 : count * 1000) + 60_000;
    await withTimeout(Promise.all(Array.from({ length: inflight }, worker)), limit, `${inflight} compositions in flight`);
  } finally {
    stop = true;
    clearTimeout(timer);
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const mock1 = processCpuMs(mockPid);
  if (failure) throw failure;
  return { compositions: completed, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, mockCpuMs: mock0 === null || mock1 === null ? null : mock1 - mock0 };
}

// ------------------------------------------------------------------ part E: throughput

/**
 * Part E: compositions/s and CPU per composition of the three implementations at each level,
 * then the Node memory check. See the file's head.
 */
export async function partE({ smoke = false, log = console.log, ...given } = {}) {
  const settings = settingsOf({ smoke, ...given });
  const build = await ensureNodeBuild({ given: settings.nodePkg, log });
  const env = environment(build);
  const throughput = await throughputRun(settings, build, log);
  const memory = settings.memoryCompositions > 0 ? await nodeMemory({ smoke, log, ...given, nodePkg: build.dir }) : null;
  const targets = [...throughput.targets];
  if (memory) targets.push(...memory.targets);
  env.loadAverageAtEnd = loadavg().map((x) => round(x, 2)); // the machine may be shared
  return {
    entries: throughput.entries,
    memory,
    targets,
    sanity: throughput.sanity,
    settings: { ...publicSettings(settings), mockAdminUrl: throughput.mockAdminUrl },
    environment: env,
  };
}

function publicSettings(s) {
  return {
    smoke: s.smoke, levels: s.levels, rounds: s.rounds, cellMs: s.cellMs, cellCount: s.cellCount ? s.levels.map((n) => s.cellCount(n)) : null,
    warmUpMs: s.warmUpMs, warmUpCount: s.warmUpCount, latencyMs: s.latencyMs, memoryCompositions: s.memoryCompositions, memoryFirst: s.memoryFirst,
    gcBetweenCells: Boolean(forceGc),
  };
}

function environment(build) {
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpuModel: cpu[0]?.model?.trim() ?? 'unknown',
    cores: availableParallelism?.() ?? cpu.length,
    loadAverageAtStart: loadavg().map((x) => round(x, 2)),
    pkg: build,
  };
}

async function throughputRun(settings, build, log) {
  const pc = loadNodePackage(build.dir);
  const impls = implementations(pc);
  const scenario = `bff-${process.pid}`;
  const mock = await startMock({ port: settings.port });
  return stoppingOnSignals(mock.stop, async () => {
    try {
      const { config } = mock;
      log(`E. Node BFF throughput: mock services in process ${mock.pid} (admin ${config.adminUrl}), latency ${settings.latencyMs} ms; package ${relative(ROOT, build.dir) || build.dir}${build.built ? ' (built now)' : ''}`);
      log('  sanity check: one order each, judged by the mock\'s log');
      const sanity = await sanityCheck(config, impls, scenario, settings.latencyMs, log);
      const failed = sanity.filter((c) => !c.ok);
      if (failed.length) {
        const err = new Error(`sanity check failed: ${failed.map((c) => `${c.name}${c.detail ? ` (${c.detail})` : ''}`).join('; ')}`);
        err.sanity = sanity;
        throw err;
      }
      const S = servicesIn(config, scenario);
      const runOf = (impl) => () => impls[impl](S, ORDER_REQUEST);
      const top = Math.max(...settings.levels);

      // Warm-up (not measured): every implementation at the largest level.
      for (const impl of IMPLS) {
        await freshScenario(config, scenario, settings.latencyMs);
        const w = await closedLoop(runOf(impl), { inflight: top, ms: settings.warmUpMs, count: settings.warmUpCount });
        log(`  warm-up ${impl}: ${w.compositions} compositions at ${top} in flight (not measured)`);
      }

      const cells = []; // { round, level, impl, ...closedLoop }
      for (let r = 0; r < settings.rounds; r++) {
        const order = IMPLS.map((_, i) => IMPLS[(i + r) % IMPLS.length]); // rotated each round
        for (const level of settings.levels) {
          for (const impl of order) {
            await freshScenario(config, scenario, settings.latencyMs);
            forceGc?.();
            const c = await closedLoop(runOf(impl), {
              inflight: level, ms: settings.cellMs, count: settings.cellCount ? settings.cellCount(level) : null, mockPid: mock.pid,
            });
            cells.push({ round: r, level, impl, ...c });
          }
        }
        log(`  round ${r + 1}/${settings.rounds}: ${settings.levels.map((level) => `${level} in flight ${IMPLS.map((impl) => {
          const c = cells.find((x) => x.round === r && x.level === level && x.impl === impl);
          return `${impl} ${Math.round((c.compositions * 1000) / c.wallMs)}/s`;
        }).join(', ')}`).join('; ')}`);
      }
      return { ...summarize(cells, settings), sanity, mockAdminUrl: config.adminUrl };
    } finally {
      await mock.stop();
    }
  }, settings);
}

function summarize(cells, settings) {
  const entries = [];
  const targets = [];
  for (const level of settings.levels) {
    const scenario = `inflight-${level}`;
    const byImpl = {};
    for (const impl of IMPLS) {
      const mine = cells.filter((c) => c.level === level && c.impl === impl);
      const perRound = mine.map((c) => ({
        compositions: c.compositions,
        wallMs: round(c.wallMs, 1),
        compositionsPerSec: round((c.compositions * 1000) / c.wallMs, 1),
        cpuMsPerComposition: round(c.cpuMs / c.compositions, 4),
        mockCpuMsPerComposition: c.mockCpuMs === null ? null : round(c.mockCpuMs / c.compositions, 4),
      }));
      const mockCpu = perRound.map((p) => p.mockCpuMsPerComposition).filter((x) => x !== null);
      const e = {
        part: 'E',
        scenario,
        impl,
        inflight: level,
        runs: mine.length,
        compositions: mine.reduce((sum, c) => sum + c.compositions, 0),
        compositionsPerSec: round(median(perRound.map((p) => p.compositionsPerSec)), 1),
        cpuMsPerComposition: round(median(perRound.map((p) => p.cpuMsPerComposition)), 4),
        // CPU of this process per wall second: 1.0 is one core busy the whole time.
        cpuCoresBusy: round(median(mine.map((c) => c.cpuMs / c.wallMs)), 3),
        mockCpuMsPerComposition: mockCpu.length ? round(median(mockCpu), 4) : null,
        perRound,
      };
      byImpl[impl] = e;
      entries.push(e);
    }
    const js = BASELINES.map((i) => byImpl[i]);
    const best = js.reduce((a, b) => (b.compositionsPerSec > a.compositionsPerSec ? b : a));
    const composer = byImpl.composer;
    const ratio = composer.compositionsPerSec / best.compositionsPerSec;
    // The same, paired per round (each round's composer cell over that round's best hand-written cell).
    const rounds = [...new Set(cells.map((c) => c.round))];
    const cps = (c) => (c.compositions * 1000) / c.wallMs;
    const paired = median(rounds.map((r) => {
      const inRound = cells.filter((c) => c.round === r && c.level === level);
      const comp = inRound.find((c) => c.impl === 'composer');
      return cps(comp) / Math.max(...inRound.filter((c) => BASELINES.includes(c.impl)).map(cps));
    }));
    composer.bestJs = best.impl;
    composer.ratioToBestJs = round(ratio, 3);
    composer.pairedRatioToBestJs = round(paired, 3);
    composer.cpuRatioToBestJs = round(composer.cpuMsPerComposition / best.cpuMsPerComposition, 3);
    targets.push({
      part: 'E',
      name: `${scenario}: composer's compositions/s >= ${TARGET_RATIO} x the best hand-written version's (${best.impl})`,
      scenario,
      measured: round(ratio, 3),
      pairedPerRound: round(paired, 3),
      limit: TARGET_RATIO,
      detail: `${composer.compositionsPerSec} vs ${best.compositionsPerSec} compositions/s; CPU ${composer.cpuMsPerComposition} vs ${best.cpuMsPerComposition} ms per composition`,
      met: settings.smoke ? null : ratio >= TARGET_RATIO,
    });
  }
  return { entries, targets };
}

// ------------------------------------------------------------------ the Node memory check

/**
 * 100,000 compositions of compose() (smoke: 2,000) in a fresh `node --expose-gc` over an
 * injected fetch; the collected JS heap and the wasm memory after the first 1,000 and at the end.
 */
export async function nodeMemory({ smoke = false, log = console.log, ...given } = {}) {
  const settings = settingsOf({ smoke, ...given });
  const build = await ensureNodeBuild({ given: settings.nodePkg, log });
  const n = settings.memoryCompositions;
  log(`E. Node memory: ${n} compositions of compose() over an injected fetch, in a fresh node --expose-gc`);
  const child = spawn(process.execPath, ['--expose-gc', join(NODE_DIR, 'memory-child.mjs'), '--pkg', build.dir,
    '--compositions', String(n), '--first', String(settings.memoryFirst), '--exit-on-stdin-end'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  trackChild(child);
  child.stdin.on('error', () => {}); // EPIPE once the child is gone
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  stoppers.set(child, stop);
  return stoppingOnSignals(stop, async () => {
    let out = '';
    const err = [];
    child.stdout.on('data', (d) => {
      out += d;
    });
    createInterface({ input: child.stderr }).on('line', (l) => {
      err.push(l);
      if (/^\s*memory: /.test(l)) log(l);
    });
    try {
      // Generous: a composition takes well under a millisecond; allow 5 ms each plus a minute.
      const code = await withTimeout(new Promise((done, failed) => {
        child.once('exit', (c, sig) => done(c ?? sig));
        child.once('error', failed);
      }), n * 5 + 60_000, `${n} compositions in the memory child`);
      if (code !== 0) throw new Error(`the memory child failed (${code}): ${err.slice(-10).join(' / ')}`);
    } finally {
      stop();
    }
    const r = JSON.parse(out.trim().split('\n').at(-1));
    if (r.compositions !== n) throw new Error(`the memory child ran ${r.compositions} compositions, not ${n}`);
    const heapRatio = r.atEnd.heapBytes / r.after1000.heapBytes;
    const wasmRatio = r.atEnd.wasmBytes / r.after1000.wasmBytes;
    const judged = !smoke;
    const targets = [
      { part: 'E', name: `Node memory: JS heap after ${n} compositions within ${MEMORY_TARGET * 100}% of its size after the first ${r.first}`, scenario: 'node-memory-heap', measured: round(heapRatio, 4), limit: 1 + MEMORY_TARGET, met: judged ? heapRatio <= 1 + MEMORY_TARGET : null, detail: `${r.atEnd.heapBytes} vs ${r.after1000.heapBytes} bytes` },
      { part: 'E', name: `Node memory: wasm linear memory after ${n} compositions within ${MEMORY_TARGET * 100}% of its size after the first ${r.first}`, scenario: 'node-memory-wasm', measured: round(wasmRatio, 4), limit: 1 + MEMORY_TARGET, met: judged ? wasmRatio <= 1 + MEMORY_TARGET : null, detail: `${r.atEnd.wasmBytes} vs ${r.after1000.wasmBytes} bytes` },
    ];
    return {
      compositions: r.compositions,
      first: r.first,
      after1000: r.after1000,
      atEnd: r.atEnd,
      before: r.before,
      heapRatio: round(heapRatio, 4),
      wasmRatio: round(wasmRatio, 4),
      samples: r.samples,
      ms: round(r.ms, 1),
      targets,
    };
  }, settings);
}

// ------------------------------------------------------------------ the command line

function table(head, rows) {
  const cells = [head, ...rows].map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const width = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i < 2 ? c.padEnd(width[i]) : c.padStart(width[i]))).join('  ');
  return [line(cells[0]), width.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function report(result, log = console.log) {
  const { entries, memory, targets } = result;
  if (entries?.length) {
    log('');
    log(table(['scenario', 'impl', 'runs', 'compositions/s', 'CPU ms/comp', 'cores busy', 'mock CPU ms/comp', 'x best JS (paired)'],
      entries.map((e) => [e.scenario, e.impl, e.runs, e.compositionsPerSec, e.cpuMsPerComposition, e.cpuCoresBusy, e.mockCpuMsPerComposition,
        e.ratioToBestJs === undefined ? '' : `${e.ratioToBestJs} (${e.pairedRatioToBestJs})`])));
  }
  if (memory) {
    const mib = (b) => `${(b / 1048576).toFixed(2)} MiB`;
    log('');
    log(`Node memory, ${memory.compositions} compositions of compose(): JS heap ${mib(memory.after1000.heapBytes)} after ${memory.first}, ${mib(memory.atEnd.heapBytes)} at the end (x${memory.heapRatio}); wasm memory ${mib(memory.after1000.wasmBytes)} -> ${mib(memory.atEnd.wasmBytes)} (x${memory.wasmRatio}); ${(memory.ms / 1000).toFixed(1)} s`);
  }
  if (targets?.length) {
    log('');
    for (const t of targets) log(`  ${t.met === null ? 'not judged' : t.met ? 'met   ' : 'MISSED'}  ${t.name}: ${t.measured}${t.pairedPerRound !== undefined ? ` (paired per round ${t.pairedPerRound})` : ''} (limit ${t.limit}); ${t.detail}`);
  }
}

function parseCli(argv) {
  const o = { smoke: false, only: null, out: null };
  const num = (a, v, min = 0) => {
    const n = Number(v);
    if (v === undefined || v === '' || !Number.isSafeInteger(n) || n < min) throw new Error(`${a} expects an integer >= ${min}, got "${v}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => argv[++i];
    if (a === '--smoke') o.smoke = true;
    else if (a === '--only') {
      o.only = value();
      if (!['throughput', 'memory'].includes(o.only)) throw new Error('--only takes throughput or memory');
    } else if (a === '--port') o.port = num(a, value());
    else if (a === '--latency') o.latencyMs = num(a, value());
    else if (a === '--rounds') o.rounds = num(a, value(), 1);
    else if (a === '--cell-ms') o.cellMs = num(a, value(), 1);
    else if (a === '--memory-compositions') o.memoryCompositions = num(a, value(), 1);
    else if (a === '--node-pkg') o.nodePkg = resolve(value() ?? '');
    else if (a === '--out') o.out = resolve(value() ?? '');
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (o.cellMs !== undefined && o.smoke) throw new Error('--cell-ms is for a timed run; --smoke runs a fixed count per cell');
  return o;
}

async function main() {
  let o;
  try {
    o = parseCli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bff: ${err.message}\nusage: node bench/node/bff.mjs [--smoke] [--only throughput|memory] [--port N] [--latency MS] [--rounds N] [--cell-ms MS] [--memory-compositions N] [--node-pkg DIR] [--out FILE]\n`);
    return 2;
  }
  if (o.help) {
    process.stdout.write('usage: node bench/node/bff.mjs [--smoke] [--only throughput|memory] [--port N] [--latency MS] [--rounds N] [--cell-ms MS] [--memory-compositions N] [--node-pkg DIR] [--out FILE]\n');
    return 0;
  }
  const { only, out, help, ...given } = o;
  const log = (line = '') => process.stdout.write(`${line}\n`);
  const t0 = performance.now();
  let result;
  try {
    if (only === 'memory') {
      const memory = await nodeMemory({ log, ...given });
      result = { entries: [], memory, targets: memory.targets };
    } else {
      result = await partE({ log, ...given, ...(only === 'throughput' ? { memoryCompositions: 0 } : {}) });
    }
  } catch (err) {
    process.stderr.write(`bff: ${err?.stack ?? err}\n`);
    return 1;
  }
  report(result, log);
  const file = out ?? join(ROOT, 'target', 'bench-node', given.smoke ? 'smoke-results.json' : 'results.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ ...result, ms: round(performance.now() - t0, 0) }, null, 2)}\n`);
  log(`\nbff: ${relative(ROOT, file)} written; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
