// Part D of the benchmark (see bench/run.mjs): the package's sizes, and its cold start in a
// fresh browser context (import of the glue, init(), a first compose()) next to a floor: the
// import of a plain JavaScript module of the same byte size as the .wasm + glue, served by
// the same static server with the same headers (no compression: the server sends none, for
// the package either).
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

import {
  BENCH_DIR, PKG_DIR, WASM_FILE, CFG, log, check, withTimeout, stats, round, rotated, kib, gzip9, jsFiles,
} from './shared.mjs';

export const FLOOR_DIR = join(BENCH_DIR, 'out', 'floor'); // served at /floor/ (bench/out/ is not committed)
export const FLOOR_FILE = 'floor-module.js';

function packageSizes() {
  const glue = jsFiles(PKG_DIR);
  return {
    wasmBytes: statSync(WASM_FILE).size,
    wasmGzipBytes: gzip9(WASM_FILE),
    glueFiles: glue.map((f) => relative(PKG_DIR, f)),
    glueBytes: glue.reduce((a, f) => a + statSync(f).size, 0),
    glueGzipBytes: glue.reduce((a, f) => a + gzip9(f), 0), // each file is its own HTTP response
  };
}

/**
 * Writes the floor module: exactly as many bytes as the .wasm plus the JS glue files, made
 * of small distinct functions (ordinary code for V8 to parse), a default export that calls
 * two of them, and a comment padding it to the byte. Called before the static server starts
 * (it mounts FLOOR_DIR at /floor/). Returns { bytes, functions, expected } where expected is
 * what the default export returns for 7.
 */
export function prepareFloor() {
  const s = packageSizes();
  const bytes = s.wasmBytes + s.glueBytes;
  const head = '// The floor of part D (bench/parts/d.mjs): a plain JavaScript module as large as the package\'s .wasm + glue.\n';
  const parts = [head];
  let size = Buffer.byteLength(head);
  const fn = (i) => `function f${i}(a, b = ${i % 97}) {\n  const c = a * ${i} + b;\n  return c > ${i % 61} ? c - ${i % 61} : c + ${i};\n}\n`;
  const tail = (last) => `export default function floor(x) {\n  return f0(x) + f${last}(x);\n}\n`;
  let i = 0;
  // Leave room for the default export and a padding comment of at least "/*  */\n".
  while (size + Buffer.byteLength(fn(i)) + Buffer.byteLength(tail(i)) + 16 <= bytes) {
    const f = fn(i);
    parts.push(f);
    size += Buffer.byteLength(f);
    i++;
  }
  if (i === 0) throw new Error(`the package is too small (${bytes} bytes) for a floor module`);
  const last = i - 1;
  const end = tail(last);
  size += Buffer.byteLength(end);
  const pad = bytes - size; // >= 16
  parts.push(`/*${'.'.repeat(pad - 5)}*/\n`, end);
  const text = parts.join('');
  if (Buffer.byteLength(text) !== bytes) throw new Error(`floor module is ${Buffer.byteLength(text)} bytes, not ${bytes}`);
  mkdirSync(FLOOR_DIR, { recursive: true });
  writeFileSync(join(FLOOR_DIR, FLOOR_FILE), text);
  const f = (k, a, b = k % 97) => {
    const c = a * k + b;
    return c > k % 61 ? c - (k % 61) : c + k;
  };
  return { bytes, functions: i, expected: f(0, 7) + f(last, 7) };
}

