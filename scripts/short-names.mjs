// The .wasm's imports and exports named short, not with wasm-bindgen's hashes, in the .wasm
// and in its glue.
//
// wasm-bindgen names each function the .wasm imports from its glue `__wbg_<name>_<hash>`,
// the hash (16 hex digits) keeping two crates' `new` apart. In a package built from one
// crate, nothing needs them, nor the long names: they were 1,602 bytes of the .wasm's
// 102,400-byte gzip budget when they were counted (83 imports; 1,043 of it the hashes),
// and 215 of the glue's. So after wasm-bindgen, each such import and export is renamed
// `__w<n>` (n counted in base 36), in the .wasm's import and export sections and, as whole
// identifiers, in the glue that defines them: the same rename in both, checked, so that a
// glue wasm-bindgen writes otherwise fails the build instead of the package. What it costs:
// a stack trace through the glue names `__w1a` where it named `__wbg_new`; the debug build
// (`--dev`) keeps wasm-bindgen's names.
import { readFileSync, writeFileSync } from 'node:fs';

/** A name wasm-bindgen gives what its glue and the .wasm share: one with its hash, or an
 * intrinsic's (`__wbindgen_malloc`, `__externref_table_alloc`, ...). */
const HASHED = /_h?[0-9a-f]{16}$|^__(?:wbindgen|externref)_/;

/** Reads an unsigned LEB128 number of `bytes` at `at.i`, moving `at.i` past it. */
function leb(bytes, at) {
  let value = 0;
  let shift = 0;
  let byte;
  do {
    byte = bytes[at.i++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return value;
}

/** `n` as unsigned LEB128. */
function uleb(n) {
  const out = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

/** Moves `at.i` past an import's description (function, table, memory, global or tag). */
function skipDescription(bytes, at) {
  const kind = bytes[at.i++];
  if (kind === 0) leb(bytes, at);
  else if (kind === 4) (at.i++, leb(bytes, at));
  else if (kind === 3) at.i += 2;
  else {
    if (kind === 1) at.i++; // the table's element type
    const flags = bytes[at.i++];
    leb(bytes, at);
    if (flags & 1) leb(bytes, at);
  }
}

/** The export section's entries: `{ name, description }`, the name as text. */
function readExports(bytes, start) {
  const at = { i: start };
  const count = leb(bytes, at);
  const entries = [];
  for (let k = 0; k < count; k++) {
    const nameLength = leb(bytes, at);
    const name = bytes.subarray(at.i, (at.i += nameLength)).toString('utf8');
    const from = at.i++;
    leb(bytes, at);
    entries.push({ module: null, name, description: bytes.subarray(from, at.i) });
  }
  return entries;
}

/** `entries` as the section `id` holds them, renamed by `map`. */
function writeSection(id, entries, map) {
  const body = [uleb(entries.length)];
  for (const { module, name, description } of entries) {
    const written = Buffer.from(map.get(name) ?? name, 'utf8');
    if (module) body.push(uleb(module.length), module);
    body.push(uleb(written.length), written, description);
  }
  const content = Buffer.concat(body.map((b) => Buffer.from(b)));
  return [Buffer.from([id, ...uleb(content.length)]), content];
}

/** The import section's entries: `{ module, name, description }`, each as bytes but the name. */
function readImports(bytes, start) {
  const at = { i: start };
  const count = leb(bytes, at);
  const entries = [];
  for (let k = 0; k < count; k++) {
    const moduleLength = leb(bytes, at);
    const module = bytes.subarray(at.i, (at.i += moduleLength));
    const nameLength = leb(bytes, at);
    const name = bytes.subarray(at.i, (at.i += nameLength)).toString('utf8');
    const from = at.i;
    skipDescription(bytes, at);
    entries.push({ module, name, description: bytes.subarray(from, at.i) });
  }
  return entries;
}

/** New names for the hashed ones among `names`, counted on from `map`'s, into `map`. */
function renames(names, map) {
  for (const name of names) {
    if (HASHED.test(name) && !map.has(name)) map.set(name, `__w${map.size.toString(36)}`);
  }
}

/**
 * Renames the imports and exports of the .wasm at `wasmPath` that wasm-bindgen named, and
 * the same identifiers in the JavaScript files `gluePaths`. Throws when the glue does not
 * name one of them, or still holds a hashed name afterwards. Returns how many were renamed.
 */
export function shortenNames(wasmPath, gluePaths) {
  const bytes = readFileSync(wasmPath);
  const parts = [bytes.subarray(0, 8)];
  const map = new Map();
  for (let at = { i: 8 }; at.i < bytes.length; ) {
    const section = at.i;
    const id = bytes[at.i++];
    const size = leb(bytes, at);
    const end = at.i + size;
    if (id !== 2 && id !== 7) {
      parts.push(bytes.subarray(section, end));
      at.i = end;
      continue;
    }
    const entries = id === 2 ? readImports(bytes, at.i) : readExports(bytes, at.i);
    renames(entries.map((e) => e.name), map);
    parts.push(...writeSection(id, entries, map));
    at.i = end;
  }
  const glue = gluePaths.map((path) => readFileSync(path, 'utf8'));
  // Only the names the rename gives: the glue has names of its own such as `__wrap`.
  const given = new Set(map.values());
  const clash = (glue.join('\n').match(/\b__w[0-9a-z]+\b/g) ?? []).find((n) => given.has(n));
  if (clash) throw new Error(`the glue already names ${clash}, a name the rename would give`);
  for (const [name, short] of map) {
    // A fresh expression for each file and use: a global one's `lastIndex`, left where a
    // `test` found the name in one file, would start the search of the next file there.
    const whole = () => new RegExp(`\\b${name}\\b`, 'g');
    if (!glue.some((text) => whole().test(text))) throw new Error(`the glue does not name ${name}, which the .wasm does`);
    glue.forEach((text, k) => (glue[k] = text.replace(whole(), short)));
  }
  const left = glue.join('\n').match(/\b(?:__wbg_\w+_|wasm_bindgen__\w+__h)[0-9a-f]{16}\b/);
  if (left) throw new Error(`the glue still names ${left[0]}, which the .wasm does not import`);
  writeFileSync(wasmPath, Buffer.concat(parts));
  gluePaths.forEach((path, k) => writeFileSync(path, glue[k]));
  return map.size;
}
