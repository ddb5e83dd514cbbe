// Shared by bench/run.mjs and its parts (bench/parts/*.mjs): the options, the settings of a
// run, the implementation lists, the small helpers (timeouts, statistics, formatting), the
// sanity checks, the package, the mock services and the environment. See bench/run.mjs for
// what the benchmark is and the honesty rules it keeps.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { cpus, loadavg, release, type as osType, availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants as zlibConstants } from 'node:zlib';

import { ensurePackage } from '../../scripts/ensure-package.mjs';
import { startMockProcess } from '../../scripts/mock-process.mjs';
import { SERVICES } from '../page/contract.js';

export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = resolve(BENCH_DIR, '..');
export const PKG_DIR = join(ROOT, 'pkg');
export const WASM_FILE = join(PKG_DIR, 'parallel_composer_bg.wasm');
export const GLUE_FILE = join(PKG_DIR, 'parallel_composer.js');
export const DOCS_PAGE = join(ROOT, 'docs', 'performance.md');
export const MARK_START = '<!-- bench:start -->';
export const MARK_END = '<!-- bench:end -->';

// ------------------------------------------------------------------ options

// The parts, in the order they run: the browser parts, then the Node parts (bench/node/),
// which run after the browser is closed and need neither it nor pkg/.
export const ALL_PARTS = ['A', 'A2', 'P', 'B', 'C', 'D', 'M', 'E', 'H', 'N'];
export const NODE_PARTS = ['E', 'H', 'N'];

export function usage() {
  return `usage: node bench/run.mjs [--smoke] [--docs] [--runs N] [--only A,A2,P,B,C,D,M,E,H,N] [--out FILE]

  --smoke    one run per scenario and implementation, small payloads, no timing asserted
             (what npm test runs); writes bench/out/smoke-results.json
  --docs     also rewrite docs/performance.md between ${MARK_START} and ${MARK_END}
  --runs N   measured runs per implementation in parts A, A2, P and B (default 21, at least 15
             for a --docs run); part C uses N too, its heap runs max(5, N / 3); part E
             runs N rounds of 1 s cells when --runs is given (else 7)
  --only     run only these parts (not with --docs): A order flow, A2 (A') the order flow
             under 4x CPU throttling, P the order flow cold vs the click after
             prefetchOrder(), B engine overhead, C payload, D package and cold start, M
             memory over 10,000 compositions in one page, E the Node BFF throughput
             (composeOrder vs hand-written Node at 1/16/64 in flight), H hedged vs unhedged
             reads against a long tail (Node), N Node memory over 100,000 compose() calls
  --out      where to write the results (default bench/results.json for a full run of
             every part with at least 15 runs, else bench/out/partial-results.json)
`;
}

export function parseArgs(argv) {
  const opts = { smoke: false, docs: false, runs: null, only: null, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--smoke') opts.smoke = true;
    else if (a === '--docs') opts.docs = true;
    else if (a === '--runs') opts.runs = Number(value());
    else if (a === '--only') opts.only = value().toUpperCase().split(',').filter(Boolean);
    else if (a === '--out') opts.out = resolve(value());
    else if (a === '--help' || a === '-h') opts.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (opts.runs !== null && !(Number.isInteger(opts.runs) && opts.runs >= 1)) throw new Error('--runs must be a positive integer');
  if (opts.only) {
    const unknown = opts.only.filter((p) => !ALL_PARTS.includes(p));
    if (unknown.length) throw new Error(`--only takes parts among ${ALL_PARTS.join(',')} (not ${unknown.join(',')})`);
    opts.only = ALL_PARTS.filter((p) => opts.only.includes(p)); // in the order they run, once each
  }
  if (opts.smoke && opts.docs) throw new Error('--docs needs a real run, not --smoke');
  if (opts.docs && opts.only) throw new Error('--docs needs every part; drop --only');
  if (opts.docs && opts.runs !== null && opts.runs < 15) throw new Error('--docs needs --runs 15 or more');
  return opts;
}

/** Ends a command-line tool with `message` and exit status 2 (a bad command line). */
export function exitWith(message) {
  console.error(message);
  process.exit(2);
}

/**
 * The command line of a tool that compares two builds (bench/ab.mjs, bench/icount.mjs): two
 * package dirs, then the options of `spec`, each `'--name': [key, kind]` where kind is
 * 'count' (a positive integer), 'shapes' (some of part B's plan shapes, comma-separated), a
 * list of the words it takes, or the value a flag without a value sets. `defaults` holds
 * every key's value when its option is not given. Exits with `usage` on a bad one.
 */
export function compareArgs(tool, usage, spec, defaults, argv = process.argv.slice(2)) {
  const dirs = [];
  const opts = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      dirs.push(arg);
      continue;
    }
    if (!Object.hasOwn(spec, arg)) exitWith(`${tool}: unknown option ${arg}\n${usage}`);
    const [key, kind] = spec[arg];
    const takesValue = kind === 'count' || kind === 'shapes' || Array.isArray(kind);
    if (!takesValue) {
      opts[key] = kind;
      continue;
    }
    if (i + 1 >= argv.length) exitWith(`${tool}: ${arg} needs a value\n${usage}`);
    const value = argv[++i];
    if (kind === 'count') {
      opts[key] = Number(value);
      if (!(Number.isInteger(opts[key]) && opts[key] >= 1)) exitWith(`${tool}: ${arg} takes a positive integer, not ${value}`);
    } else if (kind === 'shapes') {
      opts[key] = value.split(',');
      const unknown = opts[key].filter((s) => !B_SHAPES.includes(s));
      if (unknown.length) exitWith(`${tool}: ${arg} takes ${B_SHAPES.join(', ')}, not ${unknown.join(', ')}`);
    } else {
      if (!kind.includes(value)) exitWith(`${tool}: ${arg} takes ${kind.join(' or ')}, not ${value}`);
      opts[key] = value;
    }
  }
  if (dirs.length !== 2) exitWith(usage);
  return { dirs, opts };
}

