#!/usr/bin/env node
// The demo: builds the release web package if needed, starts the mock order services and
// serves the demo page (www/) with the package (pkg/). What `npm start` runs after setup.
//
//   node scripts/start.mjs [--build | --no-build] [--log]
//
//   PC_DEMO_PORT      base port of the mock services (default 4400: admin 4400, gateway 4401,
//                     services 4402..4411)
//   PC_DEMO_WEB_PORT  port of the demo page (default 8080), always on 127.0.0.1
//
// Without --build/--no-build, the package is rebuilt when src/, js/, Cargo.toml, Cargo.lock or
// scripts/build-pkg.mjs is newer than pkg/. Ctrl-C (SIGINT) or SIGTERM stops everything.
//
// From JavaScript (the e2e tests): startDemo({ mockPort, webPort, build }) → { url, config, mock, close }.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServices } from '../mock/services.mjs';
import { startStaticServer } from './serve.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PKG_DIR = join(ROOT, 'pkg');
const PKG_FILES = ['parallel_composer.js', 'parallel_composer_bg.wasm'];

export const DEFAULT_MOCK_PORT = 4400;
export const DEFAULT_WEB_PORT = 8080;

/**
 * Latencies of the demo's `default` scenario, in ms. Different per service (as in real life)
 * and large enough that the difference between sequential and parallel is easy to see.
 * The page's latency controls change them at runtime through the admin API.
 */
export const DEMO_LATENCY = Object.freeze({
  customer: 180,
  cart: 150,
  inventory: 250,
  pricing: 120,
  shipping: 220,
  fraud: 420, // fraud checks are slow; eager runs tax beside it, stages cannot
  tax: 160,
  payment: 280,
  order: 240,
  notification: 160,
});

/** Newest modification time (ms) among files under `path` (a file or a directory). */
function newestMtime(path) {
  let info;
  try {
    info = statSync(path);
  } catch {
    return 0;
  }
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Why pkg/ must be rebuilt, or null when it is fresh. */
export function pkgStaleReason() {
  let oldestOutput = Infinity;
  for (const file of PKG_FILES) {
    try {
      oldestOutput = Math.min(oldestOutput, statSync(join(PKG_DIR, file)).mtimeMs);
    } catch {
      return `pkg/${file} is missing`;
    }
  }
  const inputs = ['src', 'js', 'Cargo.toml', 'Cargo.lock', 'scripts/build-pkg.mjs'];
  const newer = inputs.filter((p) => newestMtime(join(ROOT, p)) > oldestOutput);
  return newer.length ? `${newer.join(', ')} changed since pkg/ was built` : null;
}

/** Runs scripts/build-pkg.mjs (release, --target web, into pkg/); output goes to stderr. */
export function buildPkg() {
  return new Promise((resolveBuild, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'build-pkg.mjs'), '--target', 'web', '--out-dir', 'pkg'], {
      cwd: ROOT,
      stdio: ['ignore', process.stderr, process.stderr],
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolveBuild();
      else reject(new Error(`building pkg/ failed (scripts/build-pkg.mjs exited with ${signal ?? code})`));
    });
  });
}

/**
 * Starts the demo in-process.
 * build: true (always), false (never; pkg/ must exist) or 'auto' (when pkg/ is stale).
 * mockPort / webPort: 0 picks free ports.
 * Resolves to { url, config, mock, web, close }; config is what /config.json serves.
 */
export async function startDemo({
  mockPort = DEFAULT_MOCK_PORT,
  webPort = DEFAULT_WEB_PORT,
  build = 'auto',
  latency = DEMO_LATENCY,
  log = false,
  onBuild = () => {},
} = {}) {
  const reason = pkgStaleReason();
  if (build === true || (build === 'auto' && reason)) {
    onBuild(build === true ? 'requested' : reason);
    await buildPkg();
  } else if (build === false && reason?.includes('missing')) {
    throw new Error(`${reason}; build it with: node scripts/build-pkg.mjs --target web --out-dir pkg`);
  }

  const mock = await startServices({ port: mockPort, latency, defaultLatency: 0, log });
  const config = JSON.parse(JSON.stringify(mock)); // { adminUrl, gatewayUrl, services }
  let web;
  try {
    web = await startStaticServer({ port: webPort, host: '127.0.0.1', config, log, trustedTypes: true });
  } catch (err) {
    await mock.close();
    throw err;
  }
  let closing = null;
  const close = () => {
    closing ??= Promise.all([web.close(), mock.close()]).then(() => undefined);
    return closing;
  };
  return { url: web.url, config, mock, web, close };
}

// ------------------------------------------------------------------ CLI

function portFromEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${name} must be a port number (0..65535), got "${raw}"`);
  }
  return port;
}

async function main(argv) {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('usage: node scripts/start.mjs [--build | --no-build] [--log]\n'
      + '  env: PC_DEMO_PORT (mock base port, default 4400), PC_DEMO_WEB_PORT (default 8080)\n');
    return;
  }
  const build = argv.includes('--no-build') ? false : argv.includes('--build') ? true : 'auto';
  const demo = await startDemo({
    mockPort: portFromEnv('PC_DEMO_PORT', DEFAULT_MOCK_PORT),
    webPort: portFromEnv('PC_DEMO_WEB_PORT', DEFAULT_WEB_PORT),
    build,
    log: argv.includes('--log'),
    onBuild: (why) => process.stderr.write(`building pkg/ (${why}) ...\n`),
  });

  const { config } = demo;
  const width = Math.max(...Object.keys(config.services).map((n) => n.length), 'gateway'.length);
  const lines = [
    '',
    `  parallel-composer demo: open ${demo.url}`,
    '',
    `  mock services (latency in ms; change them on the page):`,
    `    ${'admin'.padEnd(width)}  ${config.adminUrl}`,
    `    ${'gateway'.padEnd(width)}  ${config.gatewayUrl}`,
    ...Object.entries(config.services).map(
      ([name, url]) => `    ${name.padEnd(width)}  ${url}   ${DEMO_LATENCY[name] ?? 0} ms`,
    ),
    '',
    '  Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const stop = (signal) => {
    if (stopping) {
      process.stderr.write(`second ${signal}: exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`${signal}: stopping the demo ...\n`);
    demo.close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`error while stopping: ${err?.message ?? err}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`start: ${err?.message ?? err}\n`);
    process.exit(1);
  });
}
