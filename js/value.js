// JavaScript values read, checked and built for Rust in one call each, where doing it from
// Rust a step at a time cost a call across the wasm boundary per step, at every composition
// (bench B and E, docs/performance.md). One module rather than one per use: a browser loads
// each of the package's JavaScript files with a request of its own where it is not bundled
// (wasm-bindgen's test runner, the bundler build).
//
// For the engine's `Value` (src/web/js_value.rs): a reply's path segment read as separate
// checks (is it an object, the key as a string, an own property, its value, is it undefined)
// cost five calls, and a body's key set two (the key, then Reflect.set).

/**
 * `object[key]` when it is an own property, else undefined: never the prototype chain,
 * so `__proto__` or `constructor` in a placeholder reads only what the reply itself holds.
 * `value` that is not an object has no fields; a getter that throws reads as undefined.
 */
export function ownField(value, key) {
  if (value === null || typeof value !== 'object') return undefined;
  try {
    return Object.hasOwn(value, key) ? value[key] : undefined;
  } catch {
    return undefined;
  }
}

/** Sets `object[key] = value` as an own data property, even for `__proto__`. */
export function setOwn(object, key, value) {
  if (key === '__proto__') {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    object[key] = value;
  }
}

/**
 * An object from `names[i]` to `values[i]`, each an own data property whatever its name
 * (`__proto__` too), skipping undefined values: `data` and `calls`, keyed by a plan's call
 * names. One call for the whole object, where a Map filled an entry at a time and turned
 * into an object by Object.fromEntries cost a call per entry and a fifth more in V8.
 */
export function namedObject(names, values) {
  const object = {};
  for (let i = 0; i < names.length; i++) {
    if (values[i] !== undefined) setOwn(object, names[i], values[i]);
  }
  return object;
}

/**
 * `stages`: an array per stage of the names of its calls, `order` holding the calls'
 * indexes stage after stage and `sizes` each stage's length. One call for the whole
 * array, where serde wrote it an element at a time: three calls across the boundary per
 * call of the plan, a third of all of them in a composition (bench B).
 */
export function stageNames(names, order, sizes) {
  const stages = new Array(sizes.length);
  let at = 0;
  for (let s = 0; s < sizes.length; s++) {
    const stage = new Array(sizes[s]);
    for (let k = 0; k < stage.length; k++) stage[k] = names[order[at++]];
    stages[s] = stage;
  }
  return stages;
}

// A derived struct's fields (src/bindings/fields.rs): `object[name]` for each name, in order,
// where a getter that throws reads as undefined. Read one at a time, each field cost two calls
// (its name, then Reflect.get), and the options have nineteen.
export function fieldValues(object, names) {
  return names.map((name) => {
    try {
      return object[name];
    } catch {
      return undefined;
    }
  });
}

// Whether a plan can never change (src/bindings/plan_cache.rs): each object in it frozen and
// each of its properties a data property (a getter could answer differently at each read).
// compose() reads such a plan once and keeps what it read; any other plan is read again at
// every composition, since it may have changed. Frozen data cannot change, and a Proxy cannot
// pretend otherwise: a frozen target binds its traps to the target's own, unchanging
// properties. Only as deep as a plan may nest (src/web/js_value.rs); deeper is refused when
// it is read.
const MAX_DEPTH = 128;

export function deeplyFrozen(value, depth = 0) {
  if (value === null || typeof value !== 'object') return true;
  if (depth > MAX_DEPTH || !Object.isFrozen(value)) return false;
  const descriptors = Object.getOwnPropertyDescriptors(value);
  for (const key of Reflect.ownKeys(descriptors)) {
    const descriptor = descriptors[key];
    if (!('value' in descriptor) || !deeplyFrozen(descriptor.value, depth + 1)) return false;
  }
  return true;
}

// A plan that is not frozen is read again at every composition, since it may have changed;
// reading it value by value costs calls across the wasm boundary (bench B). Whether it did is
// told at less cost here, in one walk: compose() keeps a copy of each of the last plans it
// read (src/bindings/plan_cache.rs), as plain data, and reads the copy, not the plan; a plan
// that holds what a kept copy holds, key for key and in the same order, reads as that copy
// did. Only plain objects and arrays are copied, and compared: any other object (a Date, a
// String object, a class's instance) or a function makes the plan one that is read in full
// every time, as the reader would read it otherwise than a copy (a Date as {}, a String
// object as its characters' keys). Primitives are compared as Object.is compares them, so
// NaN, -0 and Infinity are themselves. A getter is read once by the walk that copies or
// compares, and the copy holds what it answered then: a getter that answers anew at each
// read makes a plan found nowhere, read (from its new copy) at every composition.
// (JSON.stringify with a replacer did this before: twice to five times the cost, measured
// in Node on bench B's plans.)

// The size of a copy that is kept, in string characters plus 8 per value: eight copies of
// plans over 1 MiB would stay in memory for good.
const MAX_KEPT_SIZE = 1 << 20;