export let OPTS = null;
export let SMOKE = false;
export let RUNS = 21;
export let PARTS = [];
export let FULL_RUN = false;
export let OUT = null;
export let CFG = null;

/** Parses the command line and sets the settings above (live bindings); throws on a bad one. */
export function configure(argv) {
  OPTS = parseArgs(argv);
  SMOKE = OPTS.smoke;
  RUNS = OPTS.runs ?? (SMOKE ? 1 : 21);
  PARTS = OPTS.only ?? ALL_PARTS;
  // bench/results.json is the reference run: every part, at least 15 runs. Anything less
  // goes to bench/out/ (not committed) unless --out says otherwise.
  FULL_RUN = !SMOKE && !OPTS.only && RUNS >= 15;
  OUT = OPTS.out ?? (SMOKE ? join(BENCH_DIR, 'out', 'smoke-results.json')
    : FULL_RUN ? join(BENCH_DIR, 'results.json') : join(BENCH_DIR, 'out', 'partial-results.json'));
  CFG = {
    warmupRounds: SMOKE ? 0 : 2, // parts A and A2, after the verification round (which is also a warm-up)
    engineCalls: 1000,
    engineRandomEdges: 3000,
    engineSeed: 20251125,
    engineWarmups: SMOKE ? 0 : 3,
    engineSampleTargetMs: 25, // each part-B sample repeats the composition to last about this long
    payloadKb: SMOKE ? 64 : 1024,
    payloadHeapRuns: SMOKE ? 1 : Math.max(5, Math.round(RUNS / 3)),
    coldLoads: SMOKE ? 1 : 9,
    throttleRate: 4, // part A2: Emulation.setCPUThrottlingRate
    memoryCompositions: SMOKE ? 300 : 10_000, // part M
    memoryBase: SMOKE ? 100 : 1000, // part M: the heap and wasm memory after these are the base
    memoryChunk: SMOKE ? 100 : 1000, // part M: figures read after every chunk
    memoryCalls: 20, // part M: calls per composition (a seeded random graph, 40 edges)
    memoryEdges: 40,
    nodeRounds: SMOKE ? null : OPTS.runs, // part E: rounds of 1 s cells (null: bench/node/bff.mjs's default, 7)
    // The whole run; a watchdog stops it after this. Smoke: pkg/ and the nodejs build may
    // both be rebuilt first (a few minutes each on a 2-core machine).
    budgetMs: SMOKE ? 10 * 60_000 : 60 * 60_000,
  };
  return OPTS;
}

export const ORDER_REQUEST = Object.freeze({
  customerId: 'c-gold-1', cartId: 'k-1', paymentMethodId: 'pm_visa', shippingOption: 'express',
});
export const A_IMPLS = ['composer-eager', 'composer-stages', 'composer-sequential', 'js-sequential', 'js-staged', 'async.auto', 'fetch-chain'];
export const JS_BASELINES = ['js-sequential', 'js-staged', 'async.auto'];
export const B_IMPLS = ['composer', 'composer-frozen', 'async.auto', 'js-promise-all', 'js-counter'];
export const B_SHAPES = ['wide', 'deep', 'random'];
export const C_IMPLS = ['composer', 'js-promise-all'];
// Part B with a real Response per call (new Response(JSON.stringify(reply), ...)): async.auto
// is left out (its "no worse than" targets use the stub).
export const B_RESPONSE_IMPLS = ['composer', 'composer-frozen', 'js-promise-all', 'js-counter', 'js-promise-all-guarded'];
// Part A2 (A', a slow machine): the order flow under CPU throttling; js-sequential (never
// the best) and the composer's other schedules are left out to keep the part short.
export const A2_IMPLS = ['composer-eager', 'js-staged', 'async.auto'];
// Part P: the order flow cold (the module function; a fresh composer) and the click after
// prefetchOrder() on a composer; PREFETCHED_CALLS are what a composer caches of the order
// flow by default, which prefetchOrder() sends and the click does not.
export const P_IMPLS = ['composeOrder', 'composer-cold', 'composer-prefetched'];
export const PREFETCHED_CALLS = Object.freeze(['customer', 'cart', 'pricing', 'shipping', 'tax']);

