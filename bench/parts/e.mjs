// Parts E and N of the benchmark (see bench/run.mjs): parallel-composer as a Node
// backend-for-frontend, measured by bench/node/bff.mjs (read its head for the method).
//
//   E  composeOrder() from the --target nodejs build vs hand-written Node code (staged:
//      Promise.all per stage; eager: each call starts when its inputs are there), the same
//      order against the mock services in another process (latency 0 ms, so the CPU cost of
//      composing shows), at 1, 16 and 64 compositions in flight (a closed loop), the
//      implementations interleaved round-robin over rounds of 1 s cells (smoke: a fixed count
//      per cell). Before anything is timed, one order of each is judged by the mock's request
//      log: bff's sanity checks, counted here as checks of this run.
//   N  Node memory: 100,000 compose() calls (smoke: 2,000) in a fresh `node --expose-gc`,
//      the collected JS heap and the wasm memory after the first 1,000 and at the end.
//
// Neither needs the browser or pkg/: bff builds and uses target/bench-node/pkg/. bff installs
// no signal handlers here (handleSignals: false): run.mjs handles the signals and the
// watchdog, and its cleanup calls stopNodeChildren() (bff's stopAll()).
import { partE as bffThroughput, nodeMemory, stopAll, IMPLS, LEVELS } from '../node/bff.mjs';
import { CFG, SMOKE, log, check } from './shared.mjs';

export { stopAll as stopNodeChildren };

const common = () => ({ smoke: SMOKE, log, handleSignals: false });

export async function partE(ctx) {
  const { results } = ctx;
  log('');
  let r;
  try {
    r = await bffThroughput({ ...common(), memoryCompositions: 0, ...(CFG.nodeRounds ? { rounds: CFG.nodeRounds } : {}) });
  } catch (err) {
    // A failed sanity check stops bff before anything is timed; count what it checked.
    for (const c of err?.sanity ?? []) check(`E: ${c.name}`, c.ok, c.detail, { quiet: true });
    throw err;
  }
  for (const c of r.sanity) check(`E: ${c.name}`, c.ok, c.detail, { quiet: true });
  log(`  (${r.sanity.length} sanity checks above counted: ${r.sanity.filter((c) => c.ok).length} ok)`);
  results.entries.push(...r.entries);
  results.node = {
    settings: r.settings,
    environment: r.environment,
    sanity: r.sanity,
    targets: r.targets,
  };
  const cells = r.settings.rounds;
  const missing = [];
  for (const level of LEVELS) {
    for (const impl of IMPLS) {
      const e = r.entries.find((x) => x.inflight === level && x.impl === impl);
      if (!e || e.runs !== cells || e.perRound.some((p) => !(p.compositions > 0)) || !(e.compositionsPerSec > 0)) missing.push(`${impl} at ${level}`);
    }
  }
  check(`E: every implementation completed compositions at ${LEVELS.join(', ')} in flight in each of ${cells} round(s)`, missing.length === 0, missing.join(', '));
}

export async function partN(ctx) {
  const { results } = ctx;
  log('');
  const m = await nodeMemory(common());
  results.nodeMemory = m;
  const ok = (s) => s && s.heapBytes > 0 && s.wasmBytes > 0;
  check(`N: ${m.compositions} compose() calls in a fresh node, heap and wasm memory read after ${m.first} and at the end`,
    ok(m.after1000) && ok(m.atEnd) && Number.isFinite(m.heapRatio) && Number.isFinite(m.wasmRatio), JSON.stringify({ after1000: m.after1000, atEnd: m.atEnd }));
}
