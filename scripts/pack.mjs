#!/usr/bin/env node
// Makes the npm package `parallel-composer` and packs it with `npm pack`.
//
//   node scripts/pack.mjs [--out-dir target/npm]
//
// Builds the three wasm-pack targets with scripts/build-pkg.mjs (release, npm's wasm-opt with
// the Cargo.toml settings, the ComposeError export), each into its own folder of the package:
//
//   web/      --target web      ES module; call the default export init() once, which fetches
//                               parallel_composer_bg.wasm next to it (new URL(..., import.meta.url),
//                               which Vite and webpack 5 turn into an asset without plugins)
//   node/     --target nodejs   CommonJS that reads the .wasm synchronously at require time
//   bundler/  --target bundler  `import ... from "./parallel_composer_bg.wasm"` (the wasm ESM
//                               integration: webpack's asyncWebAssembly, vite-plugin-wasm)
//
// then writes package.json (version from Cargo.toml, exports per condition), copies README.md
// and the licences, and runs `npm pack` into OUT_DIR (default target/npm/). Build logs go to
// stderr; stdout gets exactly one line: the tarball's absolute path.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outIndex = args.indexOf('--out-dir');
const outDir = resolve(root, outIndex >= 0 ? args[outIndex + 1] : join('target', 'npm'));
const stage = join(outDir, 'package');

function fail(message) {
  console.error(`pack: ${message}`);
  process.exit(1);
}

/** The [package] version and description in Cargo.toml: the npm version is the crate's. */
function crateField(name) {
  const toml = readFileSync(join(root, 'Cargo.toml'), 'utf8');
  const section = toml.slice(toml.indexOf('[package]'), toml.indexOf('\n[', toml.indexOf('[package]') + 1));
  const match = new RegExp(`^${name} = "([^"]*)"$`, 'm').exec(section);
  if (!match) fail(`no ${name} in Cargo.toml's [package]`);
  return match[1];
}

/** Folder in the package of each wasm-pack target. */
export const TARGETS = { web: 'web', nodejs: 'node', bundler: 'bundler' };

/** The package.json of the published package. */
export function manifest(version, description) {
  const entry = (dir) => ({ types: `./${dir}/parallel_composer.d.ts`, default: `./${dir}/parallel_composer.js` });
  return {
    name: 'parallel-composer',
    version,
    description,
    keywords: ['wasm', 'fetch', 'concurrency', 'dependency-graph', 'composition', 'backend-for-frontend'],
    license: 'MIT OR Apache-2.0',
    repository: { type: 'git', url: 'git+https://github.com/parallel-composer/parallel-composer.git' },
    type: 'module',
    // Node first: any Node process (a backend-for-frontend, SSR, a test runner) gets the
    // build that loads its .wasm from disk; the web build's init() would fetch() it. Browsers
    // and bundlers (Vite, webpack, esbuild; module workers too) get the web build.
    exports: {
      '.': {
        node: entry('node'),
        browser: entry('web'),
        import: entry('web'),
        default: entry('web'),
      },
      './web': entry('web'),
      './node': entry('node'),
      './bundler': entry('bundler'),
      './parallel_composer_bg.wasm': './web/parallel_composer_bg.wasm',
      './package.json': './package.json',
    },
    // For tools that predate `exports`.
    main: './node/parallel_composer.js',
    module: './web/parallel_composer.js',
    types: './web/parallel_composer.d.ts',
    files: ['web/', 'node/', 'bundler/', 'README.md', 'LICENSE-MIT', 'LICENSE-APACHE'],
    // Side-effect free, but for one file. The web build does nothing until init(); the node
    // build instantiates its .wasm at require time, which nothing outside it sees. The bundler
    // build's entry is the module that hands the .wasm to the bindings it re-exports: declared
    // free of side effects, Vite skips it for those re-exports and the functions run without
    // a .wasm (tests/consumers/vite.test.mjs shows it). A nested package.json cannot say this:
    // Vite reads the package's own.
    sideEffects: ['./bundler/parallel_composer.js'],
    engines: { node: '>=20' },
  };
}

function build(target) {
  const dir = join(stage, TARGETS[target]);
  const result = spawnSync(process.execPath, [join(root, 'scripts', 'build-pkg.mjs'), '--target', target, '--out-dir', dir], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  process.stderr.write(result.stdout + result.stderr);
  if (result.status !== 0) fail(`scripts/build-pkg.mjs --target ${target} failed (exit ${result.status})`);
  // Same checks as the release step of scripts/test.sh: npm's wasm-opt ran, and wasm-pack
  // did not fetch a wasm-bindgen of its own.
  const wasmOpt = join(root, 'node_modules', '.bin', 'wasm-opt');
  if (!result.stderr.includes(`found wasm-opt at "${wasmOpt}"`)) fail(`wasm-pack did not report using ${wasmOpt} for --target ${target}`);
  if (result.stderr.includes('Installing wasm-bindgen')) fail('wasm-pack installed its own wasm-bindgen; run scripts/setup.sh');
  rmSync(join(dir, '.gitignore'), { force: true }); // wasm-pack's `*`, which npm pack would obey
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  for (const target of Object.keys(TARGETS)) build(target);

  // One cargo build serves the three targets: only the JS glue differs.
  const wasm = Object.values(TARGETS).map((dir) => readFileSync(join(stage, dir, 'parallel_composer_bg.wasm')));
  if (!wasm.every((bytes) => bytes.equals(wasm[0]))) fail('the three targets were given different .wasm files');

  // In a "type": "module" package, the CommonJS node build needs its folder marked as such.
  writeFileSync(join(stage, 'node', 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);

  const version = crateField('version');
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest(version, crateField('description')), null, 2)}\n`);
  for (const file of ['README.md', 'LICENSE-MIT', 'LICENSE-APACHE']) {
    if (!existsSync(join(root, file))) fail(`${file} is missing`);
    cpSync(join(root, file), join(stage, file));
  }

  const pack = spawnSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', outDir], {
    cwd: stage,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (pack.status !== 0) fail(`npm pack failed (exit ${pack.status})`);
  const [{ filename, size, unpackedSize, entryCount }] = JSON.parse(pack.stdout);
  const tarball = join(outDir, filename);
  if (!existsSync(tarball)) fail(`npm pack did not write ${tarball}`);
  console.error(`pack: ${filename}: ${entryCount} files, ${size} bytes packed, ${unpackedSize} bytes unpacked`);
  console.log(tarball);
}
