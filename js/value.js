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
