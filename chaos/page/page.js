// The chaos run's page: the web build (pkg/, served at /pkg/) and the very caller module the
// Node runtime uses (chaos/caller.js, served at /lib/). chaos/run.mjs calls window.chaos.*
// through Playwright; progress comes back through the chaosProgress binding it exposes.
import init, * as pc from '/pkg/parallel_composer.js';
import { runCallers, runLoad, warmUp } from '/lib/caller.js';

window.chaos = {
  async setup() {
    await init();
    return { exports: Object.keys(pc).sort(), memory: Boolean(performance.memory) };
  },
  run(cfg) {
    // One progress message per 5% at most: each is a round trip to the driver.
    const step = Math.max(1, Math.floor(cfg.orders / 20));
    return runCallers(pc, cfg, (done, total) => {
      if (done % step === 0 || done === total) window.chaosProgress?.(done, total);
    });
  },
  warmUp(cfg) {
    return warmUp(pc, cfg);
  },
  load(cfg) {
    return runLoad(pc, cfg);
  },
};
window.chaosReady = true;
