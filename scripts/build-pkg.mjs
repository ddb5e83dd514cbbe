#!/usr/bin/env node
// Builds the wasm package and makes `ComposeError` one of its named exports.
//
//   node scripts/build-pkg.mjs [--target web|bundler|nodejs] [--out-dir pkg] [--dev]
//
// ComposeError is a JavaScript class (a real Error subclass) that the Rust code imports
// from js/compose-error.js; wasm-bindgen copies that file into the package but cannot
// re-export it, so this adds the one export line to the generated entry module.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
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
let glue = readFileSync(entry, 'utf8');
if (!/ComposeError/.test(glue)) {
  console.error('build-pkg: the glue does not import ComposeError; did the binding change?');
  process.exit(1);
}
const line = target === 'nodejs' ? 'module.exports.ComposeError = ComposeError;' : 'export { ComposeError };';
if (!glue.includes(line)) {
  glue += `\n${line}\n`;
  writeFileSync(entry, glue);
}
console.log(`build-pkg: ${target} package in ${outDir}`);
