// Shared pieces of the consumer tests (not a test file itself: node --test picks up *.test.mjs).
//
// Each consumer (vite/, node/, typescript/, worker/) is a project of its own, with its own
// package.json and committed package-lock.json pinning its tools. installConsumer() gives it
// the packed tarball the way a user would get the published package: `npm ci` for the
// locked tools, then `npm install` of the .tgz (a copy, never a link), and then checks that
// what landed in node_modules is byte for byte what the tarball holds.
//
// Environment:
//   PC_MOCK_PORT     base port of the running mock services (node mock/cli.mjs --port P;
//                    scripts/test.sh's mock-start step); default 4500, as in scripts/env.sh
//   PC_PACKAGE_TGZ   the tarball to test; default: what scripts/pack.mjs wrote to target/npm/
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const CONSUMERS = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(CONSUMERS, '..', '..');

/** The crate's version, which is the npm package's. */
export function crateVersion() {
  const toml = readFileSync(join(ROOT, 'Cargo.toml'), 'utf8');
  return /^\[package\][^[]*?^version = "([^"]+)"$/m.exec(toml)[1];
}

/** The packed tarball: PC_PACKAGE_TGZ, or target/npm/parallel-composer-<version>.tgz. */
export function tarballPath() {
  const path = process.env.PC_PACKAGE_TGZ
    ? resolve(process.env.PC_PACKAGE_TGZ)
    : join(ROOT, 'target', 'npm', `parallel-composer-${crateVersion()}.tgz`);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: run node scripts/pack.mjs first (npm test's consumers step does)`);
  }
  return path;
}

/**
 * The files of a .tgz as a Map of path (without npm's `package/` prefix) to contents.
 * A plain ustar reader: npm pack writes regular files and folders, and pax headers only
 * for long names.
 */
