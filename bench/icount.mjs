#!/usr/bin/env node
// Before and after, counted: the CPU instructions one composition of part B's plans costs in
// Node, for two nodejs builds, under valgrind's instruction counter. Where bench/ab.mjs
// times the builds side by side in Chromium (a one-build run against itself there spreads
// x0.85-1.09), a count does not depend on the machine's minute: one build against itself,
// and two builds of the same code, count x1.000.
//
//   node bench/icount.mjs <nodejs package dir A> <nodejs package dir B>
//                         [--shapes deep,wide,random] [--reps 20] [--not-frozen]
//
// Build each dir with `node scripts/build-pkg.mjs --target nodejs --out-dir <dir>`. Needs
// valgrind (Debian's `valgrind` package). Each build and shape runs twice in a fresh
// `node --predictable --single-threaded --no-liftoff` (V8's own work then happens the same way
// each time, and the wasm is compiled by its optimizing compiler from the start: with its
// baseline compiler first, when a function moved up a tier depended on the module's layout,
// and two builds of the same code, only a panic message's line number apart, counted x1.13
// apart; with --no-liftoff, x1.000), without address randomization where `setarch -R` can turn it off, 5 and 5 + reps
// compositions after 5 unmeasured ones (over the plan frozen all the way down, or with
// --not-frozen as written, which compose() checks for changes each time), each after a forced garbage
// collection; the difference over `reps` is one composition's count. A run with no
// composition at all counts what the forced collection alone costs, which is taken off.
// The count includes V8's compiler and collector, as a user's process pays them.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { ensurePackage } from '../scripts/ensure-package.mjs';
import { BENCH_DIR, CFG, compareArgs, configure, exitWith } from './parts/shared.mjs';

const USAGE = 'usage: node bench/icount.mjs <nodejs package dir A> <nodejs package dir B> [--shapes deep,wide,random] [--reps 20] [--not-frozen]';
const { dirs: given, opts } = compareArgs('bench/icount', USAGE, {
  '--shapes': ['shapes', 'shapes'],
  '--reps': ['reps', 'count'],
  '--not-frozen': ['frozen', false],
}, { shapes: ['deep', 'wide', 'random'], reps: 20, frozen: true });
const dirs = given.map((dir) => resolve(dir));
for (const dir of dirs) {
  if (!existsSync(join(dir, 'parallel_composer.js'))) exitWith(`bench/icount: no nodejs package in ${dir}`);
  // Marked CommonJS where it is not yet: a dir under this repository (target/, say) is
  // otherwise read as an ES module, by the root package.json's "type": "module".
  await ensurePackage({ target: 'nodejs', given: dir });
}
if (spawnSync('valgrind', ['--version']).status !== 0) exitWith('bench/icount: valgrind is not installed (apt-get install valgrind)');

// The measured process: part B's plans (bench/page/contract.js, sized as bench/run.mjs sizes
// them), the stub fetch, the plan frozen unless --not-frozen.
configure([]);
const child = join(tmpdir(), `icount-child-${process.pid}.cjs`);
process.on('exit', () => rmSync(child, { force: true }));
writeFileSync(child, `
const [dir, shape, reps, none] = process.argv.slice(2);
const pc = require(dir + '/parallel_composer.js');
import(${JSON.stringify(join(BENCH_DIR, 'page', 'contract.js'))}).then(async (c) => {
  const deps = c.graphDeps(shape, ${CFG.engineCalls}, { edges: ${CFG.engineRandomEdges}, seed: ${CFG.engineSeed} });
  const plan = ${opts.frozen ? 'c.frozenCopy(c.planOf(deps))' : 'c.planOf(deps)'};
  const stand = c.instantFetch('stub');
  const run = none === '1' ? async () => {} : () => pc.compose(plan, {}, { fetch: stand.fetch });
  for (let i = 0; i < 5; i++) await run();
  for (let i = 0; i < Number(reps); i++) { gc(); await run(); }
});
`);

const fixedLayout = spawnSync('setarch', ['-R', 'true']).status === 0;

/** Instructions of one run of the child. */
function count(dir, shape, reps, none) {
  const args = ['valgrind', '--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null',
    process.execPath, '--expose-gc', '--predictable', '--single-threaded', '--no-liftoff', child, dir, shape, String(reps), none ? '1' : '0'];
  const r = fixedLayout
    ? spawnSync('setarch', ['-R', ...args], { encoding: 'utf8' })
    : spawnSync(args[0], args.slice(1), { encoding: 'utf8' });
  const m = /I\s+refs:\s+([\d,]+)/.exec(r.stderr);
  if (r.status !== 0 || !m) exitWith(`bench/icount: the measured run failed\n${r.stderr.slice(-2000)}`);
  return Number(m[1].replaceAll(',', ''));
}

/** Instructions per rep: the difference between 5 and 5 + reps. */
const perRep = (dir, shape, none) => (count(dir, shape, 5 + opts.reps, none) - count(dir, shape, 5, none)) / opts.reps;

const collection = perRep(dirs[0], 'deep', true);
console.log(`A = ${dirs[0]}\nB = ${dirs[1]}\nstub fetch, plan ${opts.frozen ? 'frozen' : 'not frozen'}, ${opts.reps} compositions; a forced collection alone: ${(collection / 1e6).toFixed(1)} M instructions, taken off`);
for (const shape of opts.shapes) {
  const [a, b] = dirs.map((dir) => perRep(dir, shape, false) - collection);
  const perCall = (x) => `${(x / CFG.engineCalls / 1000).toFixed(1)} K per call`;
  console.log(`${shape.padEnd(6)}  A ${(a / 1e6).toFixed(1)} M (${perCall(a)})  B ${(b / 1e6).toFixed(1)} M (${perCall(b)})  B/A x${(b / a).toFixed(3)}`);
}
