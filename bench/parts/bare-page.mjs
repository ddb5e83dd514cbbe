// A Chromium page driven over the DevTools pipe (--remote-debugging-pipe) with no Network
// domain: where parts A and A′ time the order flow and part D the cold start, and
// bench/ab-order.mjs compares builds.
//
// Playwright enables the Network domain on every page it drives, and Chromium then records
// each request's initiator with its whole JavaScript stack. Measured on the benchmark page
// against the mock services: a fetch() call took 0.49 ms from a stack 0 frames deep, 0.62 ms
// from 40 and 0.94 ms from 120, against 0.25 ms from any depth with no DevTools client
// attached (docs/performance.md, part A′). No user pays that, and it grows with the depth of
// the stack: the composer calls fetch() from inside the wasm's poll, dozens of frames down,
// where hand-written code calls it a few frames from the top. So the parts that time real
// requests run here, with only what they need: Target (fresh browser contexts), Page (to load
// the page), Runtime (to run the page's functions and hear its errors) and Emulation (CPU
// throttling). Part B's fetch is a stand-in, never the platform's: measured both ways, its
// ratios were the same, so its parts stay on Playwright's page.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Launches headless Chromium with `args`, driven over the pipe; `newPage(url)` opens a page. */
export async function launchBare(args, executablePath = process.env.PC_CHROMIUM || '/usr/bin/chromium') {
  const profile = mkdtempSync(join(tmpdir(), 'pc-bare-'));
  const child = spawn(executablePath, ['--headless=new', '--remote-debugging-pipe', `--user-data-dir=${profile}`, ...args, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'],
  });
  const client = new PipeClient(child.stdio[3], child.stdio[4]);
  const exited = new Promise((resolve) => {
    child.once('exit', resolve);
    child.once('error', resolve); // it never started: close() has nothing to wait for
  });
  child.once('exit', (code) => client.closed(`Chromium exited (${code})`));
  child.once('error', (error) => client.closed(`Chromium did not start: ${error.message}`));
  return {
    /** A page at `url`; with `fresh`, in a browser context of its own (no cache, no cookies). */
    newPage: (url, { fresh = false } = {}) => BarePage.open(client, url, fresh),
    /** Asks Chromium to close (killing it when it does not within 5 s), then removes its profile. */
    async close() {
      const asked = client.send('Browser.close').catch(() => {});
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await Promise.all([asked, exited]);
      clearTimeout(timer);
      // Its helper processes may still be writing their last files into the profile.
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}

/** The DevTools protocol over a pipe: JSON messages, each ended by a NUL byte. */
class PipeClient {
  constructor(writable, readable) {
    this.writable = writable;
    // A write to a browser that has gone fails its commands, rather than the process.
    writable.on('error', (error) => this.closed(error.message));
    this.nextId = 0;
    this.gone = null; // why the browser can take no more commands, once it cannot
    this.pending = new Map();
    this.listeners = new Map();
    let buffer = '';
    readable.setEncoding('utf8');
    readable.on('data', (chunk) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\0'); end >= 0; end = buffer.indexOf('\0')) {
        this.receive(JSON.parse(buffer.slice(0, end)));
        buffer = buffer.slice(end + 1);
      }
    });
  }

  receive(message) {
    const waiting = this.pending.get(message.id);
    if (waiting) {
      this.pending.delete(message.id);
      if (message.error) waiting.reject(new Error(`${waiting.method}: ${message.error.message}`));
      else waiting.resolve(message.result);
      return;
    }
    for (const listener of this.listeners.get(`${message.sessionId}:${message.method}`) ?? []) listener(message.params);
  }

  send(method, params = {}, sessionId = undefined) {
    return new Promise((resolve, reject) => {
      if (this.gone) return reject(new Error(`${method}: ${this.gone}`));
      const id = ++this.nextId;
      this.pending.set(id, { method, resolve, reject });
      this.writable.write(`${JSON.stringify({ id, method, params, sessionId })}\0`);
    });
  }

  on(sessionId, method, listener) {
    const key = `${sessionId}:${method}`;
    this.listeners.set(key, [...(this.listeners.get(key) ?? []), listener]);
  }

  closed(why) {
    this.gone ??= why;
    for (const { method, reject } of this.pending.values()) reject(new Error(`${method}: ${why}`));
    this.pending.clear();
  }
}

/** One page: `evaluate(fn, arg)` as Playwright's page.evaluate, `send` for a protocol command. */
class BarePage {
  static async open(client, url, fresh) {
    const { browserContextId } = fresh ? await client.send('Target.createBrowserContext') : {};
    const { targetId } = await client.send('Target.createTarget', { url: 'about:blank', browserContextId });
    const { sessionId } = await client.send('Target.attachToTarget', { targetId, flatten: true });
    const page = new BarePage(client, sessionId, targetId, browserContextId);
    await page.send('Runtime.enable');
    await page.send('Page.enable');
    const loaded = new Promise((resolve) => client.on(sessionId, 'Page.loadEventFired', resolve));
    const { errorText } = await page.send('Page.navigate', { url });
    if (errorText) throw new Error(`bare page: ${url} did not load: ${errorText}`);
    await loaded;
    return page;
  }

  constructor(client, sessionId, targetId, browserContextId) {
    this.client = client;
    this.sessionId = sessionId;
    this.targetId = targetId;
    this.browserContextId = browserContextId;
    /** Uncaught exceptions and console errors and warnings, as the page reported them. */
    this.errors = [];
    client.on(sessionId, 'Runtime.exceptionThrown', ({ exceptionDetails: d }) => this.errors.push(d.exception?.description ?? d.text));
    client.on(sessionId, 'Runtime.consoleAPICalled', ({ type, args }) => {
      if (type === 'error' || type === 'warning') this.errors.push(`console.${type}: ${args.map((a) => a.value ?? a.description).join(' ')}`);
    });
  }

  send(method, params) {
    return this.client.send(method, params, this.sessionId);
  }

  /** Closes the page, and its browser context when it has one of its own. */
  async close() {
    await this.client.send('Target.closeTarget', { targetId: this.targetId });
    if (this.browserContextId) await this.client.send('Target.disposeBrowserContext', { browserContextId: this.browserContextId });
  }

  /**
   * Calls `fn(arg)` in the page (`arg` as JSON), or evaluates `fn` when it is an expression's
   * text, and resolves to the awaited result, as JSON.
   */
  async evaluate(fn, arg) {
    const expression = typeof fn === 'string' ? fn : `(${fn})(${arg === undefined ? '' : JSON.stringify(arg)})`;
    const { result, exceptionDetails } = await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
    if (exceptionDetails) throw new Error(exceptionDetails.exception?.description ?? exceptionDetails.text);
    return result.value;
  }
}
