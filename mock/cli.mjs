#!/usr/bin/env node
// Start the mock order services until SIGINT/SIGTERM.
//   node mock/cli.mjs [--port 4500] [--latency 100] [--latency payment=400 ...] [--jitter 20 ...]
//                     [--tail 0.05x10] [--tail fraud=0.05x10 ...] [--tail-seed 3] [--tail-spread exact]
//                     [--chaos 0.2 [--chaos-seed 7]] [--log]
// stdout: exactly one line of JSON {adminUrl, gatewayUrl, services}; everything else goes to stderr.

import { parseArgs } from 'node:util';
import { startServices, SERVICE_NAMES, DEFAULT_PORT } from './services.mjs';
import { MAX_TAIL_FACTOR, TAIL_SPREADS } from './store.mjs';

const USAGE = `usage: node mock/cli.mjs [--port ${DEFAULT_PORT}] [--latency MS] [--latency SERVICE=MS ...] [--jitter ...] [--tail SHARExFACTOR ... [--tail-seed N] [--tail-spread exact]] [--chaos RATE [--chaos-seed N]] [--log]
  --port N            base port: admin N, gateway N+1, services N+2..N+11 (0 = any free ports)
  --latency MS        latency of every service in the default scenario
  --latency SVC=MS    latency of one service (repeatable); services: ${SERVICE_NAMES.join(', ')}
  --jitter MS         each reply waits a further uniform random 0..MS (also --jitter SVC=MS)
  --tail SHARExFACTOR a long tail: that share (0..1) of requests waits FACTOR (1..${MAX_TAIL_FACTOR}) times its latency + jitter,
                      e.g. 0.05x10 (also --tail SVC=SHARExFACTOR)
  --tail-seed N       seeds the tail's draw (the same seed and arrival order slow the same requests); random without
  --tail-spread S     random (the default: each request drawn on its own) or exact (exactly the share of every
                      run of requests, evenly: with 0.05, one in every 20)
  --chaos RATE        random faults on that share (0..1) of the default scenario's domain requests, every kind
  --chaos-seed N      the seed of those faults (default 1): the same seed and arrival order give the same faults
  --log               one line per request on stderr`;

