// Two of the composer's guarantees written by hand, shared by the benchmark page
// (bench/page/bench.js, `js-promise-all-guarded`) and the Node benchmark
// (bench/node/order-js.mjs, `js-staged-guarded`): not baselines of a target, but what the
// guarantees alone cost code written without the composer. No DOM: fetch's Response only.

/** The composer's default time limit, which it keeps with one timer per composition. */
export const GUARD_TIMEOUT_MS = 10_000;
/** The composer's default cap on a reply's bytes (5 MiB). */
export const GUARD_MAX_BYTES = 5 * 1024 * 1024;
const UTF8 = new TextDecoder();

/** A reply's JSON, read with at most `max` bytes of body: by json() when the length is declared. */
export async function cappedJson(res, max) {
  const declared = res.headers.get('content-length');
  if (declared !== null) {
    if (Number(declared) > max) throw new Error(`reply over ${max} bytes`);
    return res.json();
  }
  const reader = res.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      reader.cancel();
      throw new Error(`reply over ${max} bytes`);
    }
    chunks.push(value);
  }
  let bytes = chunks[0] ?? new Uint8Array(0);
  if (chunks.length > 1) {
    bytes = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.byteLength;
    }
  }
  return JSON.parse(UTF8.decode(bytes));
}
