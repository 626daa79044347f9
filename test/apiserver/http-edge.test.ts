/**
 * The edges of the HTTP layer under hostile or unusual input: deeply nested bodies, broken
 * request targets, query parameters read as kube-apiserver reads them, media types, legacy
 * watch paths, timeouts and the Host check. Each answer is a Kubernetes Status, and the
 * server keeps serving.
 */
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiServer, rawRequest, type RawResponse, type TestApiServer } from '../support/apiserver.ts';

const base = '/apis/tilt.dev/v1alpha1';
const fwPath = `${base}/filewatches`;
const fw = (name: string, spec: Record<string, unknown> = {}) => ({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name }, spec: { watchedPaths: ['/tmp'], ...spec } });
const mib = 1024 * 1024;

function assertStatus(r: RawResponse, code: number, reason: string, message?: RegExp) {
  assert.equal(r.status, code, r.text.slice(0, 300));
  const body = r.json();
  assert.equal(body.kind, 'Status');
  assert.equal(body.code, code);
  assert.equal(body.reason, reason);
  if (message) assert.match(body.message, message);
  return body;
}

/**
 * exchange writes raw bytes to the server over TLS and collects what comes back until the
 * server closes the connection: for request targets and timings no HTTP client produces.
 */
function exchange(server: { url: string; caCert: string }, ...writes: string[]): Promise<string> {
  const u = new URL(server.url);
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: u.hostname, port: Number(u.port), ca: server.caCert, servername: 'localhost' }, () => {
      for (const w of writes) sock.write(w);
    });
    const chunks: Buffer[] = [];
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

const statusLine = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);

describe('HTTP edges', () => {
  let s: TestApiServer;
  before(async () => {
    s = await startTestApiServer();
    const r = await rawRequest(s.server, { method: 'POST', path: fwPath, body: JSON.stringify(fw('target')) });
    assert.equal(r.status, 201);
  });
  after(() => s.close());

  const req = (method: string, path: string, body?: string, contentType?: string) =>
    rawRequest(s.server, { method, path, body, headers: contentType ? { 'Content-Type': contentType } : undefined });

  describe('deeply nested bodies', () => {
    it('answers 400 to 2.7 MiB of nested YAML while /healthz keeps answering, three at once', async () => {
      const size = Math.floor(2.7 * mib);
      const flow = '['.repeat(size);
      const block = '- '.repeat(size / 2) + 'x\n';
      const indented = Array.from({ length: 2000 }, (_, i) => ' '.repeat(i) + 'a:').join('\n') + ' x\n';
      const pending = [
        req('POST', fwPath, flow, 'application/yaml'),
        req('PATCH', `${fwPath}/target?fieldManager=m`, block, 'application/apply-patch+yaml'),
        req('POST', fwPath, indented, 'application/yaml'),
      ];
      const health = await rawRequest(s.server, { path: '/healthz', token: null });
      assert.equal(health.status, 200);
      for (const r of await Promise.all(pending)) assertStatus(r, 400, 'BadRequest', /nests deeper than/);
      const created = await req('POST', fwPath, JSON.stringify(fw('after-yaml')));
      assert.equal(created.status, 201);
    });

    it('answers 400, not 500, to JSON nested 10,000 levels on every decode path', async () => {
      const deep = '['.repeat(10_000) + ']'.repeat(10_000);
      const obj = (name: string) => `{"apiVersion":"tilt.dev/v1alpha1","kind":"FileWatch","metadata":{"name":"${name}"},"spec":{"watchedPaths":["/tmp"],"x":${deep}}}`;
      const cases: [string, string, string, string][] = [
        ['POST', fwPath, obj('deep'), 'application/json'],
        ['POST', fwPath, obj('deep'), 'application/yaml'],
        ['PUT', `${fwPath}/target`, obj('target'), 'application/json'],
        ['PATCH', `${fwPath}/target`, `{"spec":{"x":${deep}}}`, 'application/merge-patch+json'],
        ['PATCH', `${fwPath}/target`, `{"spec":{"x":${deep}}}`, 'application/strategic-merge-patch+json'],
        ['PATCH', `${fwPath}/target`, `[{"op":"add","path":"/spec/x","value":${deep}}]`, 'application/json-patch+json'],
        ['PATCH', `${fwPath}/target?fieldManager=m`, obj('target'), 'application/apply-patch+yaml'],
        ['DELETE', `${fwPath}/target`, `{"preconditions":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`, 'application/json'],
      ];
      for (const [method, path, body, type] of cases) {
        const r = await req(method, path, body, type);
        assert.ok(r.text, `${method} ${type}: ${r.status} with no body`);
        assertStatus(r, 400, "BadRequest", /nests deeper than 1000 levels/);
      }
      assert.equal((await req('GET', `${fwPath}/target`)).status, 200, 'the DELETE was refused');
    });

    it('accepts nesting up to the limit', async () => {
      const atLimit = '['.repeat(998) + ']'.repeat(998); // with the object and spec: 1,000 levels
      const r = await req('POST', `${fwPath}?dryRun=All`, `{"metadata":{"name":"deep-ok"},"spec":{"watchedPaths":["/tmp"],"x":${atLimit}}}`, 'application/json');
      assert.equal(r.status, 201, r.text.slice(0, 300));
      const y = await req('POST', `${fwPath}?dryRun=All`, 'metadata:\n  name: yaml-ok\nspec:\n  watchedPaths:\n  - /tmp\n', 'application/yaml');
      assert.equal(y.status, 201, y.text.slice(0, 300));
    });
  });

  describe('request targets', () => {
    it('answers 400 to a malformed % escape in the path', async () => {
      assertStatus(await req('GET', `${base}/%ZZ`), 400, 'BadRequest', /invalid URL escape/);
      assertStatus(await req('GET', `${fwPath}/a%E0%A4%A`), 400, 'BadRequest', /invalid URL escape/);
    });
  });
});

