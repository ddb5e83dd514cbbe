#!/usr/bin/env node
// Keeps the crate's layers honest (docs/architecture.md):
//   - src/plan/ and src/engine/ import nothing from wasm-bindgen, js-sys, web-sys or gloo:
//     the plan language and the engine know nothing of JavaScript;
//   - no import cycle between modules: each file's `crate::...` references, outside its
//     #[cfg(test)] module, form a graph without cycles;
//   - no function longer than about 80 lines outside tests;
//   - at most four JavaScript modules for the wasm test page (js/ and the tests').
// Prints what it checked, or each violation, and exits non-zero on any.
//
//   node scripts/check-layers.mjs
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, dirname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const NO_JS = ['plan', 'engine'];
const JS_CRATES = /\b(wasm_bindgen|js_sys|web_sys|gloo\w*|serde_wasm_bindgen|wasm_bindgen_futures)::/;
const MAX_FN_LINES = 80;

const files = readdirSync(SRC, { recursive: true }).filter((f) => f.endsWith('.rs')).map((f) => join(SRC, f));

/** The module path of a file: src/engine/run.rs -> engine::run; src/plan/mod.rs -> plan. */
function moduleOf(file) {
  const parts = relative(SRC, file).replace(/\.rs$/, '').split(sep);
  if (parts.at(-1) === 'mod' || parts.at(-1) === 'lib') parts.pop();
  return parts.join('::');
}

/** The file's text without its #[cfg(test)] modules (tests may import anything). */
function libraryText(text) {
  const lines = text.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    if (/^\s*#\[cfg\(test\)\]\s*$/.test(lines[i]) && /^\s*mod \w+ \{/.test(lines[i + 1] ?? '')) {
      const indent = lines[i + 1].match(/^\s*/)[0];
      for (i += 2; i < lines.length && lines[i] !== `${indent}}`; i++);
      continue;
    }
    out.push(lines[i]);
  }
  return out.join('\n');
}

const modules = new Map(files.map((f) => [moduleOf(f), f]));
const problems = [];
const graph = new Map();

for (const [mod, file] of modules) {
  if (mod.startsWith('tests')) continue;
  const text = libraryText(readFileSync(file, 'utf8'));
  const where = relative(ROOT, file);
  if (NO_JS.includes(mod.split('::')[0])) {
    text.split('\n').forEach((line, i) => {
      if (JS_CRATES.test(line) && !line.trim().startsWith('//')) problems.push(`${where}:${i + 1}: ${mod.split('::')[0]}/ must not use JavaScript crates: ${line.trim()}`);
    });
  }
  // References to other modules of the crate: the longest known module prefix of each path.
  const deps = new Set();
  for (const m of text.matchAll(/crate::((?:\w+::)*\w+)/g)) {
    const segs = m[1].split('::');
    for (let n = segs.length; n > 0; n--) {
      const target = segs.slice(0, n).join('::');
      if (modules.has(target)) {
        if (target !== mod && !target.startsWith('tests')) deps.add(target);
        break;
      }
    }
  }
  graph.set(mod, deps);
  // Function length: from a line opening `fn` to its closing brace at the same indentation.
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)(?:pub(?:\([^)]*\))? )?(?:async )?(?:unsafe )?fn (\w+)/.exec(lines[i]);
    if (!m) continue;
    // A declaration without a body (in an extern block or a trait) ends at its `;`.
    let open = i;
    while (open < lines.length && !/\{\s*$/.test(lines[open]) && !/;\s*$/.test(lines[open])) open++;
    if (/;\s*$/.test(lines[open] ?? '')) continue;
    let end = open;
    while (end < lines.length && lines[end] !== `${m[1]}}`) end++;
    const length = end - i + 1;
    if (length > MAX_FN_LINES) problems.push(`${where}:${i + 1}: fn ${m[2]} is ${length} lines (at most ${MAX_FN_LINES} outside tests)`);
  }
}

// Cycles: depth-first search, reporting each cycle once by its path.
const state = new Map();
const stack = [];
function visit(mod) {
  state.set(mod, 'open');
  stack.push(mod);
  for (const dep of graph.get(mod) ?? []) {
    if (state.get(dep) === 'open') {
      problems.push(`import cycle: ${[...stack.slice(stack.indexOf(dep)), dep].join(' -> ')}`);
    } else if (!state.has(dep)) {
      visit(dep);
    }
  }
  stack.pop();
  state.set(mod, 'done');
}
for (const mod of graph.keys()) if (!state.has(mod)) visit(mod);

// The JavaScript modules the wasm test page imports at once: the library's (js/) and the
// tests' (tests/). wasm-bindgen-test-runner's server stalls for minutes when a page opens
// more connections at once than it has idle threads (tests/common/page.js says why four).
const MAX_SNIPPETS = 4;
// The tests' Rust files (not those of the consumer projects' node_modules).
const testFiles = readdirSync(join(ROOT, 'tests'), { recursive: true })
  .filter((f) => f.endsWith('.rs') && !f.split(sep).includes('node_modules'))
  .map((f) => join(ROOT, 'tests', f));
const snippets = new Set();
for (const file of [...files, ...testFiles]) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/#\[wasm_bindgen\(module = "([^"]+)"/g)) snippets.add(m[1]);
  // Each inline_js is a module of its own, even two in one file.
  for (const m of text.matchAll(/#\[wasm_bindgen\(inline_js/g)) snippets.add(`${relative(ROOT, file)}: inline_js at ${m.index}`);
}
if (snippets.size > MAX_SNIPPETS) {
  problems.push(`${snippets.size} JavaScript snippets for the wasm test page (at most ${MAX_SNIPPETS}): ${[...snippets].join(', ')}`);
}

if (problems.length) {
  for (const p of problems) console.log(p);
  console.log(`check-layers: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`check-layers: ${graph.size} modules, no JavaScript in ${NO_JS.map((d) => `src/${d}/`).join(' or ')}, no import cycle, no function over ${MAX_FN_LINES} lines, ${snippets.size} JavaScript snippets (at most ${MAX_SNIPPETS})`);
