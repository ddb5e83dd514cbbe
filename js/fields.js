// A derived struct's fields read from a JS object in one call from Rust
// (src/bindings/fields.rs): `object[name]` for each name, in order, where a getter that
// throws reads as undefined. Read one at a time, each field cost two calls across the wasm
// boundary (its name, then Reflect.get), and the options have nineteen, read at every
// composition (bench E, docs/performance.md).
export function fieldValues(object, names) {
  return names.map((name) => {
    try {
      return object[name];
    } catch {
      return undefined;
    }
  });
}
