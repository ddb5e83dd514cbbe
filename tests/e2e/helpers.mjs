// Shared pieces of the end-to-end tests (not a test file itself: node --test picks up *.test.mjs).
//
// Environment:
//   PC_CHROMIUM            the Chromium binary (default /usr/bin/chromium; never downloaded)
//   PC_E2E_HEADFUL=1       show the browser window
//   PC_E2E_PKG_DIR         smoke-test another --target web build instead of pkg/
import { chromium } from 'playwright-core';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { deflateSync, inflateSync } from 'node:zlib';
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

// ------------------------------------------------------------------ PNG size

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** PNG's CRC-32 (zlib.crc32 is newer than the Node 20 this runs on). */
function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Rewrites an 8-bit RGB or RGBA PNG (what Chromium's screenshots are) losslessly and much
 * smaller: every row unfiltered ("None") and deflated at level 9. Chromium picks a filter per
 * row and a fast level, which suits photos; for a page of flat colour and text, plain rows
 * let deflate find the long repeats, about 20% smaller. Used for the committed screenshot.
 */
export function compactPng(src, dest = src) {
  const data = readFileSync(src);
  if (!data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) throw new Error(`${src} is not a PNG`);
  let ihdr = null;
  const idat = [];
  for (let at = 8; at < data.length;) {
    const length = data.readUInt32BE(at);
    const type = data.toString('latin1', at + 4, at + 8);
    const body = data.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') ihdr = body;
    if (type === 'IDAT') idat.push(body);
    at += 12 + length;
  }
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const [depth, colour, , , interlace] = ihdr.subarray(8, 13);
  const channels = { 2: 3, 6: 4 }[colour];
  if (depth !== 8 || !channels || interlace !== 0) throw new Error(`${src}: only 8-bit RGB/RGBA, not interlaced`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(height * (stride + 1));
  let previous = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? line[x - channels] : 0;
      const b = previous[x];
      const c = x >= channels ? previous[x - channels] : 0;
      let predictor = 0;
      if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) {
        const pa = Math.abs(b - c);
        const pb = Math.abs(a - c);
        const pc = Math.abs(a + b - 2 * c);
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      line[x] = (line[x] + predictor) & 0xff;
    }
    line.copy(out, y * (stride + 1) + 1); // filter byte 0: None
    previous = line;
  }
  const chunk = (type, body) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
    return Buffer.concat([head, body, crc]);
  };
  const png = Buffer.concat([
    data.subarray(0, 8),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(out, { level: 9, memLevel: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  writeFileSync(dest, png);
  return png.length;
}
