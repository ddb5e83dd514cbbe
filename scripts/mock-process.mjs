// The mock services in a child process, for the runs that need them on ports of their own:
// the benchmark (bench/parts/shared.mjs), its Node part (bench/node/bff.mjs) and the chaos
// run (chaos/run.mjs). The child prints one JSON line with its addresses once it listens.
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** How long the child may take to print its addresses. */
const START_MS = 20_000;

/**
 * Starts `node <script> ...args` (a path from the repository's root) and resolves once it
 * has printed its addresses, to `{ config, stop, child, stderr }`: `config` is that line,
 * parsed; `stop()` ends the child and resolves when it is gone; `stderr` its last lines.
 *
 * `closesOnStdin`: the child ends when its stdin ends (bench/mock-child.mjs), so it cannot
 * outlive this process even when this one is SIGKILLed, and `stop()` asks it that way
 * first. Otherwise `stop()` sends SIGTERM. Either way SIGKILL follows a child that stays,
 * and one still running when this process exits.
 */
export async function startMockProcess(script, args = [], { closesOnStdin = false, stderrLines = 50 } = {}) {
  const child = spawn(process.execPath, [resolve(ROOT, script), ...args], {
    cwd: ROOT,
    stdio: [closesOnStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  if (closesOnStdin) child.stdin.on('error', () => {}); // EPIPE once the child is gone
  const stderr = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > stderrLines) stderr.shift();
  });
  let exited = false;
  const gone = new Promise((done) => child.once('exit', () => {
    exited = true;
    done(true);
  }));
  // Unref'd timers: a wait that lost its race keeps no process alive.
  const goneWithin = (ms) => Promise.race([gone, delay(ms, false, { ref: false })]);
  const stop = async () => {
    if (exited) return;
    if (closesOnStdin) {
      child.stdin.end(); // the child closes its servers and exits 0
      if (await goneWithin(5000)) return;
    }
    child.kill('SIGTERM');
    if (await goneWithin(3000)) return;
    child.kill('SIGKILL');
    await goneWithin(3000);
  };
  process.once('exit', () => {
    if (!exited) child.kill('SIGKILL');
  });
  try {
    const lines = createInterface({ input: child.stdout });
    const first = await Promise.race([
      new Promise((done, failed) => {
        lines.once('line', done);
        child.once('exit', (code) => failed(new Error(`the mock exited (code ${code}) before it printed its addresses: ${stderr.join(' / ')}`)));
      }),
      delay(START_MS, null, { ref: false }).then(() => {
        throw new Error(`the mock services did not start within ${START_MS / 1000} s: ${stderr.join(' / ')}`);
      }),
    ]);
    lines.on('line', () => {}); // keep draining stdout
    return { config: JSON.parse(first), stop, child, stderr };
  } catch (err) {
    await stop();
    throw err;
  }
}