export function tarballEntries(path = tarballPath()) {
  const tar = gunzipSync(readFileSync(path));
  const files = new Map();
  const text = (at, length) => tar.toString('utf8', at, at + length).replace(/\0.*$/s, '');
  let paxPath = null;
  for (let at = 0; at + 512 <= tar.length;) {
    if (tar[at] === 0) break; // the two zero blocks at the end
    const size = parseInt(text(at + 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(tar[at + 156] || 48);
    const prefix = text(at + 345, 155);
    let name = paxPath ?? (prefix ? `${prefix}/${text(at, 100)}` : text(at, 100));
    const body = tar.subarray(at + 512, at + 512 + size);
    paxPath = null;
    if (type === 'x') {
      paxPath = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1] ?? null;
    } else if (type === '0' || type === '\0') {
      name = name.replace(/^package\//, '');
      files.set(name, Buffer.from(body));
    } else if (type !== '5' && type !== 'g') {
      throw new Error(`${path}: unexpected tar entry type '${type}' for ${name}`);
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

function run(command, args, cwd, what) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10 * 60 * 1000 });
  if (result.status !== 0) {
    throw new Error(`${what} failed in ${cwd} (exit ${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

/** Every file under dir, relative, with `/` separators (symlinks reported as such). */
function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => !d.isDirectory())
    .map((d) => join(d.parentPath ?? d.path, d.name).slice(dir.length + 1).split('\\').join('/'));
}

/**
 * Installs a consumer's locked tools (npm ci, skipped when node_modules already matches its
 * lockfile) and then the tarball, and checks the installed package is the tarball's copy.
 * Returns the consumer's folder.
 */
export function installConsumer(name) {
  const dir = join(CONSUMERS, name);
  for (const file of ['package.json', 'package-lock.json']) {
    if (!existsSync(join(dir, file))) throw new Error(`consumer ${name}: ${join(dir, file)} is missing`);
  }
  const tarball = tarballPath();
  const stampFile = join(dir, 'node_modules', '.pc-consumer-stamp');
  const stamp = createHash('sha256')
    .update(readFileSync(join(dir, 'package.json')))
    .update(readFileSync(join(dir, 'package-lock.json')))
    .update(process.version)
    .digest('hex');
  if (!existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp) {
    run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], dir, `consumer ${name}: npm ci`);
    mkdirSync(dirname(stampFile), { recursive: true }); // npm ci makes none when nothing is locked
    writeFileSync(stampFile, stamp);
  }
  // --no-save: the lockfile pins the tools only. A tarball's hash changes with every build,
  // and npm ci would install an older copy from its cache under a stale locked hash.
  run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', tarball], dir, `consumer ${name}: npm install ${tarball}`);

  const installed = join(dir, 'node_modules', 'parallel-composer');
  if (lstatSync(installed).isSymbolicLink()) throw new Error(`consumer ${name}: node_modules/parallel-composer is a link, not an install`);
  const packed = tarballEntries(tarball);
  const got = filesUnder(installed).sort();
  const want = [...packed.keys()].sort();
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`consumer ${name}: installed files differ from the tarball's\n installed: ${got}\n tarball: ${want}`);
  }
  for (const [file, bytes] of packed) {
    if (file === 'package.json') continue; // npm may rewrite it on install; checked below
    if (!readFileSync(join(installed, file)).equals(bytes)) throw new Error(`consumer ${name}: installed ${file} is not the tarball's`);
  }
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  if (manifest.version !== crateVersion()) throw new Error(`consumer ${name}: installed version ${manifest.version}, crate ${crateVersion()}`);
  return dir;
}

/** Runs a consumer's npm script (e.g. `build`); returns its output. */
export function runScript(dir, script) {
  return run('npm', ['run', '--silent', script], dir, `npm run ${script}`);
}

// ------------------------------------------------------------------ the mock services

export const MOCK_PORT = Number(process.env.PC_MOCK_PORT || 4500);
export const MOCK_ADMIN = `http://127.0.0.1:${MOCK_PORT}`;

/** `{adminUrl, gatewayUrl, services}` of the running mock; fails loudly when there is none. */
export async function mockConfig() {
  let response;
  try {
    response = await fetch(`${MOCK_ADMIN}/info`);
  } catch (error) {
    throw new Error(`no mock services at ${MOCK_ADMIN} (${error.cause?.code ?? error.message}): start them with node mock/cli.mjs --port ${MOCK_PORT}, or set PC_MOCK_PORT`);
  }
  if (!response.ok) throw new Error(`GET ${MOCK_ADMIN}/info: HTTP ${response.status}`);
  return response.json();
}

/** Resets a scenario (empty log, ids from 1, no orders), so a re-run starts afresh. */
export async function resetScenario(id) {
  const response = await fetch(`${MOCK_ADMIN}/scenarios/${id}`, { method: 'DELETE' });
  if (!response.ok) throw new Error(`DELETE /scenarios/${id}: HTTP ${response.status}`);
}

/** The scenario's request log. */
export async function scenarioLog(id) {
  const response = await fetch(`${MOCK_ADMIN}/log?scenario=${id}`);
  if (!response.ok) throw new Error(`GET /log?scenario=${id}: HTTP ${response.status}`);
  return response.json();
}

/** The mock's service URLs inside a scenario. */
export function servicesIn(config, scenario) {
  return Object.fromEntries(Object.entries(config.services).map(([name, url]) => [name, `${url}/s/${scenario}`]));
}

/** The orders the order service stored in a scenario. */
export async function storedOrders(config, scenario) {
  const response = await fetch(`${servicesIn(config, scenario).order}/orders`);
  if (!response.ok) throw new Error(`GET orders of ${scenario}: HTTP ${response.status}`);
  return (await response.json()).orders;
}

/** Resets a scenario and gives it a config (`{defaultLatency, latency, faults, ...}`). */
export async function configureScenario(id, scenarioConfig) {
  await resetScenario(id);
  const response = await fetch(`${MOCK_ADMIN}/scenarios/${id}`, { method: 'PUT', body: JSON.stringify(scenarioConfig) });
  if (!response.ok) throw new Error(`PUT /scenarios/${id}: HTTP ${response.status} ${await response.text()}`);
}
