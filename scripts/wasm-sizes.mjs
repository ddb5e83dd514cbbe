#!/usr/bin/env node
// Where the .wasm's bytes go, function by function: the budget is 100 KB gzip
// (docs/performance.md), and a change that grows it shows here by name.
//
//   node scripts/wasm-sizes.mjs named <out.wasm>
//       a copy of the last release build (target/wasm32-unknown-unknown/release, as
//       `node scripts/build-pkg.mjs` leaves it) optimized as the package is, with the wasm-opt
//       flags of Cargo.toml, but keeping the functions' names (`-g`)
//   node scripts/wasm-sizes.mjs list <named.wasm> [regex] [--top N]
//       the largest functions (their code bytes, before gzip), those matching `regex` only
//   node scripts/wasm-sizes.mjs diff <before.wasm> <after.wasm> [--top N]
//       what grew and shrank between two named copies, by function name (the Rust hash
//       left off, so a function that only changed its hash compares with itself), and the
//       code and data sections' sizes
//
// A name is a guide, not a proof: wasm-opt merges functions with the same body, and the one
// left keeps one of their names.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = 'usage: node scripts/wasm-sizes.mjs named <out.wasm> | list <named.wasm> [regex] [--top N] | diff <before.wasm> <after.wasm> [--top N]';

/** The sections' sizes, and each defined function's code size with its name. */
function read(file) {
  const bytes = readFileSync(file);
  let at = 8;
  const leb = () => {
    let value = 0;
    let shift = 0;
    let byte;
    do {
      byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return value;
  };
  const skipName = () => {
    const length = leb();
    at += length;
  };
  let imported = 0;
  const sizes = [];
  const names = new Map();
  const sections = { code: 0, data: 0 };
  while (at < bytes.length) {
    const id = bytes[at++];
    const length = leb();
    const end = at + length;
    if (id === 2) imported = countFunctionImports(leb, skipName, () => bytes[at++]);
    if (id === 10) {
      sections.code = length;
      for (let n = leb(); n > 0; n--) {
        const size = leb();
        sizes.push(size);
        at += size;
      }
    }
    if (id === 11) sections.data = length;
    if (id === 0) readNames(bytes, () => at, (to) => { at = to; }, leb, end, names);
    at = end;
  }
  const functions = sizes.map((size, i) => ({ size, name: names.get(imported + i) ?? `function ${imported + i}` }));
  return { sections, functions };
}

/** How many of the imports are functions (they come first in the function index space). */
function countFunctionImports(leb, skipName, byte) {
  let functions = 0;
  for (let n = leb(); n > 0; n--) {
    skipName();
    skipName();
    const kind = byte();
    if (kind === 0) {
      leb();
      functions++;
    } else if (kind === 1) {
      byte();
      if (byte() & 1) leb();
      leb();
    } else if (kind === 2) {
      if (byte() & 1) leb();
      leb();
    } else if (kind === 3) {
      byte();
      byte();
    } else if (kind === 4) {
      byte();
      leb();
    }
  }
  return functions;
}

/** The function names of a custom `name` section, into `names`. */
function readNames(bytes, at, moveTo, leb, end, names) {
  const length = leb();
  const title = bytes.subarray(at(), at() + length).toString();
  moveTo(at() + length);
  if (title !== 'name') return;
  while (at() < end) {
    const sub = bytes[at()];
    moveTo(at() + 1);
    const size = leb();
    const subEnd = at() + size;
    if (sub === 1) {
      for (let n = leb(); n > 0; n--) {
        const index = leb();
        const nameLength = leb();
        names.set(index, bytes.subarray(at(), at() + nameLength).toString());
        moveTo(at() + nameLength);
      }
    }
    moveTo(subEnd);
  }
}

const unhashed = (name) => name.replace(/::h[0-9a-f]{16}$/, '');

function top(args) {
  const i = args.indexOf('--top');
  return i >= 0 ? Number(args[i + 1]) : 40;
}

function list(file, pattern, count) {
  const { sections, functions } = read(file);
  const match = new RegExp(pattern ?? '.');
  const rows = functions.filter((f) => match.test(f.name)).sort((a, b) => b.size - a.size);
  const sum = rows.reduce((total, f) => total + f.size, 0);
  console.log(`code section ${sections.code} bytes, data ${sections.data}; ${rows.length} functions matching, ${sum} bytes`);
  for (const f of rows.slice(0, count)) console.log(`${String(f.size).padStart(8)}  ${f.name}`);
}

function diff(before, after, count) {
  const sum = (functions) => {
    const by = new Map();
    for (const f of functions) by.set(unhashed(f.name), (by.get(unhashed(f.name)) ?? 0) + f.size);
    return by;
  };
  const [a, b] = [read(before), read(after)];
  const [sa, sb] = [sum(a.functions), sum(b.functions)];
  const rows = [...new Set([...sa.keys(), ...sb.keys()])]
    .map((name) => ({ name, change: (sb.get(name) ?? 0) - (sa.get(name) ?? 0) }))
    .filter((r) => r.change !== 0)
    .sort((x, y) => Math.abs(y.change) - Math.abs(x.change));
  const signed = (n) => (n > 0 ? `+${n}` : String(n));
  console.log(`code section ${a.sections.code} -> ${b.sections.code} (${signed(b.sections.code - a.sections.code)}), data ${a.sections.data} -> ${b.sections.data} (${signed(b.sections.data - a.sections.data)})`);
  for (const r of rows.slice(0, count)) console.log(`${signed(r.change).padStart(8)}  ${r.name}`);
}

/** The last release build, bound and optimized as the package is, names kept. */
function named(out) {
  const cargo = readFileSync(join(ROOT, 'Cargo.toml'), 'utf8');
  const line = cargo.split('\n').find((l) => l.startsWith('wasm-opt = ['));
  if (!line) throw new Error('Cargo.toml has no `wasm-opt = [...]` line to take the flags from');
  const flags = JSON.parse(line.slice(line.indexOf('[')));
  const built = join(ROOT, 'target/wasm32-unknown-unknown/release/parallel_composer.wasm');
  const dir = mkdtempSync(join(tmpdir(), 'pc-sizes-'));
  const run = (command, args) => {
    const done = spawnSync(command, args, { stdio: 'inherit' });
    if (done.status !== 0) throw new Error(`${command} ${args.join(' ')} failed`);
  };
  try {
    run('wasm-bindgen', ['--target', 'web', '--out-dir', dir, built]);
    run(join(ROOT, 'node_modules/.bin/wasm-opt'), ['-g', ...flags, join(dir, 'parallel_composer_bg.wasm'), '-o', resolve(out)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`wrote ${out}`);
}

const [command, ...args] = process.argv.slice(2);
const files = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--top');
if (command === 'named' && files.length === 1) named(files[0]);
else if (command === 'list' && files.length >= 1) list(files[0], files[1], top(args));
else if (command === 'diff' && files.length === 2) diff(files[0], files[1], top(args));
else {
  console.error(USAGE);
  process.exit(2);
}
