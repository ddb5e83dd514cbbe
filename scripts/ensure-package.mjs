// A build of the package that is there and not older than its sources, for the runs that
// load a build of their own: the chaos run (chaos/run.mjs) and the Node parts of the
// benchmark (bench/node/bff.mjs). No browser driver is loaded unless a build is needed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { newestPackageSource } from './package-sources.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The `--target` `target` build in `dir`, built with scripts/build-pkg.mjs when it is
 * missing or older than the sources (the rule bench/run.mjs follows), under the lock the
 * e2e tests take so that no two builds race. A nodejs build is marked CommonJS (the root
 * package.json says "type": "module"; the nodejs glue is CommonJS, as scripts/pack.mjs
 * marks it). A build the caller names (`given`) is used as it is.
 *
 * Resolves to `{ dir, given, built, builtAt, wasmBytes }`.
 */
export async function ensurePackage({ target, dir, given = null, log = () => {} }) {
  const out = given ? resolve(given) : dir;
  const wasm = join(out, 'parallel_composer_bg.wasm');
  const glue = join(out, 'parallel_composer.js');
  const markCommonJs = () => {
    if (target === 'nodejs') writeFileSync(join(out, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
  };
  const info = (built) => ({
    dir: out,
    given: Boolean(given),
    built,
    builtAt: new Date(statSync(wasm).mtimeMs).toISOString(),
    wasmBytes: statSync(wasm).size,
  });
  if (given) {
    if (!existsSync(wasm) || !existsSync(glue)) {
      throw new Error(`${out} holds no --target ${target} build (parallel_composer.js, parallel_composer_bg.wasm)`);
    }
    if (!existsSync(join(out, 'package.json'))) markCommonJs();
    return info(false);
  }
  const sources = newestPackageSource();
  const fresh = () => existsSync(wasm) && existsSync(glue) && statSync(wasm).mtimeMs >= sources.mtimeMs;
  let built = false;
  if (!fresh()) {
    log(`${relative(ROOT, out)}/ is ${existsSync(wasm) ? `older than ${relative(ROOT, sources.file)}` : 'missing'}: building it (--target ${target})`);
    // The lock's module loads playwright-core: imported only when a build is needed.
    const { withPkgBuildLock } = await import('../tests/e2e/helpers.mjs');
    await withPkgBuildLock(() => {
      if (fresh()) return; // another process built it while this one waited for the lock
      mkdirSync(dirname(out), { recursive: true });
      const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-pkg.mjs'), '--target', target, '--out-dir', relative(ROOT, out)],
        { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], timeout: 15 * 60_000 });
      if (r.status !== 0 || !fresh()) {
        throw new Error(`scripts/build-pkg.mjs --target ${target} failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
      }
    });
    built = true;
  }
  markCommonJs();
  return info(built);
}