const plainObject = (value) => {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

// `value` copied as plain data, or NOT_PLAIN.
const NOT_PLAIN = Symbol('not plain data');
function copyOf(value, depth, size) {
  if (typeof value === 'string') {
    size.left -= value.length + 8;
    return value;
  }
  size.left -= 8;
  if (typeof value === 'function') return NOT_PLAIN;
  if (typeof value !== 'object' || value === null) return value;
  if (depth > MAX_DEPTH || size.left < 0) return NOT_PLAIN;
  if (Array.isArray(value)) {
    const copy = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = copyOf(value[i], depth + 1, size);
      if (item === NOT_PLAIN) return NOT_PLAIN;
      copy[i] = item;
    }
    return copy;
  }
  if (!plainObject(value)) return NOT_PLAIN;
  const copy = {};
  for (const key of Object.keys(value)) {
    const item = copyOf(value[key], depth + 1, size);
    if (item === NOT_PLAIN) return NOT_PLAIN;
    setOwn(copy, key, item);
  }
  return copy;
}

// Whether `value` holds what `kept` (a copy above) holds: the same primitives, and plain
// objects and arrays with the same keys in the same order.
function holdsAs(value, kept, depth) {
  if (typeof kept !== 'object' || kept === null) return Object.is(value, kept);
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return false;
  if (Array.isArray(kept)) {
    if (!Array.isArray(value) || value.length !== kept.length) return false;
    for (let i = 0; i < kept.length; i++) {
      if (!holdsAs(value[i], kept[i], depth + 1)) return false;
    }
    return true;
  }
  if (Array.isArray(value) || !plainObject(value)) return false;
  const keys = Object.keys(value);
  const keptKeys = Object.keys(kept);
  if (keys.length !== keptKeys.length) return false;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (key !== keptKeys[i] || !holdsAs(value[key], kept[key], depth + 1)) return false;
  }
  return true;
}

// The copies of the plans Rust keeps, in its order. Plans that differ at every composition
// (an id written into a URL rather than a placeholder) would pay for a copy each time, and so
// would plans that cannot be copied: after eight lookups in a row that find nothing, the next
// 56 compositions do not look.
const copies = [];
let misses = 0;
let resting = 0;

/**
 * The index of the kept copy that `plan` holds as, -1 when there is none and a copy may be
 * kept, -2 when there is no lookup (none is kept then).
 */
export function keptPlan(plan) {
  if (resting > 0) {
    resting -= 1;
    return -2;
  }
  let at = -1;
  try {
    at = copies.findIndex((kept) => holdsAs(plan, kept, 0));
  } catch {
    // A getter or a Proxy's trap threw: found nowhere (the reader reads it as undefined).
  }
  if (at >= 0) {
    misses = 0;
    return at;
  }
  misses += 1;
  if (misses >= 8) {
    misses = 0;
    resting = 56;
  }
  return -1;
}

/** `plan` copied as plain data to be read and kept, or undefined when it cannot be (above). */
export function planCopy(plan) {
  const size = { left: MAX_KEPT_SIZE };
  try {
    const copy = copyOf(plan, 0, size);
    return copy === NOT_PLAIN || size.left < 0 ? undefined : copy;
  } catch {
    return undefined; // a getter or a Proxy's trap threw: read as the reader reads it
  }
}

/** Keeps `copy` first among the kept copies, `keep` of them at most, as Rust keeps its plan. */
export function keepPlan(copy, keep) {
  copies.unshift(copy);
  if (copies.length > keep) copies.length = keep;
}

// A `when` condition's comparisons (src/plan/condition.rs), for replies as JSON.parse made
// them: JavaScript compares a BigInt with a Number by their exact values, which Rust would
// need a big-integer comparison of its own for.

/** `equals`: the same string, number (a BigInt too, exactly), boolean, or both null. */
export function sameValue(a, b) {
  const numbers = (typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint');
  // `==` between a BigInt and a Number compares their values; NaN equals nothing.
  if (numbers) return a == b;
  if (a === null || a === undefined) return b === null || b === undefined;
  if (typeof a === 'object' || typeof a === 'function') return false;
  return a === b;
}

/** `lt` and the like: -1, 0 or 1 for two numbers (BigInts too, exactly), 2 otherwise. */
export function compareValues(a, b) {
  const number = (v) => typeof v === 'number' || typeof v === 'bigint';
  if (!number(a) || !number(b)) return 2;
  return a < b ? -1 : a > b ? 1 : a == b ? 0 : 2;
}

// A composer's options (src/bindings/composer.rs): its own taken out of those its
// compositions share, and the shared ones merged under a call's own, in one call each,
// where Rust read and set each option across the boundary, two calls per option.

/** `names` (separated by commas) as a list; none for an empty text. */
function nameList(names) {
  return names === '' ? [] : names.split(',');
}

/**
 * `[rest, picked]`: two plain objects of `options`' own enumerable keys, those in `names`
 * (separated by commas) in `picked`. `undefined` and `null` are no options; a getter that
 * throws reads as undefined.
 */
export function splitOptions(options, names) {
  const picks = nameList(names);
  const rest = {};
  const picked = {};
  if (options === undefined || options === null) return [rest, picked];
  for (const key of Object.keys(options)) {
    let value;
    try {
      value = Reflect.get(options, key);
    } catch {
      value = undefined;
    }
    Reflect.set(picks.includes(key) ? picked : rest, key, value);
  }
  return [rest, picked];
}

/** `shared`'s keys but those in `left` (separated by commas), with `own`'s over them. */
export function mergeOptions(shared, left, own) {
  const skipped = nameList(left);
  const all = {};
  for (const key of Object.keys(shared)) {
    if (!skipped.includes(key)) Reflect.set(all, key, shared[key]);
  }
  return Object.assign(all, own);
}
