#!/usr/bin/env node
// A zero-dependency static server for the demo page: www/ at `/`, pkg/ at `/pkg/`.
//
//   node scripts/serve.mjs [--port 8080] [--host 127.0.0.1] [--config mock.json]
//
// `--config` takes the JSON line `node mock/cli.mjs` prints ({adminUrl, gatewayUrl, services});
// the server then answers `/config.json` with it and allows those origins in the CSP's
// connect-src. `npm start` (scripts/start.mjs) uses startStaticServer() in-process instead.
//
// What it guarantees: GET/HEAD only; files strictly inside their root (no `..`, no encoded
// slashes, no symlink escapes, no dotfiles, no directory listings); the right MIME type
// (`application/wasm`, `text/javascript`, ...); `Cache-Control: no-cache` with ETag
// revalidation; `X-Content-Type-Options: nosniff`; and on HTML the strict
// Content-Security-Policy built by contentSecurityPolicy().
import http from 'node:http';
import { createReadStream, readFileSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, join, resolve, sep, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_WWW_DIR = join(ROOT, 'www');
export const DEFAULT_PKG_DIR = join(ROOT, 'pkg');

export const MIME_TYPES = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
});

/** The origin (`scheme://host:port`) of an absolute URL. */
function originOf(url) {
  const { origin } = new URL(url);
  if (origin === 'null') throw new TypeError(`not an http(s) URL: ${url}`);
  return origin;
}

/** The origins the page may fetch from: the admin API and every service, per the mock config. */
export function connectOrigins(config) {
  if (!config) return [];
  const urls = [config.adminUrl, ...Object.values(config.services ?? {})].filter(Boolean);
  return [...new Set(urls.map(originOf))];
}

/**
 * The CSP header sent with every HTML page. trustedTypes adds
 * `require-trusted-types-for 'script'`: no string may reach an HTML or script sink
 * (innerHTML, script.src, ...), so a page must build its DOM node by node. The demo page
 * is served with it; the benchmark page is not.
 */
export function contentSecurityPolicy(origins = [], { trustedTypes = false } = {}) {
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    `connect-src ${["'self'", ...origins].join(' ')}`,
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    ...(trustedTypes ? ["require-trusted-types-for 'script'"] : []),
  ].join('; ');
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * Maps a request path to a file inside `root`, or throws HttpError(400/403/404).
 * `rel` is the part of the URL path below the mount point (still percent-encoded).
 */
async function resolveFile(root, rel) {
  let decoded;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    throw new HttpError(400, 'bad percent-encoding in path');
  }
  // An encoded slash or backslash would let one segment smuggle in another; NUL is never valid.
  if (/[\\\0]/.test(decoded) || /%2f|%5c/i.test(rel)) throw new HttpError(400, 'bad path');
  const segments = decoded.split('/').filter((s) => s !== '');
  for (const s of segments) {
    // `..` and `.` are refused outright (not normalized away), and so are dotfiles.
    if (s.startsWith('.')) throw new HttpError(404, 'not found');
  }
  let candidate = join(root, ...segments);
  let info;
  try {
    info = await stat(candidate);
    if (info.isDirectory()) {
      candidate = join(candidate, 'index.html');
      info = await stat(candidate);
    }
  } catch {
    throw new HttpError(404, 'not found');
  }
  if (!info.isFile()) throw new HttpError(404, 'not found');
  // Symlinks must not lead outside the root either.
  const [realRoot, realFile] = await Promise.all([realpath(root), realpath(candidate)]);
  if (!realFile.startsWith(realRoot + sep)) throw new HttpError(403, 'forbidden');
  return { file: realFile, info };
}

