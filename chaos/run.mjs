#!/usr/bin/env node
// The chaos run (issue 12): thousands of composeOrder() calls through random faults, in Node
// and in one Chromium page, judged afterwards by the mock services' own state and log.
//
//   npm run chaos                      # = bash scripts/setup.sh && node chaos/run.mjs
//   npm run chaos -- --docs            # also rewrites the table in docs/reliability.md
//   node chaos/run.mjs --smoke         # what npm test runs: 200 orders in Node, 100 in Chromium, load 500
//   node chaos/run.mjs --seed 7 --orders 600 --runtimes node
//   npm run chaos:composer             # = node chaos/run.mjs --composer: the same, through one composer
//   node chaos/run.mjs --composer --orders 100 --runtimes node --load 0   # its short smoke, by hand
//
// The composer mode (--composer; not in npm test): each runtime's callers place every order
// through one createComposer() (composerOptions() below: a 300 ms reply cache of customer,
// cart and the three quotes, circuit breakers per origin, hedged reads), as a portal keeps one
// per page, and half of the orders draw their customer and cart from 8 ids, so that the cache
// finds requests again. The judge holds its records to the same eight invariants: a cached
// call sent nothing and its reply is one the services gave another composition for the same
// request within maxAgeMs (the money is checked against it); a hedged read may have two
// requests per attempt and hedgeWon names the one used; a call refused with CIRCUIT_OPEN sent
// nothing and fails the composition only when it is required. Its results go to
// target/chaos/composer-results.json (never chaos/results.json, nor --docs's table); the
// load check stays the module-level composeOrder()'s.
//
// What happens: the mock services start in a child process (node mock/cli.mjs --port 0), so
// their CPU is not the composer's; each runtime gets a scenario of its own (chaos-node,
// chaos-chromium) with latency jitter and a seeded random fault on a share of the requests;
// after a warm-up that is not judged, the callers of chaos/caller.js (the same module in Node
// and in the page) place the orders, `--concurrency` at a time, some aborting, each
// resubmitting once under the same operationId when told to; then chaos/judge.mjs checks the
// eight invariants from GET /log and GET /scenarios/<id>/state. The load check starts `--load`
// compositions at once in the page.
//
// Honesty rules this file keeps (as bench/run.mjs does): nothing is hard-coded but the
// defaults; no sleep stands in for a condition; every wait has a timeout; the browser, the
// static server and the mock are always stopped.
//
// Output: the table on stdout; JSON results (--out); a last line
// "chaos: N discrepancies in M orders, E errors". The exit status is non-zero when N or E is.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

import { chromium } from 'playwright-core';
import { startStaticServer } from '../scripts/serve.mjs';
import { CHROMIUM_ARGS } from '../tests/e2e/helpers.mjs';
import { ensurePackage } from '../scripts/ensure-package.mjs';
import { startMockProcess } from '../scripts/mock-process.mjs';
import { runCallers, warmUp } from './caller.js';
import { judgeRun, judgeLoad, traceOf, INVARIANTS, SETTLE_SLACK_MS } from './judge.mjs';
import { report } from './table.mjs';

const CHAOS_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(CHAOS_DIR, '..');
const DEFAULT_WEB_PKG = join(ROOT, 'pkg');
const DEFAULT_NODE_PKG = join(ROOT, 'target', 'chaos', 'node');
const DOCS = join(ROOT, 'docs', 'reliability.md');
const MARK_START = '<!-- chaos:start -->';
const MARK_END = '<!-- chaos:end -->';
const RUNTIMES = ['node', 'chromium'];

// ------------------------------------------------------------------ options

