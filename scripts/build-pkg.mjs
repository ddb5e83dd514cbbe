#!/usr/bin/env node
// Builds the wasm package: `wasm-pack build --release`, plus the one thing wasm-pack cannot
// do for the nodejs target.
//
//   node scripts/build-pkg.mjs [--target web|bundler|nodejs] [--out-dir pkg] [--dev]
//
// Plain `wasm-pack build --target <any>` already gives a complete module: `ComposeError`
// (js/compose-error.js) is re-exported by wasm-bindgen itself (`#[wasm_bindgen(reexport)]`
// in src/bindings/records.rs), so `import { ComposeError } from './pkg/parallel_composer.js'`
// works; this script only checks that it is there. What wasm-pack cannot do: the nodejs
// target's glue is CommonJS and require()s the js/ snippets, which wasm-bindgen 0.2.130
// still copies unchanged as ES modules; Node 20 before 20.19 cannot require() an ES module
// ("Unexpected token 'export'"), so for --target nodejs the snippets are turned into
// CommonJS (see snippetsToCommonJs). scripts/pack.mjs runs this once per target to make
// the npm package.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

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
if (target === 'nodejs') snippetsToCommonJs(join(outDir, 'snippets'));
console.log(`build-pkg: ${target} package in ${outDir}`);

/**
 * The nodejs target's glue is CommonJS and require()s the snippets (js/*.js), which
 * wasm-bindgen copies unchanged, as ES modules. Only Node 20.19+ and 22.12+ can require()
 * an ES module, so on the Node 20 the package supports the glue would throw "Unexpected
 * token 'export'". The snippets export only top-level classes and functions and import
 * nothing, which makes the conversion a matter of moving the `export` keywords to
 * `module.exports` lines; anything else is refused rather than half converted.
 */
function snippetsToCommonJs(dir) {
  const files = existsSync(dir) ? readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.js')) : [];
  if (files.length === 0) {
    console.error(`build-pkg: no snippets under ${dir}; did the binding change?`);
    process.exit(1);
  }
  for (const file of files) {
    const path = join(dir, file);
    const names = [];
    const source = readFileSync(path, 'utf8').replace(/^export ((?:async )?(?:function|class) ([A-Za-z_$][\w$]*))/gm, (_, decl, name) => {
      names.push(name);
      return decl;
    });
    const left = /^\s*(?:export|import)\b.*$/m.exec(source);
    if (left || names.length === 0) {
      console.error(`build-pkg: cannot turn ${path} into CommonJS (${left ? `line: ${left[0]}` : 'it exports nothing'})`);
      process.exit(1);
    }
    const exportsLines = names.map((name) => `module.exports.${name} = ${name};`).join('\n');
    writeFileSync(path, `'use strict';\n${source}\n${exportsLines}\n`);
  }
}
