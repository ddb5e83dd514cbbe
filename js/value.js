// Reading replies and building request bodies for the engine's `Value` (src/web/js_value.rs),
// each step one call from Rust: a path segment read as separate checks (is it an object,
// the key as a string, an own property, its value, is it undefined) cost five calls across
// the wasm boundary, and a key set as two (the key, then Reflect.set); a composition reads
// and writes dozens (bench E, docs/performance.md).

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
