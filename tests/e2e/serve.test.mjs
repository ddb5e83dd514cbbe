// scripts/serve.mjs, the demo's static server, over real HTTP (no browser): MIME types,
// the CSP on HTML, caching headers, and that nothing outside www/ and pkg/ can be read.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStaticServer, contentSecurityPolicy } from '../../scripts/serve.mjs';

const SECRET = 'top-secret-do-not-serve';
const config = {
  adminUrl: 'http://127.0.0.1:1111',
  gatewayUrl: 'http://127.0.0.1:1112',
  services: { customer: 'http://127.0.0.1:1113', cart: 'http://127.0.0.1:1114' },
};
let dir;
let server;
let bare; // a server without a config

/** A raw request: the path goes on the wire exactly as given (fetch would normalize `..`). */
function request(path, { method = 'GET', headers = {}, port = server.port } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pc-serve-test-'));
  const www = join(dir, 'www');
  const pkg = join(dir, 'pkg');
  mkdirSync(join(www, 'sub'), { recursive: true });
  mkdirSync(pkg);
  writeFileSync(join(dir, 'secret.txt'), SECRET);
  writeFileSync(join(www, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(www, 'app.js'), 'export {};');
  writeFileSync(join(www, 'mod.mjs'), 'export {};');
  writeFileSync(join(www, 'style.css'), 'body{}');
  writeFileSync(join(www, 'data.json'), '{}');
  writeFileSync(join(www, 'icon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(www, '.env'), SECRET);
  writeFileSync(join(www, 'sub', 'index.html'), '<!doctype html><title>sub</title>');
  symlinkSync(join(dir, 'secret.txt'), join(www, 'link.txt'));
  writeFileSync(join(pkg, 'parallel_composer.js'), 'export default 1;');
  writeFileSync(join(pkg, 'parallel_composer_bg.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  server = await startStaticServer({ port: 0, wwwDir: www, pkgDir: pkg, config });
  bare = await startStaticServer({ port: 0, wwwDir: www, pkgDir: pkg });
});

after(async () => {
  await server?.close();
  await bare?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('HTML gets the strict CSP with every mock service origin and the admin origin', async () => {
  const res = await request('/');
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(res.headers['content-security-policy'],
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    + "connect-src 'self' http://127.0.0.1:1111 http://127.0.0.1:1113 http://127.0.0.1:1114; "
    + "img-src 'self' data:; base-uri 'none'; form-action 'none'");
  assert.equal(res.headers['content-security-policy'], contentSecurityPolicy(['http://127.0.0.1:1111', 'http://127.0.0.1:1113', 'http://127.0.0.1:1114']));
  assert.equal(res.headers['cache-control'], 'no-cache');
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.equal((await request('/sub/')).body, '<!doctype html><title>sub</title>');
});

test('MIME types: wasm, JavaScript modules, CSS, JSON, SVG; no CSP on non-HTML', async () => {
  const cases = {
    '/pkg/parallel_composer_bg.wasm': 'application/wasm',
    '/pkg/parallel_composer.js': 'text/javascript; charset=utf-8',
    '/app.js': 'text/javascript; charset=utf-8',
    '/mod.mjs': 'text/javascript; charset=utf-8',
    '/style.css': 'text/css; charset=utf-8',
    '/data.json': 'application/json; charset=utf-8',
    '/icon.svg': 'image/svg+xml',
  };
  for (const [path, type] of Object.entries(cases)) {
    const res = await request(path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers['content-type'], type, path);
    assert.equal(res.headers['cache-control'], 'no-cache', path);
    assert.equal(res.headers['content-security-policy'], undefined, path);
  }
  assert.equal((await request('/pkg/parallel_composer.js')).body, 'export default 1;');
});

test('nothing outside www/ and pkg/ is served, nor dotfiles or escaping symlinks', async () => {
  const attempts = [
    '/../secret.txt',
    '/pkg/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/pkg/%2e%2e/%2e%2e/secret.txt',
    '/pkg/..%2f..%2fsecret.txt',
    '/sub/..%5c..%5csecret.txt',
    '/%2fetc%2fpasswd',
    '//etc/passwd',
    '/.env',
    '/sub/../.env',
    '/link.txt',
    '/secret.txt%00.html',
    '/%ZZ',
  ];
  for (const path of attempts) {
    const res = await request(path);
    assert.ok([400, 403, 404].includes(res.status), `${path} answered ${res.status}`);
    assert.ok(!res.body.includes(SECRET), `${path} leaked the secret`);
    assert.ok(!res.body.includes('root:'), `${path} leaked /etc/passwd`);
  }
});

test('GET and HEAD only; HEAD has no body; ETag revalidation answers 304', async () => {
  const post = await request('/', { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
  const head = await request('/app.js', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal(head.headers['content-length'], String('export {};'.length));
  const etag = head.headers.etag;
  assert.ok(etag);
  const again = await request('/app.js', { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  assert.equal(again.body, '');
});

test('/config.json serves the mock URLs when given, and is absent otherwise', async () => {
  const res = await request('/config.json');
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  assert.deepEqual(JSON.parse(res.body), config);
  assert.equal((await request('/config.json', { port: bare.port })).status, 404);
  const csp = (await request('/', { port: bare.port })).headers['content-security-policy'];
  assert.match(csp, /connect-src 'self'; /);
});
