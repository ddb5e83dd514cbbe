// README: Install and use | // worker.js
// The Web Worker example, type-checked with the webworker library (no DOM).
// worker.js
import init, { compose, ComposeError, type Plan } from 'parallel-composer';

await init();
self.onmessage = async ({ data: { plan, input } }: MessageEvent<{ plan: Plan; input: unknown }>) => {
  try {
    const { data, calls } = await compose(plan, input);
    self.postMessage({ ok: true, data, calls });
  } catch (e) {
    if (!(e instanceof ComposeError)) throw e;
    self.postMessage({ ok: false, code: e.code, call: e.call, message: e.message, calls: e.calls });
  }
};