// ------------------------------------------------------------------ small helpers

let bailing = false; // set once the run is being stopped (signal or watchdog): print nothing more
export const isBailing = () => bailing;
export function setBailing() {
  bailing = true;
}
export const log = (line = '') => {
  if (!bailing) process.stdout.write(`${line}\n`);
};

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** median, p90 (nearest rank), min, max of a list of numbers (NaN entries left out). */
export function stats(values) {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b); // NaN marks a failed run
  const n = s.length;
  if (n === 0) return { n: 0, median: NaN, p90: NaN, min: NaN, max: NaN };
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return { n, median, p90: s[Math.ceil(0.9 * n) - 1], min: s[0], max: s[n - 1] };
}

export const round = (x, digits = 2) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);
export const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
export const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
export const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;

/** Round-robin with a rotating start, so every implementation takes every position equally. */
export function rotated(list, by) {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

// ------------------------------------------------------------------ checks

export const checks = { passed: 0, failed: 0, failures: [] };
/** Counts a sanity check; `quiet`: counted, not printed (its outcome was printed already). */
export function check(name, ok, detail = '', { quiet = false } = {}) {
  if (bailing) return false; // what fails while the run is being stopped is no finding
  if (ok) {
    checks.passed++;
    if (!quiet) log(`  ok    ${name}`);
  } else {
    checks.failed++;
    checks.failures.push(detail ? `${name}: ${detail}` : name);
    if (!quiet) log(`  FAIL  ${name}${detail ? `: ${detail}` : ''}`);
  }
  return Boolean(ok);
}

// ------------------------------------------------------------------ the package


/**
 * pkg/ must hold a release --target web build at least as new as the sources; otherwise it
 * is built (scripts/ensure-package.mjs, under the lock the e2e tests use).
 */
export async function ensureFreshPkg() {
  const { built, builtAt } = await ensurePackage({ target: 'web', dir: PKG_DIR, log });
  return { built, builtAt };
}

// ------------------------------------------------------------------ the mock services

/** Starts bench/mock-child.mjs (scripts/mock-process.mjs); resolves to { config, stop, pid }. */
export async function startMock() {
  const { config, stop, child } = await startMockProcess('bench/mock-child.mjs', [], { closesOnStdin: true });
  return { config, stop, pid: child.pid };
}

export async function admin(mock, method, path, body) {
  const res = await withTimeout(fetch(`${mock.adminUrl}${path}`, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  }), 10_000, `${method} ${path}`);
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

export const servicesIn = (mock, scenario) => Object.fromEntries(SERVICES.map((s) => [s, `${mock.services[s]}/s/${scenario}`]));

// ------------------------------------------------------------------ environment

export function git(...args) {
  const r = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function environment(browserVersion, pkgInfo) {
  const cpu = cpus();
  const dirty = git('status', '--porcelain', '--', 'src', 'js', 'Cargo.toml', 'Cargo.lock');
  return {
    date: new Date().toISOString(),
    chromium: browserVersion,
    cpuModel: cpu[0]?.model?.trim() ?? 'unknown',
    cores: availableParallelism?.() ?? cpu.length,
    node: process.version,
    os: `${osType()} ${release()}`,
    loadAverageAtStart: loadavg().map((x) => round(x, 2)),
    commit: git('rev-parse', '--short=12', 'HEAD'),
    engineUncommittedChanges: Boolean(dirty),
    // pkg/ (the web build) is used by the browser parts only; null when none ran.
    pkg: pkgInfo ? { ...pkgInfo, wasmBuiltAt: new Date(statSync(WASM_FILE).mtimeMs).toISOString() } : null,
  };
}

// ------------------------------------------------------------------ sizes

export function gzip9(file) {
  return gzipSync(readFileSync(file), { level: zlibConstants.Z_BEST_COMPRESSION }).length;
}

export function jsFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...jsFiles(p));
    else if (e.name.endsWith('.js')) out.push(p);
  }
  return out;
}

// ------------------------------------------------------------------ results and tables

export function entry(results, part, scenario, impl) {
  return results.entries.find((e) => e.part === part && e.scenario === scenario && e.impl === impl);
}


export function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 || i === 1 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function mdTable(headers, rows, align) {
  const sep = headers.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'));
  return [headers, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