function usage() {
  return `usage: node chaos/run.mjs [--smoke] [--docs] [options]

  --orders N          composeOrder() calls per runtime (default 2000; --smoke: 200 in Node,
                      100 in Chromium); also node=N,chromium=M
  --concurrency N     orders in flight per runtime (default 32)
  --seed N            the callers' and the faults' seed (default 1)
  --fault-rate R      share of the services' requests that get a random fault (default 0.2)
  --jitter MS         each reply waits a further uniform 0..MS (default 300)
  --deadline MS       every composition's deadlineMs (default 2000)
  --timeout MS        every call's timeoutMs (default 1000)
  --abort-rate R      share of callers that abort at a random moment within the deadline (default 0.05)
  --runtimes LIST     node,chromium (default both), one of them, or none (the load check only)
  --load N            compositions started at once in one page for the load check (default 500; 0: none)
  --load-limit N      their maxConcurrencyPerOrigin (default 4)
  --load-latency MS   each service's latency in the load check (default 5; no faults there)
  --out FILE          JSON results (default chaos/results.json; --smoke: target/chaos/smoke-results.json;
                      a run with other settings: target/chaos/results.json)
  --web-pkg DIR       run this --target web build as it is (default: pkg/, rebuilt when older than src/)
  --node-pkg DIR      run this --target nodejs build as it is (default: target/chaos/node/, likewise)
  --raw DIR           also write each runtime's callers' records, log and state to DIR (large)
  --composer          the composer mode: each runtime's orders go through one createComposer()
                      (reply cache, circuit breakers, hedged reads: composerOptions() here), and
                      ${Math.round(POOL.share * 100)}% of them reuse ${POOL.size} customer and cart ids; results in
                      target/chaos/composer-results.json unless --out
  --hedge-after MS    the composer mode's hedge.afterMs (default 250: most replies come within
                      the 0-300 ms jitter, a hang or a slow body does not)
  --breaker-failures N  the composer mode's breaker.failures (default 3: at 5, runs of 5 failures
                      in a row at one origin are so rare at a 20% fault rate that 400 orders in
                      Node opened no circuit)
  --docs              rewrite docs/reliability.md between ${MARK_START} and ${MARK_END}
  --smoke             the short run of npm test (with --composer: the same sizes, by hand only)
`;
}

/**
 * The composer mode's sharing: this share of the orders draw their customer and cart from
 * `size` ids (chaos/caller.js, drawOrder), so that the cache's customer and cart entries are
 * found again within their maxAgeMs; the quotes' requests repeat anyway (their bodies are the
 * cart's items and the customer's tier and address, which few ids share).
 */
const POOL = Object.freeze({ share: 0.5, size: 8 });

/**
 * The composer of the composer mode, as createComposer() takes it (chaos/caller.js adds the
 * services). Short cache lifetimes, so that entries both serve and expire during the run; a
 * breaker that opens on a run of --breaker-failures failures in 2 s (the 20% faults make
 * such runs now and then) and lets a probe through after 500 ms; hedges within a 10% budget.
 */
function composerOptions(o) {
  const fresh = { maxAgeMs: 300 };
  return {
    cache: { customer: fresh, cart: fresh, pricing: fresh, shipping: fresh, tax: fresh },
    breaker: { failures: o.breakerFailures, windowMs: 2000, cooldownMs: 500 },
    hedge: { afterMs: o.hedgeAfter, maxExtraPercent: 10 },
  };
}

