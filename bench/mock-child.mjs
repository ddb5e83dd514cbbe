// The mock services for the benchmark, in a process of their own (bench/run.mjs starts it),
// so the services' timers and sockets never wait on the driver's event loop.
//
// Prints one JSON line ({adminUrl, gatewayUrl, services}) once listening on free ports, and
// closes when stdin ends (the driver exited, however it exited), on SIGTERM or on SIGINT.
import { startServices } from '../mock/services.mjs';

const mock = await startServices({ port: 0, defaultLatency: 0, log: false });
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
