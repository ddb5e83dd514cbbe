// scripts/start.mjs as `npm start` runs it (after setup): a child process that prints the
// page URL and the service URLs, serves the demo, and exits cleanly on SIGINT / SIGTERM,
// even with a request hanging at a mock service. PC_DEMO_PORT=0 / PC_DEMO_WEB_PORT=0 make
// it pick free ports, so this never collides with a demo on 4400/8080 or the mock on 4500.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { ensurePkg, getJson, waitFor, ROOT } from './helpers.mjs';

/** Starts the CLI; resolves once it printed the page URL and every service URL. */
async function startCli() {
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'start.mjs'), '--no-build'], {
    cwd: ROOT,
    env: { ...process.env, PC_DEMO_PORT: '0', PC_DEMO_WEB_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const printed = { services: {} };
  const lines = createInterface({ input: child.stdout });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`start.mjs printed no URLs within 15 s; stderr: ${stderr}`)), 15000);
    child.once('exit', (code) => reject(new Error(`start.mjs exited early (${code}); stderr: ${stderr}`)));
    lines.on('line', (line) => {
      let m = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(line);
      if (m) printed.url = m[1];
      m = /^\s+(\w+)\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (m) {
        if (m[1] === 'admin') printed.adminUrl = m[2];
        else if (m[1] === 'gateway') printed.gatewayUrl = m[2];
        else printed.services[m[1]] = m[2];
      }
      if (/Ctrl-C to stop/.test(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  await ready;
  return { child, printed, stderr: () => stderr };
}

async function exitOf(child, timeoutMs = 5000) {
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await once(child, 'exit');
  clearTimeout(timer);
  return { code, signal };
}

async function refused(url) {
  try {
    await fetch(url);
    return false;
  } catch {
    return true;
  }
}

test('npm start prints the URLs, serves the page with /config.json, and stops on SIGINT', async () => {
  await ensurePkg();
  const { child, printed } = await startCli();
  try {
    assert.ok(printed.url, 'printed the page URL');
    assert.equal(Object.keys(printed.services).length, 10, 'printed ten service URLs');
    const page = await fetch(printed.url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy'), new RegExp(`connect-src 'self' ${printed.adminUrl} `));
    assert.match(await page.text(), /<script type="module" src="app\.js"><\/script>/);
    const config = await getJson(new URL('config.json', printed.url));
    assert.deepEqual(config, { adminUrl: printed.adminUrl, gatewayUrl: printed.gatewayUrl, services: printed.services });
    // The mock behind those URLs is up, with the demo's latencies.
    const scenario = await getJson(`${printed.adminUrl}/scenarios/default`);
    assert.ok(Object.values(scenario.latency).every((ms) => ms >= 100), 'demo latencies are visible (>= 100 ms)');
  } finally {
    child.kill('SIGINT');
  }
  const { code } = await exitOf(child);
  assert.equal(code, 0, 'exit code after SIGINT');
  assert.ok(await refused(printed.url), 'page server closed');
  assert.ok(await refused(`${printed.adminUrl}/health`), 'mock closed');
});

test('SIGTERM stops it promptly even while a request hangs at a mock service', async () => {
  const { child, printed } = await startCli();
  const put = await fetch(`${printed.adminUrl}/scenarios/default`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ faults: { customer: 'hang' } }),
  });
  assert.equal(put.status, 200);
  const hanging = fetch(`${printed.services.customer}/customers/c1`).then(() => 'answered', () => 'dropped');
  // Wait until the mock has the request (it logs it on arrival), then stop.
  await waitFor(async () => {
    const log = await getJson(`${printed.adminUrl}/log?scenario=default`);
    return log.some((e) => e.service === 'customer');
  }, { timeout: 5000, message: 'the hanging request to reach the mock' });
  child.kill('SIGTERM');
  const { code } = await exitOf(child);
  assert.equal(code, 0, 'exit code after SIGTERM');
  assert.equal(await hanging, 'dropped', 'the hanging request was closed, not answered');
});
