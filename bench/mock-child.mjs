// The mock services for the benchmark, in a process of their own (bench/run.mjs starts it),
// so the services' timers and sockets never wait on the driver's event loop.
//
// bench/node/bff.mjs (part E) starts it too, with `--port N` (the base port; default 0: any
// free ports).
//
// Prints one JSON line ({adminUrl, gatewayUrl, services}) once listening, and closes when
// stdin ends (the driver exited, however it exited), on SIGTERM or on SIGINT.
import { parseArgs } from 'node:util';
import { startServices } from '../mock/services.mjs';

const { values: args } = parseArgs({ options: { port: { type: 'string', default: '0' } }, strict: true });
if (!/^\d+$/.test(args.port)) throw new Error(`--port: expected an integer, got "${args.port}"`);
const mock = await startServices({ port: Number(args.port), defaultLatency: 0, log: false });
process.stdout.write(`${JSON.stringify(mock)}\n`);

let closing = false;
function stop() {
  if (closing) return;
  closing = true;
  mock.close().then(() => process.exit(0), () => process.exit(1));
}
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