export async function partD(ctx) {
  const { bare, web, results, floor } = ctx;
  const sizes = packageSizes();
  log(`\nD. package: .wasm ${sizes.wasmBytes} bytes (${kib(sizes.wasmGzipBytes)} gzip -9); JS glue ${sizes.glueFiles.length} files, ${kib(sizes.glueGzipBytes)} gzip -9; `
    + `floor: a plain JS module of ${floor.bytes} bytes (${floor.functions} small functions)`);
  check('D: the .wasm and its glue are there', sizes.wasmBytes > 0 && sizes.wasmGzipBytes > 0 && sizes.glueGzipBytes > 0);
  check(`D: the floor module is ${floor.bytes} bytes = .wasm ${sizes.wasmBytes} + glue ${sizes.glueBytes}`,
    statSync(join(FLOOR_DIR, FLOOR_FILE)).size === sizes.wasmBytes + sizes.glueBytes);

  const coldPackage = async (page) => page.evaluate(async () => {
    const t0 = performance.now();
    const mod = await import('/pkg/parallel_composer.js');
    const t1 = performance.now();
    await mod.default();
    const t2 = performance.now();
    const reply = { id: 7 };
    const fetchNow = () => Promise.resolve({ status: 200, ok: true, json: () => Promise.resolve(reply) });
    const plan = { calls: { a: { url: 'https://bench.invalid/a' }, b: { url: 'https://bench.invalid/b/{a.id}' } } };
    const { data } = await mod.compose(plan, {}, { fetch: fetchNow });
    const t3 = performance.now();
    const wasmRequests = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.wasm')).length;
    return { importMs: t1 - t0, initMs: t2 - t1, composeMs: t3 - t2, firstComposeMs: t3 - t0, ok: data.a === reply && data.b === reply, wasmRequests };
  });
  // The floor's context then fetches the .wasm's bytes alone, as the second request of a
  // fresh context (as init()'s is), without compiling them: what init() cannot go below.
  const coldFloor = async (page) => page.evaluate(async (file) => {
    const t0 = performance.now();
    const mod = await import(`/floor/${file}`);
    const t1 = performance.now();
    const value = mod.default(7);
    const t2 = performance.now();
    const bytes = await (await fetch('/pkg/parallel_composer_bg.wasm')).arrayBuffer();
    const t3 = performance.now();
    return { importMs: t1 - t0, callMs: t2 - t1, value, wasmFetchMs: t3 - t2, wasmBytes: bytes.byteLength };
  }, FLOOR_FILE);
  // Each cold load in a fresh context (empty HTTP cache, nothing compiled for it), in the
  // Chromium with no DevTools network domain (./bare-page.mjs), which adds to every request
  // of a page it watches; the package and the floor alternate which goes first.
  const cold = async (what, fn, pageFile = 'blank.html') => {
    const page = await withTimeout(bare.newPage(new URL(pageFile, web.url).href, { fresh: true }), 30_000, 'cold page load');
    try {
      return await withTimeout(fn(page), 60_000, what);
    } finally {
      await page.close();
    }
  };
  // The same cold load on a page that preloads the .wasm as the README shows
  // (preload.html), which starts its request with the page rather than when init() runs.
  const loads = [];
  const preloaded = [];
  const floors = [];
  const kinds = ['package', 'preloaded', 'floor'];
  for (let k = 0; k < CFG.coldLoads; k++) {
    for (const which of rotated(kinds, k)) {
      if (which === 'package') loads.push(await cold('cold import + init + compose', coldPackage));
      else if (which === 'preloaded') preloaded.push(await cold('cold import + init + compose, the .wasm preloaded', coldPackage, 'preload.html'));
      else floors.push(await cold('cold import of the floor module', coldFloor));
    }
  }
  check(`D: ${loads.length} cold loads: init() and a first compose() worked`, loads.length === CFG.coldLoads && loads.every((l) => l.ok));
  check(`D: ${preloaded.length} cold loads with the .wasm preloaded: init() and a first compose() worked, the .wasm requested once`,
    preloaded.length === CFG.coldLoads && preloaded.every((l) => l.ok && l.wasmRequests === 1), JSON.stringify(preloaded.map((l) => l.wasmRequests)));
  check(`D: ${floors.length} cold imports of the floor module, its default export returned ${floor.expected}`,
    floors.length === CFG.coldLoads && floors.every((f) => f.value === floor.expected), JSON.stringify(floors.map((f) => f.value)));
  for (const [scenario, runs] of [['cold-load', loads], ['cold-load-preloaded', preloaded]]) {
    for (const [impl, key] of [['import', 'importMs'], ['init', 'initMs'], ['first-compose', 'composeMs'], ['import+init+compose', 'firstComposeMs']]) {
      const s = stats(runs.map((l) => l[key]));
      results.entries.push({ part: 'D', scenario, impl, runs: s.n, medianMs: round(s.median), p90Ms: round(s.p90) });
    }
  }
  const fs = stats(floors.map((f) => f.importMs));
  results.entries.push({ part: 'D', scenario: 'cold-load', impl: 'floor-js-import', bytes: floor.bytes, runs: fs.n, medianMs: round(fs.median), p90Ms: round(fs.p90) });
  check(`D: ${floors.length} cold fetches of the .wasm's ${sizes.wasmBytes} bytes alone`, floors.every((f) => f.wasmBytes === sizes.wasmBytes));
  const ff = stats(floors.map((f) => f.wasmFetchMs));
  results.entries.push({ part: 'D', scenario: 'cold-load', impl: 'floor-wasm-fetch', bytes: sizes.wasmBytes, runs: ff.n, medianMs: round(ff.median), p90Ms: round(ff.p90) });
  results.package = { ...sizes, floorModuleBytes: floor.bytes, floorModuleFunctions: floor.functions };
}
