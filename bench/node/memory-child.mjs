// The Node memory check's own process (bench/node/bff.mjs, nodeMemory(), starts it with
// --expose-gc): N compositions of compose() with an injected fetch that answers at once with
// a real Response, so what is measured is the library, not the network. It reports the JS
// heap (process.memoryUsage().heapUsed after forced collections) and the size of the wasm
// linear memory, after the first `--first` compositions, at checkpoints, and at the end.
//
//   node --expose-gc bench/node/memory-child.mjs --pkg DIR [--compositions 100000] [--first 1000]
//                                                [--exit-on-stdin-end]
//
// --exit-on-stdin-end: exit (status 1) when stdin ends, i.e. when the parent that holds the
// other end of the pipe is gone, however it went (bff.mjs gives it a pipe); noticed when the
// event loop next polls, at the latest at the next checkpoint (every tenth of the run).
//
// stdout: exactly one line of JSON; progress on stderr. Exit status non-zero on any failure
// (a composition that rejects or returns the wrong data, no gc(), no wasm memory found).
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    pkg: { type: 'string' },
    compositions: { type: 'string', default: '100000' },
    first: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '1' },
    'exit-on-stdin-end': { type: 'boolean', default: false },
  },
  strict: true,
});
let stopWatchingStdin = () => {};
if (args['exit-on-stdin-end']) {
  const gone = () => process.exit(1);
  for (const ev of ['end', 'close', 'error']) process.stdin.on(ev, gone);
  process.stdin.resume();
  stopWatchingStdin = () => {
    for (const ev of ['end', 'close', 'error']) process.stdin.off(ev, gone);
    process.stdin.on('error', () => {});
    process.stdin.destroy(); // lets the event loop end
  };
}
const intArg = (name, min) => {
  const n = Number(args[name]);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} expects an integer >= ${min}, got "${args[name]}"`);
  return n;
};
const TOTAL = intArg('compositions', 1);
const FIRST = Math.min(intArg('first', 1), TOTAL);
const CONCURRENCY = intArg('concurrency', 1);
if (!args.pkg) throw new Error('--pkg DIR is required');
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');

// The nodejs glue instantiates the module at require() time and keeps the instance to itself
// (no export of it or of its memory). So the instance is caught as it is made: for the
// duration of the require only, WebAssembly.Instance is a subclass that remembers each
// instance; afterwards the original constructor is back. Nothing in the package is changed.
const instances = [];
const OriginalInstance = WebAssembly.Instance;
WebAssembly.Instance = class extends OriginalInstance {
  constructor(...a) {
    super(...a);
    instances.push(this);
  }
};
let pc;
try {
  pc = createRequire(import.meta.url)(join(resolve(args.pkg), 'parallel_composer.js'));
} finally {
  WebAssembly.Instance = OriginalInstance;
}
const ours = instances.filter((i) => i.exports.memory instanceof WebAssembly.Memory && typeof i.exports.compose === 'function');
if (ours.length !== 1) throw new Error(`expected one wasm instance exporting memory and compose, found ${ours.length} (of ${instances.length} instantiated)`);
const memory = ours[0].exports.memory;

// A small plan with the engine's usual work: two independent reads, a POST whose body is
// filled from both, and a call that waits for it, with URL and body templates.
const BASE = 'https://bench.invalid';
const plan = {
  calls: {
    user: { url: `${BASE}/users/{input.userId}` },
    cart: { url: `${BASE}/carts/{input.cartId}` },
    quote: { method: 'POST', url: `${BASE}/quotes`, body: { items: '{cart.items}', tier: '{user.tier}' } },
    audit: { method: 'POST', url: `${BASE}/audit/{user.id}`, body: { total: '{quote.total}', note: 'cart {cart.id}' } },
  },
};
const input = { userId: 'u-1', cartId: 'k-1' };
const replies = {
  users: () => ({ id: 'u-1', tier: 'gold', email: 'u-1@example.test' }),
  carts: () => ({ id: 'k-1', items: [{ sku: 'SKU-1', quantity: 2 }, { sku: 'SKU-2', quantity: 1 }] }),
  quotes: (body) => ({ total: body.items.reduce((sum, i) => sum + i.quantity * 1000, 0), tier: body.tier }),
  audit: (body) => ({ ok: true, total: body.total }),
};
let fetches = 0;
/** Answers at once with a real Response (Node 20's global), built from the request. */
function instantFetch(url, init) {
  fetches++;
  const kind = new URL(url).pathname.split('/')[1];
  const answer = replies[kind];
  if (!answer) return Promise.resolve(new Response('{"error":"not found"}', { status: 404, headers: { 'content-type': 'application/json' } }));
  const body = init?.body ? JSON.parse(init.body) : null;
  return Promise.resolve(new Response(JSON.stringify(answer(body)), { status: 200, headers: { 'content-type': 'application/json' } }));
}
const options = { fetch: instantFetch };

function check(out) {
  const d = out?.data;
  const ok = d && d.user?.id === 'u-1' && d.cart?.items?.length === 2 && d.quote?.total === 3000 && d.quote?.tier === 'gold'
    && d.audit?.ok === true && d.audit?.total === 3000;
  if (!ok) throw new Error(`compose() returned unexpected data: ${JSON.stringify(d)}`);
}

/** Collected heap: gc, let finalizers (wasm-bindgen frees closures in them) run, gc again. */
async function collected() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((done) => setImmediate(done));
  }
  globalThis.gc();
  return { heapBytes: process.memoryUsage().heapUsed, wasmBytes: memory.buffer.byteLength };
}

let done = 0;
async function runTo(target) {
  // `CONCURRENCY` compositions in flight, a closed loop; every result is checked.
  const worker = async () => {
    while (done < target) {
      done++;
      check(await pc.compose(plan, input, options));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, target - done) }, worker));
}

const t0 = performance.now();
const before = await collected();
await runTo(FIRST);
const after1000 = await collected();
const samples = [{ compositions: done, ...after1000 }];
const step = Math.max(FIRST, Math.ceil(TOTAL / 10));
while (done < TOTAL) {
  await runTo(Math.min(TOTAL, done + step));
  samples.push({ compositions: done, ...(await collected()) });
  process.stderr.write(`  memory: ${done}/${TOTAL} compositions (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
}
const atEnd = samples.at(-1);
process.stdout.write(`${JSON.stringify({
  compositions: done,
  first: FIRST,
  fetches,
  concurrency: CONCURRENCY,
  before: { heapBytes: before.heapBytes, wasmBytes: before.wasmBytes },
  after1000: { heapBytes: after1000.heapBytes, wasmBytes: after1000.wasmBytes },
  atEnd: { heapBytes: atEnd.heapBytes, wasmBytes: atEnd.wasmBytes },
  samples,
  ms: performance.now() - t0,
  node: process.version,
})}\n`);
stopWatchingStdin();