function fail(message) {
  process.stderr.write(`mock: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function toMs(text, what) {
  if (!/^\d+(\.\d+)?$/.test(text)) fail(`${what}: expected milliseconds, got "${text}"`);
  return Number(text);
}

let args;
try {
  args = parseArgs({
    options: {
      port: { type: 'string', default: String(DEFAULT_PORT) },
      latency: { type: 'string', multiple: true, default: [] },
      jitter: { type: 'string', multiple: true, default: [] },
      tail: { type: 'string', multiple: true, default: [] },
      'tail-seed': { type: 'string' },
      'tail-spread': { type: 'string' },
      chaos: { type: 'string' },
      'chaos-seed': { type: 'string' },
      log: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }).values;
} catch (err) {
  fail(err.message);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

if (!/^\d+$/.test(args.port)) fail(`--port: expected an integer, got "${args.port}"`);
const port = Number(args.port);
/** `--flag VALUE` and `--flag SERVICE=VALUE` items → [default value, { service: value }], each read by `read`. */
function perService(items, flag, read, all) {
  const each = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq < 0) {
      all = read(item, flag);
    } else {
      const name = item.slice(0, eq);
      if (!SERVICE_NAMES.includes(name)) fail(`${flag}: unknown service "${name}"`);
      each[name] = read(item.slice(eq + 1), `${flag} ${name}`);
    }
  }
  return [all, each];
}
const [defaultLatency, latency] = perService(args.latency, '--latency', toMs, 0);
const [defaultJitter, jitter] = perService(args.jitter, '--jitter', toMs, 0);

/** `SHARExFACTOR`, e.g. 0.05x10 → { share, factor, seed?, spread? } (those of --tail-seed and --tail-spread). */
function toTail(text, what) {
  const m = /^(0(?:\.\d+)?|1(?:\.0+)?|\.\d+)x(\d+(?:\.\d+)?)$/.exec(text);
  if (!m) fail(`${what}: expected SHARExFACTOR with a share from 0 to 1 and a factor, e.g. 0.05x10, got "${text}"`);
  const factor = Number(m[2]);
  if (!(factor >= 1 && factor <= MAX_TAIL_FACTOR)) fail(`${what}: the factor must be from 1 to ${MAX_TAIL_FACTOR}, got "${m[2]}"`);
  return {
    share: Number(m[1]), factor, ...(tailSeed === undefined ? {} : { seed: tailSeed }), ...(tailSpread === undefined ? {} : { spread: tailSpread }),
  };
}
let tailSeed;
if (args['tail-seed'] !== undefined) {
  if (args.tail.length === 0) fail('--tail-seed goes with --tail SHARExFACTOR');
  if (!/^\d+$/.test(args['tail-seed']) || !Number.isSafeInteger(Number(args['tail-seed']))) {
    fail(`--tail-seed: expected a non-negative integer, got "${args['tail-seed']}"`);
  }
  tailSeed = Number(args['tail-seed']);
}
let tailSpread;
if (args['tail-spread'] !== undefined) {
  if (args.tail.length === 0) fail('--tail-spread goes with --tail SHARExFACTOR');
  if (!TAIL_SPREADS.includes(args['tail-spread'])) fail(`--tail-spread: expected ${TAIL_SPREADS.join(' or ')}, got "${args['tail-spread']}"`);
  tailSpread = args['tail-spread'];
}
const [defaultTail, tail] = perService(args.tail, '--tail', toTail, undefined);

let chaos;
if (args.chaos !== undefined) {
  if (!/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(args.chaos)) fail(`--chaos: expected a rate from 0 to 1, got "${args.chaos}"`);
  chaos = { rate: Number(args.chaos) };
  if (args['chaos-seed'] !== undefined) {
    if (!/^\d+$/.test(args['chaos-seed']) || !Number.isSafeInteger(Number(args['chaos-seed']))) {
      fail(`--chaos-seed: expected a non-negative integer, got "${args['chaos-seed']}"`);
    }
    chaos.seed = Number(args['chaos-seed']);
  }
} else if (args['chaos-seed'] !== undefined) {
  fail('--chaos-seed goes with --chaos RATE');
}

let running;
try {
  running = await startServices({ port, latency, defaultLatency, jitter, defaultJitter, tail, defaultTail, chaos, log: args.log });
} catch (err) {
  process.stderr.write(`mock: ${err.message}\n`);
  process.exit(1);
}

process.stdout.write(`${JSON.stringify(running)}\n`);
const ports = Object.entries(running.services).map(([name, u]) => `${name} ${new URL(u).port}`).join(', ');
const lat = defaultLatency || Object.keys(latency).length
  ? ` latency ${defaultLatency}ms${Object.keys(latency).length ? ` ${JSON.stringify(latency)}` : ''};` : '';
const jit = defaultJitter || Object.keys(jitter).length
  ? ` jitter ${defaultJitter}ms${Object.keys(jitter).length ? ` ${JSON.stringify(jitter)}` : ''};` : '';
const tails = [
  ...(defaultTail ? [`${defaultTail.share}x${defaultTail.factor}`] : []),
  ...Object.entries(tail).map(([name, t]) => `${name}=${t.share}x${t.factor}`),
];
const tai = tails.length
  ? ` tail ${tails.join(' ')}${tailSeed === undefined ? '' : ` seed ${tailSeed}`}${tailSpread === undefined ? '' : ` spread ${tailSpread}`};` : '';
const cha = chaos ? ` chaos ${chaos.rate} seed ${chaos.seed ?? 1};` : '';
process.stderr.write(`mock services up: admin ${running.adminUrl}, gateway ${running.gatewayUrl}; ${ports};${lat}${jit}${tai}${cha} Ctrl-C to stop\n`);

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`mock: ${signal}, closing\n`);
  await running.close();
  process.exit(0);
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
