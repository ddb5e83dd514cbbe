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
// reading it value by value costs calls across the wasm boundary (bench B). Its JSON text
// says cheaply whether it did: compose() keeps the texts of the last plans it read
// (src/bindings/plan_cache.rs), and a plan whose text is one of them reads as that one did.
// That holds only where the text says all the reader would see, so a value the reader
// refuses or reads otherwise than JSON.stringify writes it makes the text unusable: a
// non-finite number or -0 (written as null and 0), a function, symbol or BigInt (left out
// or refused), a toJSON result, a boxed primitive or any object other than a plain one or
// an array (a String object reads as its characters' keys), and a getter that answers
// differently when asked again.
const NOT_EXACT = Symbol('not exact');

function exactly(key, value) {
  if (this[key] !== value) throw NOT_EXACT;
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value) || Object.is(value, -0)) throw NOT_EXACT;
      break;
    case 'object':
      if (value !== null && !Array.isArray(value)) {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) throw NOT_EXACT;
      }
      break;
    case 'function':
    case 'symbol':
    case 'bigint':
      throw NOT_EXACT;
    default:
  }
  return value;
}

// The texts of the plans Rust keeps, in its order. Plans that differ at every composition
// (an id written into a URL rather than a placeholder) would pay for their text each time
// (about a tenth of reading them), and so would plans whose text cannot stand for them: after
// eight lookups in a row that find nothing, the next 56 compositions do not look.
const texts = [];
const MAX_KEPT_TEXT = 1 << 20;
let misses = 0;
let resting = 0;

/**
 * The plan's JSON text when it is not one of the kept texts, its index among them when it
 * is, undefined when the text cannot stand for the plan (above), is too long to keep, or
 * there is no lookup.
 */
export function planText(plan) {
  if (resting > 0) {
    resting -= 1;
    return undefined;
  }
  const text = exactText(plan);
  const at = text === undefined ? -1 : texts.indexOf(text);
  if (at >= 0) {
    misses = 0;
    return at;
  }
  misses += 1;
  if (misses >= 8) {
    misses = 0;
    resting = 56;
  }
  // A text of over 2^20 characters is not kept: eight of them would stay in memory for good.
  return text !== undefined && text.length <= MAX_KEPT_TEXT ? text : undefined;
}

function exactText(plan) {
  try {
    const text = JSON.stringify(plan, exactly);
    return typeof text === 'string' ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps `text` first among the kept texts, `keep` of them at most, as Rust keeps its plan. */
export function keepText(text, keep) {
  texts.unshift(text);
  if (texts.length > keep) texts.length = keep;
}
