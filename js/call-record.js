// A call's record (`calls[<call>]`: src/bindings/types.d.ts, `CallRecord`), made as one
// object literal in one call from Rust (src/bindings/records.rs). Written a field at a time
// by serde-wasm-bindgen, a record cost 13 calls into JavaScript (an object, nine keys, three
// numbers); there is one record per call of every composition (measured in
// docs/performance.md, "Engine overhead per call").
//
// `None` arrives as `undefined` and is written `null`, as the records document.
export function callRecord(state, status, attempts, startMs, endMs, error, queuedMs, sharedFrom, replayed) {
  return {
    state,
    status: status ?? null,
    attempts,
    startMs: startMs ?? null,
    endMs: endMs ?? null,
    error,
    queuedMs,
    sharedFrom,
    replayed,
  };
}

// The plan's call names as JS strings, from one text of names each ended by a line break
// (a name holds no line break: letters, digits, `_`, `-`, `$`). One string crosses from
// Rust instead of one per call, each of which cost a UTF-8 decode (src/bindings/run.rs).
export function callNames(text) {
  const names = text.split('\n');
  names.pop();
  return names;
}