function sendText(req, res, status, text, headers = {}) {
  const body = Buffer.from(`${text}\n`);
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': body.length,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Starts the static server. Resolves to { url, port, close }.
 *
 * config: the mock services' {adminUrl, gatewayUrl, services}, served as /config.json and
 * used for the CSP's connect-src; null serves no /config.json (unless www/ has one).
 * extraMounts: more roots, [{prefix: '/vendor/async/', root: 'node_modules/async/dist'}],
 * served with the same rules as www/ and pkg/ (the benchmark page uses one for async.mjs).
 * trustedTypes: add `require-trusted-types-for 'script'` to the CSP (the demo page).
 */
export async function startStaticServer({
  port = 8080,
  host = '127.0.0.1',
  wwwDir = DEFAULT_WWW_DIR,
  pkgDir = DEFAULT_PKG_DIR,
  config = null,
  log = false,
  extraMounts = [],
  trustedTypes = false,
} = {}) {
  const csp = contentSecurityPolicy(connectOrigins(config), { trustedTypes });
  const configBody = config ? Buffer.from(`${JSON.stringify(config, null, 2)}\n`) : null;
  for (const { prefix } of extraMounts) {
    if (typeof prefix !== 'string' || !/^\/[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*\/$/.test(prefix) || prefix === '/pkg/') {
      throw new TypeError(`static server: extra mount prefix must look like "/name/" (not /pkg/), got ${prefix}`);
    }
  }
  const mounts = [
    // Longest prefix first, so /vendor/async/ wins over /vendor/.
    ...extraMounts
      .map(({ prefix, root }) => ({ prefix, root: resolve(root) }))
      .sort((a, b) => b.prefix.length - a.prefix.length),
    { prefix: '/pkg/', root: resolve(pkgDir) },
    { prefix: '/', root: resolve(wwwDir) },
  ];

  const handle = async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendText(req, res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
    }
    const rawPath = (req.url ?? '/').split(/[?#]/, 1)[0];
    if (!rawPath.startsWith('/')) return sendText(req, res, 400, 'bad request');

    if (configBody && rawPath === '/config.json') {
      res.writeHead(200, {
        'Content-Type': MIME_TYPES['.json'],
        'Content-Length': configBody.length,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
      });
      return res.end(req.method === 'HEAD' ? undefined : configBody);
    }
    if (rawPath === '/pkg') return sendText(req, res, 301, 'moved', { Location: '/pkg/' });

    const mount = mounts.find((m) => rawPath.startsWith(m.prefix));
    let found;
    try {
      found = await resolveFile(mount.root, rawPath.slice(mount.prefix.length));
    } catch (err) {
      if (err instanceof HttpError) return sendText(req, res, err.status, err.message);
      throw err;
    }
    const { file, info } = found;
    const type = MIME_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
    const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    const headers = {
      'Content-Type': type,
      'Cache-Control': 'no-cache',
      ETag: etag,
      'Last-Modified': info.mtime.toUTCString(),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    };
    if (type.startsWith('text/html')) {
      headers['Content-Security-Policy'] = csp;
      headers['X-Frame-Options'] = 'DENY';
    }
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      return res.end();
    }
    headers['Content-Length'] = info.size;
    res.writeHead(200, headers);
    if (req.method === 'HEAD') return res.end();
    const stream = createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  };

  const server = http.createServer((req, res) => {
    if (log) {
      res.on('finish', () => process.stderr.write(`[web] ${req.method} ${req.url} → ${res.statusCode}\n`));
    }
    handle(req, res).catch((err) => {
      if (!res.headersSent) sendText(req, res, 500, `internal error: ${err?.message ?? err}`);
      else res.destroy();
    });
  });

  await new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolvePromise();
    });
  }).catch((err) => {
    const why = err?.code === 'EADDRINUSE' ? 'is already in use' : `cannot be opened: ${err?.message ?? err}`;
    throw new Error(`static server: port ${port} on ${host} ${why}`, { cause: err });
  });

  const actualPort = server.address().port;
  let closing = null;
  const close = () => {
    closing ??= new Promise((done) => {
      server.close(() => done());
      server.closeAllConnections();
    });
    return closing;
  };
  return { url: `http://${host}:${actualPort}/`, port: actualPort, close, server };
}

// ------------------------------------------------------------------ CLI

async function main(argv) {
  const opt = (name, fallback) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : fallback;
  };
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('usage: node scripts/serve.mjs [--port 8080] [--host 127.0.0.1] [--config mock.json] [--log]\n');
    return;
  }
  const configPath = opt('--config');
  const config = configPath ? JSON.parse(readFileSync(configPath, 'utf8')) : null;
  const server = await startStaticServer({
    port: Number(opt('--port', process.env.PC_DEMO_WEB_PORT ?? 8080)),
    host: opt('--host', '127.0.0.1'),
    config,
    log: argv.includes('--log'),
    trustedTypes: true, // the demo page builds its DOM node by node
  });
  process.stdout.write(`serving www/ and pkg/ at ${server.url}\n`);
  if (!config) process.stderr.write('(no --config: /config.json is not served, so the demo page cannot find the mock services)\n');
  const stop = () => server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
}
