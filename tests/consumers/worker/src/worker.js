// A module worker: loads the package's web build (its .wasm is fetched from inside the
// worker) and runs each plan it is sent with compose(), posting back the result or the
// ComposeError's fields (a ComposeError does not survive postMessage as one).
import init, { compose, ComposeError } from 'parallel-composer';

await init();
const inWorker = typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope;

self.addEventListener('message', async ({ data: { plan, input } }) => {
  try {
    const result = await compose(plan, input, { deadlineMs: 8000 });
    self.postMessage({ ok: true, inWorker, result });
  } catch (e) {
    if (!(e instanceof ComposeError)) throw e;
    self.postMessage({ ok: false, inWorker, error: { name: e.name, code: e.code, call: e.call, status: e.status, message: e.message, calls: e.calls } });
  }
});
self.postMessage({ type: 'ready' });
