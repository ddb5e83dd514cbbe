// Consumer: a TypeScript codebase (tests/consumers/typescript/) with the packed tarball
// installed. `tsc --noEmit --strict` type-checks every README example against the package's
// .d.ts, with "moduleResolution": "bundler" (the web build's types), "nodenext" with
// @types/node and no DOM (the node build's), and the webworker library (a worker), under
// TypeScript 7 and TypeScript 5. src/types.ts pins the signatures and holds
// `@ts-expect-error` lines on misspelt options, and wrong/ must fail with the right diagnostics.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { installConsumer, ROOT } from './helpers.mjs';

let dir;

/** README blocks that use none of the package's API, with the reason. */
const NOT_API = new Map([
  ['Install and use | // vite.config.js', 'a Vite config: no call of the package'],
  ['Install and use | // main.js', "a worker's page: no call of the package"],
]);

const COMPILERS = {
  'TypeScript 7': ['node_modules', 'typescript', 'bin', 'tsc'],
  'TypeScript 5': ['node_modules', 'typescript-5', 'bin', 'tsc'],
};

before(() => {
  dir = installConsumer('typescript');
});

function tsc(compiler, project) {
  const result = spawnSync(process.execPath, [join(dir, ...COMPILERS[compiler]), '-p', project, '--noEmit', '--strict', '--pretty', 'false'], {
    cwd: dir,
    encoding: 'utf8',
  });
  return { status: result.status, output: (result.stdout + result.stderr).trim() };
}

/** The README's js and ts code blocks: `{ key: "<heading> | <first line>", lang, code }`. */
function readmeBlocks() {
  const blocks = [];
  let heading = '';
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const h = /^#+ (.*)$/.exec(lines[i]);
    if (h) heading = h[1].trim();
    const fence = /^```(\w*)$/.exec(lines[i]);
    if (!fence) continue;
    const start = i + 1;
    for (i = start; i < lines.length && lines[i] !== '```'; i++);
    const code = lines.slice(start, i).join('\n');
    if (fence[1] === 'js' || fence[1] === 'ts') {
      blocks.push({ key: `${heading} | ${code.split('\n').find((l) => l.trim())}`, lang: fence[1], code, line: start });
    }
  }
  return blocks;
}

/** The consumer's sources: path -> text. */
function sources() {
  const src = join(dir, 'src');
  return new Map(readdirSync(src, { recursive: true }).filter((f) => f.endsWith('.ts')).map((f) => [f, readFileSync(join(src, f), 'utf8')]));
}

test('every README example that uses the package has its type-checked counterpart', () => {
  const files = sources();
  const headers = new Map();
  for (const [file, text] of files) {
    for (const [, key] of text.matchAll(/^\/\/ README: (.*)$/gm)) headers.set(key, file);
  }
  const blocks = readmeBlocks();
  assert.ok(blocks.length >= 10, `only ${blocks.length} js/ts blocks found in README.md`);
  const missing = blocks.filter((b) => !NOT_API.has(b.key) && !headers.has(b.key));
  assert.deepEqual(missing.map((b) => `README.md:${b.line} ${b.key}`), [],
    'README examples without a "// README: <heading> | <first line>" file in tests/consumers/typescript/src/');
  const stale = [...headers.keys()].filter((key) => !blocks.some((b) => b.key === key));
  assert.deepEqual(stale, [], 'files naming README examples that are no longer in README.md');
  // A TypeScript block is checked exactly as the README shows it.
  const squash = (s) => s.replace(/\s+/g, ' ').trim();
  for (const block of blocks.filter((b) => b.lang === 'ts')) {
    assert.ok(squash(files.get(headers.get(block.key))).includes(squash(block.code)), `README.md:${block.line}: the ts block is not verbatim in ${headers.get(block.key)}`);
  }
});

for (const compiler of Object.keys(COMPILERS)) {
  // TypeScript 5 is slow here: it checks the two builds' types; 7 checks everything.
  const projects = compiler === 'TypeScript 7'
    ? ['tsconfig.json', 'tsconfig.node.json', 'tsconfig.worker.json']
    : ['tsconfig.json', 'tsconfig.node.json'];
  test(`tsc --noEmit --strict accepts the README examples and the exactness checks (${compiler}: ${projects.join(', ')})`, () => {
    for (const project of projects) {
      const { status, output } = tsc(compiler, project);
      assert.equal(output, '', `${compiler} -p ${project}`);
      assert.equal(status, 0, `${compiler} -p ${project}`);
    }
  });
}

test('a misspelt option name fails tsc with the diagnostic naming it and the right one', () => {
  const { status, output } = tsc('TypeScript 7', 'tsconfig.wrong.json');
  assert.notEqual(status, 0, output);
  assert.deepEqual(output.split('\n'), [
    "wrong/wrong-option.ts(5,73): error TS2561: Object literal may only specify known properties, but 'timeoutMS' does not exist in type 'ComposeOptions'. Did you mean to write 'timeoutMs'?",
    "wrong/wrong-option.ts(6,78): error TS2561: Object literal may only specify known properties, but 'deadlinems' does not exist in type 'OrderOptions'. Did you mean to write 'deadlineMs'?",
  ]);
});
