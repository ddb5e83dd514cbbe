// Shared pieces of the end-to-end tests (not a test file itself: node --test picks up *.test.mjs).
//
// Environment:
//   PC_CHROMIUM            the Chromium binary (default /usr/bin/chromium; never downloaded)
//   PC_E2E_HEADFUL=1       show the browser window
//   PC_E2E_PKG_DIR         smoke-test another --target web build instead of pkg/
import { chromium } from 'playwright-core';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The package under test: pkg/, or PC_E2E_PKG_DIR (the smoke test only; ensurePkg() builds pkg/ only). */
export const PKG_DIR = process.env.PC_E2E_PKG_DIR ? resolve(process.env.PC_E2E_PKG_DIR) : join(ROOT, 'pkg');
export const ARTIFACTS = join(ROOT, 'tests', 'artifacts');
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  // Debian's Chromium still resolves Google hosts at start; the network here is closed.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
];

const PKG_FILES = ['parallel_composer.js', 'parallel_composer_bg.wasm'];
const pkgPresent = () => PKG_FILES.every((f) => existsSync(join(PKG_DIR, f)));

/**
 * Makes sure pkg/ holds a release --target web build. It is built (once, under a lock, so
 * test files running in parallel do not build twice) only when missing: the tests check
 * the package that scripts/test.sh's release step produced.
 */
export async function ensurePkg() {
  if (process.env.PC_E2E_PKG_DIR) {
    if (!pkgPresent()) throw new Error(`PC_E2E_PKG_DIR=${PKG_DIR} has no ${PKG_FILES.join(' / ')}`);
    return 'given';
  }
  return withPkgBuildLock(() => {
    if (pkgPresent()) return 'present';
    const status = buildPkg();
    if (status !== 0 || !pkgPresent()) {
      throw new Error(`scripts/build-pkg.mjs failed (exit ${status}); cannot run the e2e tests without pkg/`);
    }
    return 'built';
  });
}

/**
 * Runs `work` holding the lock on building pkg/, shared by the e2e test files (which run
 * in parallel) and the benchmark, so that no two builds of pkg/ race.
 */
export async function withPkgBuildLock(work) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const lock = join(ARTIFACTS, '.pkg-build.lock');
  const deadline = Date.now() + 15 * 60 * 1000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock} (remove it if no build is running)`);
      await delay(500); // another process is building pkg/
    }
  }
  try {
    return await work();
  } finally {
    rmdirSync(lock);
  }
}

/** Builds the release --target web package into pkg/; returns the build's exit status. */
export function buildPkg() {
  const result = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-pkg.mjs'), '--target', 'web', '--out-dir', 'pkg'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 15 * 60 * 1000,
  });
  return result.status;
}

/** Age of pkg/ compared with the sources, for a diagnostic line. */
export function pkgAge() {
  const wasm = statSync(join(PKG_DIR, 'parallel_composer_bg.wasm'));
  return { builtAt: new Date(wasm.mtimeMs).toISOString(), bytes: wasm.size };
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.PC_CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: process.env.PC_E2E_HEADFUL !== '1',
  });
}

/**
 * Records everything that would make a page untrustworthy: console errors and warnings, uncaught
 * exceptions, failed requests and CSP violations (reported from the page through a binding
 * that survives navigations). Call before the first goto.
 */
export async function watchPage(page) {
  const seen = { consoleErrors: [], consoleWarnings: [], pageErrors: [], cspViolations: [], failedRequests: [] };
  page.on('console', (msg) => {
    const entry = { text: msg.text(), url: msg.location()?.url ?? '' };
    if (msg.type() === 'error') seen.consoleErrors.push(entry);
    if (msg.type() === 'warning') seen.consoleWarnings.push(entry);
  });
  page.on('pageerror', (err) => seen.pageErrors.push(String(err?.stack ?? err)));
  page.on('requestfailed', (req) => seen.failedRequests.push({ url: req.url(), error: req.failure()?.errorText ?? '' }));
  await page.exposeFunction('__pcReportCspViolation', (v) => seen.cspViolations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__pcReportCspViolation({
        directive: e.effectiveDirective || e.violatedDirective,
        blockedURI: e.blockedURI,
        source: `${e.sourceFile}:${e.lineNumber}`,
        sample: e.sample,
      });
    }, true);
  });
  return seen;
}

/** Polls `probe` (sync or async) until it returns a truthy value; throws `message` on timeout. */
export async function waitFor(probe, { timeout = 10000, interval = 50, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${message}`);
    await delay(interval);
  }
}

/** Resolves with the first `name` event of `emitter` whose payload satisfies `match`. */
export function nextEvent(emitter, name, match, { timeout = 10000 } = {}) {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, onEvent);
      reject(new Error(`timed out after ${timeout} ms waiting for a matching '${name}' event`));
    }, timeout);
    function onEvent(payload) {
      if (!match(payload)) return;
      clearTimeout(timer);
      emitter.off(name, onEvent);
      resolvePromise(payload);
    }
    emitter.on(name, onEvent);
  });
}

export async function getJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return response.json();
}

// ------------------------------------------------------------------ the mock's pricing rules

const UNIT_PRICE = { 'SKU-1': 1999, 'SKU-2': 4500 };
const DEFAULT_UNIT_PRICE = 1000;
const SHIPPING_COST = { standard: 599, express: 1499 };
const TAX_RATE = 0.0825;
/** The cart every ordinary cart id holds (mock/README.md). */
export const STANDARD_CART = Object.freeze([
  { sku: 'SKU-1', quantity: 2 },
  { sku: 'SKU-2', quantity: 1 },
]);

/**
 * The order total in cents, worked out from the mock's documented rules (mock/README.md),
 * independently of the Rust code: subtotal - discount + shipping + tax, where gold customers
 * (id containing "gold") get round(10%) off and tax is round(8.25% of subtotal - discount).
 */
export function expectedOrder({ customerId, items = STANDARD_CART, shippingOption = 'standard' }) {
  const subtotal = items.reduce((sum, { sku, quantity }) => sum + (UNIT_PRICE[sku] ?? DEFAULT_UNIT_PRICE) * quantity, 0);
  const discount = customerId.includes('gold') ? Math.round(subtotal * 0.1) : 0;
  const shipping = SHIPPING_COST[shippingOption];
  const tax = Math.round((subtotal - discount) * TAX_RATE);
  return { subtotal, discount, shipping, tax, total: subtotal - discount + shipping + tax };
}
