#!/usr/bin/env node
// Builds the wasm package: `wasm-pack build --release`, then the JS glue in one file.
//
//   node scripts/build-pkg.mjs [--target web|bundler|nodejs] [--out-dir pkg] [--dev]
//
// Plain `wasm-pack build --target <any>` already gives a complete module: `ComposeError`
// (js/report.js) is re-exported by wasm-bindgen itself (`#[wasm_bindgen(reexport)]`
// in src/bindings/records.rs), so `import { ComposeError } from './pkg/parallel_composer.js'`
// works; this script checks that it is there.
//
// What it adds, for the web and nodejs targets: the glue and its js/ snippets, which
// wasm-bindgen leaves as four files, become one (esbuild; see bundleGlue). In a browser
// that loads the glue as a module, the snippets were a second round of requests after the
// glue itself, measured at about half the cold start's import time (docs/performance.md,
// part D). For Node it also makes the snippets CommonJS: wasm-bindgen copies them as ES
// modules, which the CommonJS glue cannot require() on Node 20 before 20.19. The bundler
// target is left as wasm-bindgen writes it: the application's bundler flattens it.
// scripts/pack.mjs runs this once per target to make the npm package.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shortenNames } from './short-names.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const target = option('--target', 'web');
const outDir = resolve(root, option('--out-dir', 'pkg'));
const dev = args.includes('--dev');

const env = { ...process.env };
env.PATH = [join(root, 'node_modules', '.bin'), join(env.HOME ?? '/root', '.cargo', 'bin'), env.PATH].join(':');
if (!dev) env.RUSTFLAGS = [env.RUSTFLAGS, ...registryRemaps()].filter(Boolean).join(' ');
// wasm-pack writes over the out dir but leaves files a previous build made there: a js/
// snippet the crate no longer imports would be shipped (and, for nodejs, converted).
rmSync(join(outDir, 'snippets'), { recursive: true, force: true });
const build = spawnSync(
  'wasm-pack',
  ['build', dev ? '--dev' : '--release', '--target', target, '--out-dir', outDir, '--no-pack'],
  { cwd: root, env, stdio: 'inherit' },
);
if (build.status !== 0) {
  console.error(`build-pkg: wasm-pack build --target ${target} failed (exit ${build.status})`);
  process.exit(build.status ?? 1);
}

const entry = join(outDir, 'parallel_composer.js');
if (!existsSync(entry)) {
  console.error(`build-pkg: ${entry} was not produced`);
  process.exit(1);
}
// The bundler target's entry re-exports the bindings from parallel_composer_bg.js.
const exporter = target === 'bundler' ? join(outDir, 'parallel_composer_bg.js') : entry;
const exported = {
  nodejs: 'exports.ComposeError = ComposeError;',
  web: 'export { ComposeError }',
  bundler: 'export { ComposeError }',
}[target];
if (!exported) {
  console.error(`build-pkg: unknown --target ${target} (web, bundler or nodejs)`);
  process.exit(1);
}
if (!readFileSync(exporter, 'utf8').includes(exported)) {
  console.error(`build-pkg: ${exporter} does not export ComposeError; did the binding's reexport change?`);
  process.exit(1);
}
// Release builds: the .wasm's imports and exports named short, not with wasm-bindgen's
// hashes (scripts/short-names.mjs says why), in the glue that names them (the bundler
// target's entry and its _bg.js).
try {
  if (!dev) shortenNames(join(outDir, 'parallel_composer_bg.wasm'), [...new Set([entry, exporter])]);
} catch (e) {
  console.error(`build-pkg: ${e.message}`);
  process.exit(1);
}
if (target !== 'bundler') bundleGlue(entry, target);
console.log(`build-pkg: ${target} package in ${outDir}`);

/**
 * Bundles the glue `entry` and the js/ snippets it imports into `entry` itself (an ES
 * module for web, CommonJS for nodejs), and removes the snippets. Comments go (the .d.ts
 * keeps the documentation); nothing is minified, so a stack trace still reads.
 */
