// The packed tarball itself (scripts/pack.mjs): its package.json, and its file list: every
// file `exports` names and every file those import, and nothing of the repository besides
// (no Rust source, no tests, no mock, no demo page).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { tarballEntries, tarballPath, crateVersion, ROOT } from './helpers.mjs';

const files = tarballEntries(tarballPath());
const manifest = JSON.parse(files.get('package.json').toString('utf8'));

/** Every file path a package.json `exports` value names, with the conditions leading to it. */
function exportTargets(value, conditions = []) {
  if (typeof value === 'string') return [[conditions.join(' > '), value]];
  return Object.entries(value).flatMap(([key, inner]) => exportTargets(inner, [...conditions, key]));
}

test('package.json: name, version from Cargo.toml, licence, repository, engines, files', () => {
  assert.equal(manifest.name, 'parallel-composer');
  assert.equal(manifest.version, crateVersion());
  assert.equal(manifest.license, 'MIT OR Apache-2.0');
  assert.match(manifest.repository.url, /^git\+https:\/\/github\.com\/.+\.git$/);
  assert.equal(manifest.engines.node, '>=20');
  assert.equal(manifest.type, 'module');
  assert.deepEqual(manifest.files, ['web/', 'node/', 'bundler/', 'README.md', 'LICENSE-MIT', 'LICENSE-APACHE']);
  assert.equal(manifest.private, undefined);
  assert.equal(manifest.scripts, undefined, 'no install scripts');
  assert.equal(manifest.dependencies, undefined, 'no dependencies');
});

test('exports: node build for Node, web build for browsers and bundlers, each with its types', () => {
  const root = manifest.exports['.'];
  assert.deepEqual(Object.keys(root), ['node', 'browser', 'import', 'default'], 'Node is matched first');
  assert.deepEqual(root.node, { types: './node/parallel_composer.d.ts', default: './node/parallel_composer.js' });
  for (const condition of ['browser', 'import', 'default']) {
    assert.deepEqual(root[condition], { types: './web/parallel_composer.d.ts', default: './web/parallel_composer.js' }, condition);
  }
  for (const build of ['web', 'node', 'bundler']) {
    assert.deepEqual(manifest.exports[`./${build}`], { types: `./${build}/parallel_composer.d.ts`, default: `./${build}/parallel_composer.js` });
  }
  for (const [conditions, target] of exportTargets(manifest.exports)) {
    assert.ok(files.has(posix.normalize(target)), `exports ${conditions} -> ${target} is not in the tarball`);
  }
  for (const field of ['main', 'module', 'types']) assert.ok(files.has(posix.normalize(manifest[field])), `${field}: ${manifest[field]}`);
  // Side-effect free but for the bundler entry, which wires the .wasm to what it re-exports.
  assert.deepEqual(manifest.sideEffects, ['./bundler/parallel_composer.js']);
  assert.ok(files.has('bundler/parallel_composer.js'));
});

test('every module the entries load is in the tarball, and each build has the same .wasm', () => {
  const entries = ['web/parallel_composer.js', 'node/parallel_composer.js', 'bundler/parallel_composer.js', 'bundler/parallel_composer_bg.js'];
  const wanted = new Set();
  for (const entry of entries) {
    const source = files.get(entry)?.toString('utf8');
    assert.ok(source, `${entry} missing`);
    const specifiers = [...source.matchAll(/(?:from\s*|require\(\s*(?:String\.raw)?)[`'"](\.[^`'"]+)[`'"]/g)].map((m) => m[1]);
    for (const specifier of specifiers) wanted.add(posix.join(posix.dirname(entry), specifier));
    wanted.add(posix.join(posix.dirname(entry), 'parallel_composer_bg.wasm'));
  }
  // The web and node glue is one file (scripts/build-pkg.mjs bundles the js/ snippets into
  // it); the bundler build keeps them apart, for the application's bundler.
  assert.deepEqual([...wanted].filter((f) => f.includes('/snippets/') && !f.startsWith('bundler/')), []);
  assert.ok([...wanted].some((f) => f.startsWith('bundler/snippets/')), 'the bundler glue imports its js/ snippets');
  for (const file of wanted) assert.ok(files.has(file), `${file} is loaded by an entry but not packed`);
  const wasm = ['web', 'node', 'bundler'].map((build) => files.get(`${build}/parallel_composer_bg.wasm`));
  assert.ok(wasm[0].length > 50_000 && wasm.every((bytes) => bytes.equals(wasm[0])));
  // The node build's folder is CommonJS inside a "type": "module" package.
  assert.deepEqual(JSON.parse(files.get('node/package.json').toString('utf8')), { type: 'commonjs' });
});

test("the web glue opens with V8's compile hint, which must come before any code to count", () => {
  // scripts/build-pkg.mjs: the first composition calls most of the glue; the hint lets
  // Chromium compile it in the background while it streams in (docs/performance.md, D).
  const [first] = files.get('web/parallel_composer.js').toString('utf8').split('\n', 1);
  assert.equal(first, '//# allFunctionsCalledOnLoad');
  assert.ok(!files.get('node/parallel_composer.js').toString('utf8').includes('allFunctionsCalledOnLoad'), 'not in the Node glue');
});

test('nothing else: no source, tests, mock, demo, maps or build leftovers', () => {
  const allowed = /^(README\.md|LICENSE-MIT|LICENSE-APACHE|package\.json|(web|node|bundler)\/(parallel_composer(_bg)?\.(js|d\.ts)|parallel_composer_bg\.wasm(\.d\.ts)?)|bundler\/snippets\/parallel-composer-[0-9a-f]+\/js\/[a-z-]+\.js|node\/package\.json)$/;
  const unexpected = [...files.keys()].filter((f) => !allowed.test(f));
  assert.deepEqual(unexpected, []);
  for (const file of files.keys()) {
    assert.doesNotMatch(file, /(^|\/)(src|tests?|mock|www|bench|scripts|target|node_modules)\/|\.rs$|Cargo\.|\.gitignore$|\.map$/);
  }
  assert.ok(files.get('README.md').equals(readFileSync(join(ROOT, 'README.md'))), 'README.md is the repository\'s');
  assert.ok(files.get('LICENSE-MIT').equals(readFileSync(join(ROOT, 'LICENSE-MIT'))));
  assert.ok(files.get('LICENSE-APACHE').equals(readFileSync(join(ROOT, 'LICENSE-APACHE'))));
});