describe('HTTP edges: connections and timeouts', () => {
  let s: TestApiServer;
  before(async () => {
    s = await startTestApiServer({ headersTimeoutMs: 400, requestTimeoutMs: 400, idleTimeoutMs: 400 });
  });
  after(() => s.close());
  const host = () => `Host: 127.0.0.1:${s.server.port}\r\n`;
  const auth = () => `Authorization: Bearer ${s.server.token}\r\n`;

  it('answers request targets that are not a URL path, and closes the connection', { timeout: 20_000 }, async () => {
    assert.equal(statusLine(await exchange(s.server, `GET // HTTP/1.1\r\n${host()}\r\n`)), 401);
    assert.equal(statusLine(await exchange(s.server, `GET // HTTP/1.1\r\n${host()}${auth()}\r\n`)), 404);
    assert.equal(statusLine(await exchange(s.server, `GET http://example.com/x HTTP/1.1\r\n${host()}\r\n`)), 400);
  });

  it('closes stalled uploads and unfinished headers, with or without a token', { timeout: 20_000 }, async () => {
    const upload = (token: string) => `PUT ${fwPath}/x HTTP/1.1\r\n${host()}${token}Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"metadata":`;
    assert.equal(statusLine(await exchange(s.server, upload(auth()))), 408);
    // Without a token the answer comes at once; the stalled body still ends the connection.
    assert.equal(statusLine(await exchange(s.server, upload(''))), 401);
    assert.equal(statusLine(await exchange(s.server, `GET ${fwPath} HTTP/1.1\r\n${host()}X-Slow: 1`)), 408);
  });

  it('keeps a quiet watch open past every timeout', { timeout: 20_000 }, async () => {
    const events: string[] = [];
    const u = new URL(s.server.url);
    const sock = tls.connect({ host: u.hostname, port: Number(u.port), ca: s.server.caCert, servername: 'localhost' }, () => {
      sock.write(`GET ${fwPath}?watch=true HTTP/1.1\r\n${host()}${auth()}\r\n`);
    });
    let closed = false;
    sock.on('data', (c) => events.push(c.toString('utf8')));
    sock.on('close', () => (closed = true));
    await sleep(1500); // more than three times every timeout of this server
    assert.equal(closed, false);
    const r = await rawRequest(s.server, { method: 'POST', path: fwPath, body: JSON.stringify(fw('late')) });
    assert.equal(r.status, 201);
    while (!events.join('').includes('"late"')) await sleep(20);
    assert.match(events.join(''), /"type":"ADDED"/);
    sock.destroy();
  });
});