function parseArgs(argv) {
  const o = {
    smoke: false, docs: false, orders: null, concurrency: 32, seed: 1, faultRate: 0.2, jitter: 300,
    deadline: 2000, timeout: 1000, abortRate: 0.05, runtimes: RUNTIMES, load: 500, loadLimit: 4, loadLatency: 5, out: null, raw: null, webPkg: null, nodePkg: null,
    composer: false, hedgeAfter: 250, breakerFailures: 3,
  };
  const number = (a, v, { integer = true, min = 0, max = Infinity } = {}) => {
    const n = Number(v);
    if (!(v !== '' && Number.isFinite(n) && (!integer || Number.isInteger(n)) && n >= min && n <= max)) {
      throw new Error(`${a} expects ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${v}"`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--smoke') o.smoke = true;
    else if (a === '--docs') o.docs = true;
    else if (a === '--composer') o.composer = true;
    else if (a === '--hedge-after') o.hedgeAfter = number(a, value(), { min: 1, max: 600000 });
    else if (a === '--breaker-failures') o.breakerFailures = number(a, value(), { min: 1, max: 1000 });
    else if (a === '--orders') {
      const v = value();
      o.orders = /^\d+$/.test(v) ? Object.fromEntries(RUNTIMES.map((r) => [r, number(a, v, { min: 1 })]))
        : Object.fromEntries(v.split(',').map((pair) => {
          const [r, n] = pair.split('=');
          if (!RUNTIMES.includes(r)) throw new Error(`--orders: unknown runtime "${r}" (known: ${RUNTIMES.join(', ')})`);
          return [r, number(a, n, { min: 1 })];
        }));
    } else if (a === '--concurrency') o.concurrency = number(a, value(), { min: 1, max: 10000 });
    else if (a === '--seed') o.seed = number(a, value(), { max: Number.MAX_SAFE_INTEGER });
    else if (a === '--fault-rate') o.faultRate = number(a, value(), { integer: false, max: 1 });
    else if (a === '--jitter') o.jitter = number(a, value(), { max: 60000 });
    else if (a === '--deadline') o.deadline = number(a, value(), { min: 1, max: 600000 });
    else if (a === '--timeout') o.timeout = number(a, value(), { min: 1, max: 600000 });
    else if (a === '--abort-rate') o.abortRate = number(a, value(), { integer: false, max: 1 });
    else if (a === '--runtimes') {
      const v = value();
      o.runtimes = v === 'none' ? [] : v.split(',').filter(Boolean);
      const bad = o.runtimes.find((r) => !RUNTIMES.includes(r));
      if (bad || (o.runtimes.length === 0 && v !== 'none')) throw new Error(`--runtimes takes ${RUNTIMES.join(',')}, one of them, or none (the load check only)`);
    } else if (a === '--load') o.load = number(a, value(), { max: 100000 });
    else if (a === '--load-limit') o.loadLimit = number(a, value(), { min: 1, max: 1000000 });
    else if (a === '--load-latency') o.loadLatency = number(a, value(), { max: 60000 });
    else if (a === '--out') o.out = resolve(value());
    else if (a === '--raw') o.raw = resolve(value());
    else if (a === '--web-pkg') o.webPkg = resolve(value());
    else if (a === '--node-pkg') o.nodePkg = resolve(value());
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  const defaultOrders = o.smoke ? { node: 200, chromium: 100 } : { node: 2000, chromium: 2000 };
  o.orders = { ...defaultOrders, ...(o.orders ?? {}) };
  return o;
}

let OPTS;
try {
  OPTS = parseArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`chaos: ${err.message}\n${usage()}`);
  process.exit(2);
}
if (OPTS.help) {
  process.stdout.write(usage());
  process.exit(0);
}

const WEB_PKG = OPTS.webPkg ?? DEFAULT_WEB_PKG;
const NODE_PKG = OPTS.nodePkg ?? DEFAULT_NODE_PKG;

// A full run is the issue's: every default, both runtimes. Only it goes to chaos/results.json.
const DEFAULTS = parseArgs([]);
const SETTINGS = ['orders', 'concurrency', 'seed', 'faultRate', 'jitter', 'deadline', 'timeout', 'abortRate', 'runtimes', 'load', 'loadLimit', 'loadLatency', 'webPkg', 'nodePkg', 'composer'];
const FULL = !OPTS.smoke && SETTINGS.every((k) => JSON.stringify(OPTS[k]) === JSON.stringify(DEFAULTS[k]));
if (OPTS.docs && !FULL) {
  process.stderr.write('chaos: --docs records the full run of the issue: every setting at its default (--out and --raw aside), the builds of the working tree, no --composer\n');
  process.exit(2);
}
// The composer mode's files are its own: a composer run never overwrites the module-level run's.
const MODE = OPTS.composer ? 'composer-' : '';
const OUT = OPTS.out ?? (OPTS.smoke ? join(ROOT, 'target', 'chaos', `${MODE}smoke-results.json`)
  : FULL ? join(CHAOS_DIR, 'results.json') : join(ROOT, 'target', 'chaos', `${MODE}results.json`));
const EVIDENCE_FILE = join(ROOT, 'target', 'chaos', `${MODE}${OPTS.smoke ? 'smoke-evidence.json' : 'evidence.json'}`);
const COMPOSER = OPTS.composer ? composerOptions(OPTS) : null;
// A composition still pending this long after it started is recorded as pending (invariant 1):
// its deadline, then both compensations at their worst (every attempt timing out after its
// backoff of at most 2 s, or a Retry-After), then a margin for a loaded machine.
const WATCHDOG_MS = OPTS.deadline + 2 * 3 * (OPTS.timeout + 2000) + 5000;
const BUDGET_MS = OPTS.smoke ? 3 * 60_000 : 90 * 60_000; // the whole run; a watchdog stops it after this

// ------------------------------------------------------------------ small helpers

let bailing = false;
const log = (line = '') => {
  if (!bailing) process.stdout.write(`${line}\n`);
};

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const errors = []; // what broke the run itself (not a finding about the library)
const fail = (what, err) => errors.push(`${what}: ${err?.stack ?? err?.message ?? err}`);

// ------------------------------------------------------------------ the builds


/**
 * The `target` build in `dir`, built when it is missing or older than the sources, or the
 * build the caller named (`given`) as it is (scripts/ensure-package.mjs). What the report
 * says of it: `{ target, given?, built, builtAt }`.
 */
async function ensureBuild(target, dir, given) {
  const build = await ensurePackage({ target, dir, given: given ? dir : null, log });
  return { target, ...(given ? { given: dir } : {}), built: build.built, builtAt: build.builtAt };
}

// ------------------------------------------------------------------ the mock services

/** Starts `node mock/cli.mjs --port 0` (scripts/mock-process.mjs); resolves to {config, stop, stderr}. */
async function startMock() {
  const { config, stop, stderr } = await startMockProcess('mock/cli.mjs', ['--port', '0']);
  return { config, stop, stderr };
}

async function admin(mock, method, path, body) {
  const res = await withTimeout(fetch(`${mock.adminUrl}${path}`, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  }), 60_000, `${method} ${path}`);
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A fresh scenario: its state, log and request numbering reset, then the given config. */
async function freshScenario(mock, id, config) {
  await admin(mock, 'DELETE', `/scenarios/${id}`);
  const normalized = await admin(mock, 'PUT', `/scenarios/${id}`, config);
  if (config.chaos && !normalized.chaos) throw new Error('the mock ignored the chaos config: it predates chaos (mock/README.md, "Chaos")');
  return normalized;
}

/**
 * The scenario's log once every request in it has ended at the services (a request the
 * client abandoned is marked aborted a moment after the client lets go); then its state.
 */
async function collect(mock, scenario) {
  const open = (e) => e.status === null && !e.aborted && !e.reset;
  const deadline = Date.now() + 15_000;
  let entries;
  for (;;) {
    entries = await admin(mock, 'GET', `/log?scenario=${scenario}`);
    const still = entries.filter(open).length;
    if (still === 0) break;
    if (Date.now() > deadline) {
      log(`  ${still} requests still open at the services after 15 s: judged as they are`);
      break;
    }
    await delay(100);
  }
  const state = await admin(mock, 'GET', `/scenarios/${scenario}/state`);
  return { log: entries, state };
}

// ------------------------------------------------------------------ the runtimes

function callerConfig(runtime, mock, scenario) {
  const services = Object.fromEntries(Object.entries(mock.services).map(([name, url]) => [name, `${url}/s/${scenario}`]));
  return {
    runtime,
    seed: OPTS.seed,
    orders: OPTS.orders[runtime],
    concurrency: OPTS.concurrency,
    deadlineMs: OPTS.deadline,
    timeoutMs: OPTS.timeout,
    abortRate: OPTS.abortRate,
    services,
    traceOrigins: Object.values(mock.services), // every service origin gets a traceparent
    watchdogMs: WATCHDOG_MS,
    ...(COMPOSER ? { composerOptions: COMPOSER, pool: POOL } : {}),
  };
}

function progressPrinter(runtime, total) {
  const step = Math.max(1, Math.floor(total / 10));
  const t0 = performance.now();
  return (done) => {
    if (done % step === 0 || done === total) log(`  ${runtime}: ${done}/${total} orders (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  };
}

/** How many compositions the warm-up runs, with faults on this share of their requests. */
const WARMUP = { compositions: 32, faultRate: 0.3 };

/**
 * The warm-up scenario of a runtime: faults too, so that the error and compensation paths are
 * compiled as well as the happy one.
 */
async function warmUpConfig(runtime, mock) {
  const scenario = `chaos-warmup-${runtime}`;
  await freshScenario(mock, scenario, { defaultJitter: OPTS.jitter, chaos: { rate: WARMUP.faultRate, seed: OPTS.seed } });
  return { ...callerConfig(runtime, mock, scenario), compositions: WARMUP.compositions };
}

function loadNodePackage() {
  const require = createRequire(import.meta.url);
  return require(join(NODE_PKG, 'parallel_composer.js'));
}

async function runNode(cfg, mock) {
  const pc = loadNodePackage();
  const w = await withTimeout(warmUp(pc, await warmUpConfig('node', mock)), WATCHDOG_MS + 30_000, 'the Node warm-up');
  log(`  warm-up: ${WARMUP.compositions} compositions in ${(w.ms / 1000).toFixed(1)} s (not judged)`);
  return runCallers(pc, cfg, progressPrinter('node', cfg.orders));
}

let pageProgress = () => {}; // where the page's chaosProgress binding reports to

async function runChromium(page, cfg, mock) {
  const wcfg = await warmUpConfig('chromium', mock);
  const w = await withTimeout(page.evaluate((c) => window.chaos.warmUp(c), wcfg), WATCHDOG_MS + 30_000, 'the Chromium warm-up');
  log(`  warm-up: ${WARMUP.compositions} compositions in ${(w.ms / 1000).toFixed(1)} s (not judged)`);
  pageProgress = progressPrinter('chromium', cfg.orders);
  // Generous: the orders, run `concurrency` at a time, each within its watchdog, twice (a resubmission).
  const limit = Math.ceil(cfg.orders / cfg.concurrency) * 2 * WATCHDOG_MS + 60_000;
  return withTimeout(page.evaluate((c) => window.chaos.run(c), cfg), limit, 'the Chromium callers');
}

/**
 * The operations of the first few discrepancies of each invariant get their records and log
 * written to EVIDENCE_FILE (next to the results, but under target/: it is too big to commit).
 */
const EVIDENCE_PER_INVARIANT = 3;
const EVIDENCE = {};

async function judgeRuntime(mock, runtime, scenario, run) {
  const { log: entries, state } = await collect(mock, scenario);
  if (OPTS.raw) {
    mkdirSync(OPTS.raw, { recursive: true });
    writeFileSync(join(OPTS.raw, `${runtime}.json`), JSON.stringify({ run, log: entries, state }));
  }
  const judged = judgeRun({ runtime, run, log: entries, state, cfg: { deadlineMs: OPTS.deadline, composer: COMPOSER } });
  EVIDENCE[runtime] = evidence(run, entries, judged.discrepancies);
  return { scenario, ...judged, logEntries: entries.length, lastSeq: entries.at(-1)?.seq ?? 0, ...(run.health ? { health: run.health } : {}) };
}

/**
 * What a discrepancy needs to become a regression test: the first operations' submissions
 * (request, records) and every log entry of their traces or Idempotency-Keys.
 */
function evidence(run, entries, discrepancies) {
  const ops = new Set();
  for (const { id } of INVARIANTS) {
    discrepancies.filter((d) => d.invariant === id && d.operationId).slice(0, EVIDENCE_PER_INVARIANT).forEach((d) => ops.add(d.operationId));
  }
  const out = {};
  for (const op of ops) {
    const order = run.orders.find((o) => o.operationId === op);
    const traces = new Set((order?.submissions ?? []).map((s) => s.traceId).filter(Boolean));
    out[op] = {
      order: order ?? null,
      log: entries
        .filter((e) => traces.has(traceOf(e)) || String(e.headers['idempotency-key'] ?? '').startsWith(`${op}:`))
        // The two headers the judge reads, not the dozen the client sent.
        .map(({ headers, ...e }) => ({ ...e, traceparent: headers.traceparent ?? null, idempotencyKey: headers['idempotency-key'] ?? null })),
    };
  }
  return out;
}

// ------------------------------------------------------------------ the load check

async function loadCheck(page, cdp, mock) {
  const scenario = 'chaos-load';
  // No faults. A small latency, so that requests overlap at the services and "on the wire at
  // once" can be seen in the log (at 0 ms the single-threaded mock answers each before the next).
  await freshScenario(mock, scenario, { defaultLatency: OPTS.loadLatency });
  const cfg = {
    compositions: OPTS.load,
    seed: OPTS.seed,
    // Through the gateway: one origin for every call, as a portal behind one API gateway has,
    // where the browser's connections per origin and maxConcurrencyPerOrigin both apply.
    baseUrl: `${mock.gatewayUrl}/s/${scenario}`,
    traceOrigins: [mock.gatewayUrl],
    maxConcurrencyPerOrigin: OPTS.loadLimit,
    timeoutMs: 120_000,
  };
  await cdp.send('HeapProfiler.collectGarbage');
  const heapUsed = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? NaN;
  const base = await heapUsed();
  let peak = base;
  let polls = 0;
  let running = true;
  // JSHeapUsedSize polled over CDP while the compositions run (as bench/run.mjs part C does).
  const poller = (async () => {
    while (running) {
      const v = await heapUsed();
      polls++;
      if (v > peak) peak = v;
      await delay(20);
    }
  })();
  // No fault is injected here, so a request the browser fails is a finding: why, by count.
  const browserFailures = {};
  const onFailed = (req) => {
    const why = req.failure()?.errorText ?? 'unknown';
    browserFailures[why] = (browserFailures[why] ?? 0) + 1;
  };
  page.on('requestfailed', onFailed);
  let load;
  try {
    load = await withTimeout(page.evaluate((c) => window.chaos.load(c), cfg), cfg.timeoutMs + 30_000, 'the load check');
  } finally {
    page.off('requestfailed', onFailed);
    running = false;
    await poller;
  }
  const { log: entries } = await collect(mock, scenario);
  const judged = judgeLoad({ load, log: entries, limit: OPTS.loadLimit });
  return { ...judged, latencyMs: OPTS.loadLatency, heap: { base, peak, polls }, browserFailures };
}

// ------------------------------------------------------------------ docs

function git(...args) {
  const r = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function docsBlock(results) {
  const s = results.settings;
  const env = results.environment;
  const head = `Measured by \`npm run chaos -- --docs\` on ${env.date.slice(0, 10)}: seed ${s.seed}, `
    + `${Object.entries(s.orders).filter(([r]) => results.runtimes[r]).map(([r, n]) => `${n} orders in ${r === 'node' ? `Node ${env.node}` : `Chromium ${env.chromium}`}`).join(' and ')}, `
    + `${s.concurrency} in flight, ${s.faultRate * 100}% of requests faulted, jitter 0-${s.jitter} ms, deadline ${s.deadlineMs} ms, `
    + `call timeout ${s.timeoutMs} ms, ${s.abortRate * 100}% of callers aborting; `
    + `${env.builds.some((b) => b.given) ? `the builds in ${env.builds.map((b) => b.given ?? b.target).join(' and ')}` : `the engine of commit \`${env.engineCommit}\`${env.engineUncommittedChanges ? ' with uncommitted changes in src/ or js/' : ''}`}, `
    + `on ${env.cpuModel} (${env.cores} cores). `
    + `Raw results: [\`chaos/results.json\`](../chaos/results.json).`;
  return `${head}\n\n${report(results)}`;
}

function rewriteDocs(results) {
  const text = readFileSync(DOCS, 'utf8');
  const i = text.indexOf(MARK_START);
  const j = text.indexOf(MARK_END);
  if (i < 0 || j < i) throw new Error(`${relative(ROOT, DOCS)} lacks the markers ${MARK_START} ... ${MARK_END}`);
  writeFileSync(DOCS, `${text.slice(0, i + MARK_START.length)}\n${docsBlock(results)}\n${text.slice(j)}`);
}

// ------------------------------------------------------------------ main

const open = { browser: null, web: null, mock: null };
let cleaning = null;
function cleanup() {
  cleaning ??= (async () => {
    const step = (what, p) => withTimeout(Promise.resolve(p), 15_000, what).catch((err) => process.stderr.write(`chaos: ${err.message}\n`));
    if (open.browser) await step('closing the browser', open.browser.close());
    if (open.web) await step('closing the static server', open.web.close());
    if (open.mock) await step('stopping the mock services', open.mock.stop());
  })();
  return cleaning;
}

let ordersRun = 0;
let discrepanciesFound = 0;
const lastLine = () => `chaos: ${discrepanciesFound} discrepancies in ${ordersRun} orders, ${errors.length} errors`;

function bail(code, why) {
  if (bailing) return;
  bailing = true;
  errors.push(why);
  process.stderr.write(`\nchaos: ${why}; stopping the browser, the static server and the mock\n`);
  cleanup().finally(() => {
    process.stdout.write(`${lastLine()}\n`);
    process.exit(code);
  });
}
process.once('SIGINT', () => bail(130, 'interrupted (SIGINT)'));
process.once('SIGTERM', () => bail(143, 'terminated (SIGTERM)'));
process.once('SIGHUP', () => bail(129, 'hung up (SIGHUP)'));
process.on('unhandledRejection', (err) => fail('an unhandled rejection in the Node runtime', err));
const budget = setTimeout(() => bail(1, `the whole run exceeded its budget of ${BUDGET_MS / 1000} s`), BUDGET_MS);

async function main() {
  const t0 = performance.now();
  const needPage = OPTS.runtimes.includes('chromium') || OPTS.load > 0;
  log(`chaos: ${OPTS.smoke ? 'smoke run' : 'run'}${COMPOSER ? ' through one composer per runtime' : ''}; seed ${OPTS.seed}; orders ${OPTS.runtimes.map((r) => `${r} ${OPTS.orders[r]}`).join(', ')}; `
    + `${OPTS.concurrency} in flight; fault rate ${OPTS.faultRate}; jitter ${OPTS.jitter} ms; deadline ${OPTS.deadline} ms; `
    + `timeout ${OPTS.timeout} ms; abort rate ${OPTS.abortRate}; load ${OPTS.load}`);
  const builds = [];
  if (needPage) builds.push(await ensureBuild('web', WEB_PKG, Boolean(OPTS.webPkg)));
  if (OPTS.runtimes.includes('node')) builds.push(await ensureBuild('nodejs', NODE_PKG, Boolean(OPTS.nodePkg)));
  const tBuilt = performance.now(); // what follows is the run itself, builds aside

  open.mock = await startMock();
  const mock = open.mock.config;
  let page = null;
  let cdp = null;
  const pageErrors = [];
  if (needPage) {
    // connectOrigins() allows adminUrl and the services in the page's CSP; the load check goes
    // through the gateway, so it is listed among them.
    const pageConfig = { ...mock, services: { ...mock.services, gateway: mock.gatewayUrl } };
    open.web = await startStaticServer({
      port: 0, wwwDir: join(CHAOS_DIR, 'page'), pkgDir: WEB_PKG, config: pageConfig,
      extraMounts: [{ prefix: '/lib/', root: CHAOS_DIR }],
    });
    open.browser = await chromium.launch({
      executablePath: process.env.PC_CHROMIUM || '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
      headless: process.env.PC_E2E_HEADFUL !== '1',
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    page = await open.browser.newPage();
    page.setDefaultTimeout(30_000);
    // Network errors are the point of the run; only uncaught exceptions count against the page.
    page.on('pageerror', (err) => pageErrors.push(String(err?.stack ?? err)));
    await page.exposeFunction('chaosProgress', (done, total) => pageProgress(done, total));
    await page.goto(new URL('index.html', open.web.url).href);
    await page.waitForFunction(() => window.chaosReady === true, null, { timeout: 30_000 });
    const setup = await withTimeout(page.evaluate(() => window.chaos.setup()), 60_000, 'init() on the chaos page');
    if (!setup.exports.includes('composeOrder')) throw new Error(`the web build has no composeOrder: ${setup.exports.join(', ')}`);
    cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
  }

  const results = {
    generatedBy: `node chaos/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    mode: OPTS.smoke ? 'smoke' : FULL ? 'full' : 'custom',
    composer: COMPOSER ? { options: COMPOSER, pool: POOL } : null,
    settings: {
      seed: OPTS.seed, orders: OPTS.orders, concurrency: OPTS.concurrency, faultRate: OPTS.faultRate, jitter: OPTS.jitter,
      deadlineMs: OPTS.deadline, timeoutMs: OPTS.timeout, abortRate: OPTS.abortRate, runtimes: OPTS.runtimes,
      warmUp: WARMUP, load: OPTS.load, loadLimit: OPTS.loadLimit, loadLatencyMs: OPTS.loadLatency, watchdogMs: WATCHDOG_MS, settleSlackMs: SETTLE_SLACK_MS,
    },
    environment: {
      date: new Date().toISOString(),
      node: process.version,
      chromium: open.browser?.version() ?? null,
      cpuModel: cpus()[0]?.model?.trim() ?? 'unknown',
      cores: availableParallelism?.() ?? cpus().length,
      loadAverageAtStart: loadavg().map((x) => Number(x.toFixed(2))),
      commit: git('rev-parse', '--short=12', 'HEAD'),
      // The last commit that changed the engine: what the builds of the working tree are built from.
      engineCommit: git('log', '-1', '--format=%h', '--abbrev=12', '--', 'src', 'js', 'Cargo.toml', 'Cargo.lock'),
      engineUncommittedChanges: Boolean(git('status', '--porcelain', '--', 'src', 'js', 'Cargo.toml', 'Cargo.lock')),
      builds,
    },
    invariants: INVARIANTS,
    runtimes: {},
    load: null,
    errors,
  };

  for (const runtime of OPTS.runtimes) {
    const scenario = `chaos-${runtime}`;
    try {
      await freshScenario(mock, scenario, { defaultJitter: OPTS.jitter, chaos: { rate: OPTS.faultRate, seed: OPTS.seed } });
      const cfg = callerConfig(runtime, mock, scenario);
      log(`\n${runtime}: ${cfg.orders} orders against scenario ${scenario}`);
      const run = runtime === 'node' ? await runNode(cfg, mock) : await runChromium(page, cfg, mock);
      ordersRun += run.orders.length;
      const judged = await judgeRuntime(mock, runtime, scenario, run);
      results.runtimes[runtime] = judged;
      discrepanciesFound += judged.discrepancies.length;
      log(`  judged: ${judged.discrepancies.length} discrepancies in ${run.orders.length} orders (${judged.logEntries} requests logged)`);
    } catch (err) {
      fail(`the ${runtime} run`, err);
    }
  }
  if (OPTS.load > 0) {
    try {
      log(`\nload: ${OPTS.load} compositions at once in one page, maxConcurrencyPerOrigin ${OPTS.loadLimit}`);
      results.load = await loadCheck(page, cdp, mock);
      discrepanciesFound += results.load.discrepancies.length;
      log(`  all settled in ${(results.load.summary.settleMs / 1000).toFixed(1)} s; ${results.load.discrepancies.length} discrepancies`);
    } catch (err) {
      fail('the load check', err);
    }
  }
  for (const e of pageErrors) fail('an uncaught exception on the page', e);
  // The mock keeps its most recent 200,000 entries: a run past that would be judged on a cut log.
  const lastSeq = Math.max(0, ...Object.values(results.runtimes).map((r) => r.lastSeq));
  if (lastSeq > 200_000) fail('the mock log', `it holds at most 200,000 entries and this run made ${lastSeq}: run fewer orders`);

  results.environment.wallSeconds = Number(((performance.now() - t0) / 1000).toFixed(1));
  results.environment.buildSeconds = Number(((tBuilt - t0) / 1000).toFixed(1));
  results.environment.loadAverageAtEnd = loadavg().map((x) => Number(x.toFixed(2)));
  if (bailing) return;
  log(`\n${report(results)}\n`);
  results.evidenceFile = relative(ROOT, EVIDENCE_FILE);
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(results, null, 1)}\n`);
  mkdirSync(dirname(EVIDENCE_FILE), { recursive: true });
  writeFileSync(EVIDENCE_FILE, `${JSON.stringify(EVIDENCE)}\n`);
  const { wallSeconds, buildSeconds } = results.environment;
  log(`wrote ${relative(process.cwd(), OUT) || OUT} and ${relative(process.cwd(), EVIDENCE_FILE)}; ${wallSeconds} s in all${buildSeconds >= 0.1 ? `, ${buildSeconds} s of it building` : ''}`);
  if (OPTS.docs) {
    if (errors.length) fail('--docs', 'docs/reliability.md not rewritten from a run that broke');
    else {
      rewriteDocs(results);
      log(`rewrote ${relative(process.cwd(), DOCS)} between ${MARK_START} and ${MARK_END}`);
    }
  }
}

try {
  await main();
} catch (err) {
  fail('the run', err);
} finally {
  clearTimeout(budget);
  await cleanup();
}
if (bailing) await new Promise(() => {}); // bail() prints the last line and exits
if (errors.length) {
  log('\nerrors:');
  for (const e of errors) log(`  - ${e.split('\n')[0]}`);
}
log(lastLine());
process.exit(discrepanciesFound > 0 || errors.length > 0 ? 1 : 0);