function bundleGlue(entry, target) {
  const snippets = join(dirname(entry), 'snippets');
  if (!existsSync(snippets)) {
    console.error(`build-pkg: no snippets under ${snippets}; did the binding change?`);
    process.exit(1);
  }
  // The nodejs glue names each snippet as require(String.raw`./snippets/...`), a tagged
  // template esbuild does not follow; the same path as a plain string is followed. It is
  // bundled from a .cjs copy: under a package.json that says "type": "module" (this
  // repository's), esbuild would read the CommonJS glue as an ES module.
  let input = entry;
  if (target === 'nodejs') {
    input = entry.replace(/\.js$/, '.cjs');
    const source = readFileSync(entry, 'utf8');
    writeFileSync(input, source.replace(/require\(String\.raw`(\.\/snippets\/[^`\\]+)`\)/g, (_, path) => `require(${JSON.stringify(path)})`));
  }
  const format = target === 'nodejs' ? ['--format=cjs', '--platform=node'] : ['--format=esm', '--platform=browser'];
  // The glue lists js/value.js several times in its imports object, once for each Rust
  // module that imports from it, under the same key and the same module: esbuild's warning
  // about the duplicate key says nothing about our code, so it is not printed.
  const quiet = ['--log-override:duplicate-object-key=silent'];
  // V8's explicit compile hint (Chromium 136+; a plain comment to every other engine): the
  // first composition calls most of the glue, which V8 would otherwise compile function by
  // function on the main thread as each is first called. With the hint it compiles them on
  // a background thread while the file streams in. Measured in fresh contexts alternating
  // with the glue without it: the first compose() 4-7 ms shorter, import to the first
  // result 0-7 ms shorter (docs/performance.md, part D). Not for Node, which loads the glue
  // from disk once per process.
  const hint = target === 'web' ? ['--banner:js=//# allFunctionsCalledOnLoad'] : [];
  const bundle = spawnSync(
    'esbuild',
    [input, '--bundle', ...format, ...hint, '--log-level=warning', ...quiet, `--outfile=${entry}`, '--allow-overwrite'],
    { cwd: root, env, stdio: 'inherit' },
  );
  if (input !== entry) rmSync(input, { force: true });
  if (bundle.status !== 0) {
    console.error(`build-pkg: esbuild could not bundle ${entry} (exit ${bundle.status})`);
    process.exit(bundle.status ?? 1);
  }
  const left = /(?:from\s*|require\()\s*(?:String\.raw)?[`'"]\.\/snippets\//.exec(readFileSync(entry, 'utf8'));
  if (left) {
    console.error(`build-pkg: ${entry} still loads a snippet after bundling: ${left[0]}`);
    process.exit(1);
  }
  rmSync(snippets, { recursive: true, force: true });
}

/**
 * `--remap-path-prefix` for Cargo's registry: a panic message in a dependency (futures'
 * "`async fn` resumed after completion", say) carries its file's path, which would otherwise
 * be this machine's (`/root/.cargo/registry/src/index.crates.io-…/futures-util-0.3.34/…`).
 * The release .wasm names `crates/futures-util-0.3.34/…` instead: the same bytes whoever
 * builds it, no build machine's paths in what ships, and 49 bytes less of the .wasm's gzip
 * budget, 30 more for the registry's directory (`index.crates.io-<hash>`, one prefix per
 * registry Cargo has unpacked) left out too. Release builds only, so the test builds keep
 * their own cache.
 */
function registryRemaps() {
  const cargoHome = process.env.CARGO_HOME ?? join(process.env.HOME ?? '/root', '.cargo');
  const src = join(cargoHome, 'registry', 'src');
  const registries = existsSync(src) ? readdirSync(src) : [];
  return [`--remap-path-prefix=${src}=crates`, ...registries.map((r) => `--remap-path-prefix=${join(src, r)}=crates`)];
}
