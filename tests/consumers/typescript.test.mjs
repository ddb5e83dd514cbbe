// Consumer: a TypeScript codebase (tests/consumers/typescript/) with the packed tarball
// installed. `tsc --noEmit --strict` type-checks every example of README.md and of docs/*.md
// against the package's .d.ts, with "moduleResolution": "bundler" (the web build's types),
// "nodenext" with @types/node and no DOM (the node build's), and the webworker library (a
// worker), under TypeScript 7 and TypeScript 5. src/types.ts pins the signatures and holds
// `@ts-expect-error` lines on misspelt options, and wrong/ must fail with the right diagnostics.
//
// The first test pairs each js/ts block of the pages with its counterpart under
// typescript/src/ (a file whose first line is `// <page>: <heading> | <first code line>`,
// <page> being README or docs/<name>.md). It needs no build and no tarball:
//   node --test --test-name-pattern counterpart tests/consumers/typescript.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { installConsumer, CONSUMERS, ROOT } from './helpers.mjs';

/** The consumer project; the tarball is installed into it by the first tsc test that runs. */
const dir = join(CONSUMERS, 'typescript');
let installed = false;
function install() {
  if (!installed) installConsumer('typescript');
  installed = true;
}

/** Blocks that use none of the package's API, with the reason. */
const NOT_API = new Map([
  ['README: Install and use | // vite.config.js', 'a Vite config: no call of the package'],
  ['README: Install and use | // main.js', "a worker's page: no call of the package"],
]);

const COMPILERS = {
  'TypeScript 7': ['node_modules', 'typescript', 'bin', 'tsc'],
  'TypeScript 5': ['node_modules', 'typescript-5', 'bin', 'tsc'],
};

function tsc(compiler, project) {
  const result = spawnSync(process.execPath, [join(dir, ...COMPILERS[compiler]), '-p', project, '--noEmit', '--strict', '--pretty', 'false'], {
    cwd: dir,
    encoding: 'utf8',
  });
  return { status: result.status, output: (result.stdout + result.stderr).trim() };
}

/** The pages whose examples are type-checked: [page name in keys, path]. */
function pages() {
  const docs = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort();
  return [['README', 'README.md'], ...docs.map((f) => [`docs/${f}`, `docs/${f}`])];
}

/** The pages' js and ts code blocks: `{ key: "<page>: <heading> | <first line>", lang, code, where }`. */
function exampleBlocks() {
  const blocks = [];
  for (const [page, path] of pages()) {
    let heading = '';
    const lines = readFileSync(join(ROOT, path), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const h = /^#+ (.*)$/.exec(lines[i]);
      if (h) heading = h[1].trim();
      const fence = /^```(\w*)$/.exec(lines[i]);
      if (!fence) continue;
      const start = i + 1;
      for (i = start; i < lines.length && lines[i] !== '```'; i++);
      const code = lines.slice(start, i).join('\n');
      if (fence[1] === 'js' || fence[1] === 'ts') {
        blocks.push({ key: `${page}: ${heading} | ${code.split('\n').find((l) => l.trim())}`, lang: fence[1], code, where: `${path}:${start}` });
      }
    }
  }
  return blocks;
}

/** The consumer's sources: path -> text. */
function sources() {
  const src = join(dir, 'src');
  return new Map(readdirSync(src, { recursive: true }).filter((f) => f.endsWith('.ts')).map((f) => [f, readFileSync(join(src, f), 'utf8')]));
}

test('every README and docs example that uses the package has its type-checked counterpart', () => {
  const files = sources();
  const headers = new Map();
  for (const [file, text] of files) {
    for (const [, key] of text.matchAll(/^\/\/ ((?:README|docs\/[\w.-]+\.md): .*)$/gm)) headers.set(key, file);
  }
  const blocks = exampleBlocks();
  assert.ok(blocks.length >= 10, `only ${blocks.length} js/ts blocks found in README.md and docs/*.md`);
  const missing = blocks.filter((b) => !NOT_API.has(b.key) && !headers.has(b.key));
  assert.deepEqual(missing.map((b) => `${b.where} ${b.key}`), [],
    'examples without a "// <page>: <heading> | <first line>" file in tests/consumers/typescript/src/');
  const stale = [...headers.keys()].filter((key) => !blocks.some((b) => b.key === key));
  assert.deepEqual(stale, [], 'files naming examples that are no longer in README.md or docs/*.md');
  const notApiStale = [...NOT_API.keys()].filter((key) => !blocks.some((b) => b.key === key));
  assert.deepEqual(notApiStale, [], 'NOT_API names blocks that are no longer in README.md or docs/*.md');
  // A TypeScript block is checked exactly as the page shows it.
  const squash = (s) => s.replace(/\s+/g, ' ').trim();
  for (const block of blocks.filter((b) => b.lang === 'ts')) {
    assert.ok(squash(files.get(headers.get(block.key))).includes(squash(block.code)), `${block.where}: the ts block is not verbatim in ${headers.get(block.key)}`);
  }
});

for (const compiler of Object.keys(COMPILERS)) {
  // TypeScript 5 is slow here: it checks the two builds' types; 7 checks everything.
  const projects = compiler === 'TypeScript 7'
    ? ['tsconfig.json', 'tsconfig.node.json', 'tsconfig.worker.json']
    : ['tsconfig.json', 'tsconfig.node.json'];
  test(`tsc --noEmit --strict accepts the README and docs examples and the exactness checks (${compiler}: ${projects.join(', ')})`, () => {
    install();
    for (const project of projects) {
      const { status, output } = tsc(compiler, project);
      assert.equal(output, '', `${compiler} -p ${project}`);
      assert.equal(status, 0, `${compiler} -p ${project}`);
    }
  });
}

test('a misspelt option name fails tsc with the diagnostic naming it and the right one', () => {
  install();
  const { status, output } = tsc('TypeScript 7', 'tsconfig.wrong.json');
  assert.notEqual(status, 0, output);
  assert.deepEqual(output.split('\n'), [
    "wrong/wrong-option.ts(5,73): error TS2561: Object literal may only specify known properties, but 'timeoutMS' does not exist in type 'ComposeOptions'. Did you mean to write 'timeoutMs'?",
    "wrong/wrong-option.ts(6,78): error TS2561: Object literal may only specify known properties, but 'deadlinems' does not exist in type 'OrderOptions'. Did you mean to write 'deadlineMs'?",
  ]);
});
