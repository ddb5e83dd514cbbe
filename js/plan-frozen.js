// Whether a plan can never change: each object in it frozen and each of its properties a
// data property (a getter could answer differently at each read). compose() reads such a
// plan once and keeps what it read for the next composition (src/bindings/plan_cache.rs);
// any other plan is read again at every composition, since it may have changed.
//
// Frozen data cannot change, and a Proxy cannot pretend otherwise: a frozen target binds
// its traps to the target's own, unchanging properties.

// As deep as a plan may nest (src/web/js_value.rs); deeper is refused when it is read.
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
