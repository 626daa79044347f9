/**
 * The edges of the HTTP layer under hostile or unusual input: deeply nested bodies, broken
 * request targets, query parameters read as kube-apiserver reads them, media types, legacy
 * watch paths, timeouts and the Host check. Each answer is a Kubernetes Status, and the
 * server keeps serving.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiServer, rawRequest, type RawResponse, type TestApiServer } from '../support/apiserver.ts';
import { startFerryProcess } from '../support/daemon.ts';

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

  describe('query parameters and media types, as kube-apiserver reads them', () => {
    const lines = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l));

    it('reads limit as an int64: 400 for what is not one, no limit at zero or below', async () => {
      for (const name of ['page-a', 'page-b']) assert.equal((await req('POST', fwPath, JSON.stringify(fw(name)))).status, 201);
      assertStatus(await req('GET', `${fwPath}?limit=abc`), 400, 'BadRequest', /^strconv.ParseInt: parsing "abc": invalid syntax$/);
      assertStatus(await req('GET', `${fwPath}?limit=1.5`), 400, 'BadRequest', /parsing "1.5": invalid syntax/);
      assertStatus(await req('GET', `${fwPath}?limit=99999999999999999999`), 400, 'BadRequest', /value out of range/);
      for (const limit of ['-1', '0']) {
        const all = (await req('GET', `${fwPath}?limit=${limit}`)).json();
        assert.ok(all.items.length >= 3);
        assert.equal(all.metadata.continue, undefined);
        assert.equal(all.metadata.remainingItemCount, undefined);
      }
      const page = (await req('GET', `${fwPath}?limit=1`)).json();
      assert.equal(page.items.length, 1);
      assert.ok(page.metadata.continue);
      assertStatus(await req('GET', `${fwPath}?watch=1&timeoutSeconds=x`), 400, 'BadRequest', /invalid syntax/);
    });

    it('decodes bodies by Content-Type, JSON when there is none, and answers 415 to others', async () => {
      assert.equal((await req('POST', fwPath, JSON.stringify(fw('ct-none')), '')).status, 201);
      assert.equal((await req('POST', fwPath, JSON.stringify(fw('ct-json')), 'application/json; charset=utf-8')).status, 201);
      const yaml = 'apiVersion: tilt.dev/v1alpha1\nkind: FileWatch\nmetadata:\n  name: ct-yaml\nspec:\n  watchedPaths: [/tmp]\n';
      assert.equal((await req('POST', fwPath, yaml, 'application/yaml')).status, 201);
      assertStatus(await req('POST', fwPath, yaml, 'application/json'), 400, 'BadRequest', /could not be decoded/);
      for (const type of ['text/plain', 'application/vnd.kubernetes.protobuf', 'application/x-www-form-urlencoded']) {
        assertStatus(await req('POST', fwPath, JSON.stringify(fw('ct-other')), type), 415, 'UnsupportedMediaType', /application\/json, application\/yaml/);
      }
      const cur = (await req('GET', `${fwPath}/target`)).json();
      assertStatus(await req('PUT', `${fwPath}/target`, JSON.stringify(cur), 'text/plain'), 415, 'UnsupportedMediaType');
      assert.equal((await req('GET', `${fwPath}/ct-other`)).status, 404);
    });

    it('reads watch and allowWatchBookmarks as kube does: True watches, false and 0 do not', async () => {
      for (const v of ['True', 'TRUE', '1', 't', 'yes']) {
        const r = await req('GET', `${fwPath}?watch=${v}&timeoutSeconds=1&fieldSelector=metadata.name%3Dtarget`);
        assert.deepEqual(lines(r.text).map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'target']], `watch=${v}`);
      }
      for (const v of ['false', 'False', '0']) {
        assert.equal((await req('GET', `${fwPath}?watch=${v}`)).json().kind, 'FileWatchList', `watch=${v}`);
      }
      const b = await req('GET', `${fwPath}?watch=True&allowWatchBookmarks=True&timeoutSeconds=1&fieldSelector=metadata.name%3Dtarget`);
      assert.deepEqual(lines(b.text).map((e) => e.type), ['ADDED', 'BOOKMARK']);
    });

    it('reads force, orphanDependents and pretty as kube does', async () => {
      const merge = (query: string) => req('PATCH', `${fwPath}/target${query}`, '{"metadata":{"labels":{"a":"b"}}}', 'application/merge-patch+json');
      assertStatus(await merge('?force=True'), 422, 'Invalid', /force: Forbidden: may not be specified for non-apply patch/);
      assert.equal((await merge('?force=false')).status, 200);
      assert.equal((await req('POST', fwPath, JSON.stringify(fw('orphaned')))).status, 201);
      const deleted = await req('DELETE', `${fwPath}/orphaned?orphanDependents=True`);
      assert.equal(deleted.status, 200);
      assert.deepEqual(deleted.json().metadata.finalizers, ['orphan'], 'orphanDependents=True orphans');
      assert.match((await req('GET', `${fwPath}/target?pretty=True`)).text, /^{\n  "apiVersion"/);
      assert.match((await req('GET', `${fwPath}/target?pretty=yes`)).text, /^{"apiVersion"/);
    });

    it('serves the legacy watch paths, of a kind and of one object', async () => {
      const all = await req('GET', `${base}/watch/filewatches?timeoutSeconds=1`);
      assert.equal(all.status, 200);
      assert.ok(lines(all.text).some((e) => e.type === 'ADDED' && e.object.metadata.name === 'target'));
      assert.ok(lines(all.text).length > 1);
      const one = await req('GET', `${base}/watch/filewatches/target?timeoutSeconds=1`);
      assert.deepEqual(lines(one.text).map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'target']]);
      const same = await req('GET', `${base}/watch/filewatches/target?timeoutSeconds=1&fieldSelector=metadata.name%3Dtarget`);
      assert.equal(lines(same.text).length, 1);
      assertStatus(await req('GET', `${base}/watch/filewatches/target?fieldSelector=metadata.name%3Dother`), 400, 'BadRequest', /doesn't match requested name/);
      assertStatus(await req('GET', `${base}/watch/nopes`), 404, 'NotFound');
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

describe('HTTP edges: the Host check', () => {
  const withHost = (server: TestApiServer['server'], host: string) => rawRequest(server, { path: '/apis', headers: { Host: host } });
  const ownIPv4 = () => Object.values(os.networkInterfaces()).flatMap((l) => l ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address);

  it('accepts loopback names on any port (kubectl proxy), and refuses foreign hosts', async () => {
    const s = await startTestApiServer();
    try {
      for (const host of ['127.0.0.1:8001', 'localhost:8001', `127.0.0.1:${s.server.port}`, 'localhost', '[::1]:8001', 'LOCALHOST:1']) {
        assert.equal((await withHost(s.server, host)).status, 200, host);
      }
      for (const host of ['evil.example', `evil.example:${s.server.port}`, '127.0.0.1.evil.example:8001', os.hostname()]) {
        assertStatus(await withHost(s.server, host), 403, 'Forbidden', /is not allowed/);
      }
    } finally {
      await s.close();
    }
  });

  for (const kubectl of ['kubectl', process.env.FERRY_TEST_OLD_KUBECTL].filter((k): k is string => !!k && (k === 'kubectl' || fs.existsSync(k)))) {
    it(`serves through ${kubectl} proxy`, { timeout: 60_000 }, async () => {
      const s = await startTestApiServer();
      const proxy = spawn(kubectl, ['--kubeconfig', s.kubeconfigPath, 'proxy', '--port=0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const port = await new Promise<number>((resolve, reject) => {
          let out = '';
          proxy.stdout.on('data', (d) => {
            out += d;
            const m = /Starting to serve on 127\.0\.0\.1:(\d+)/.exec(out);
            if (m) resolve(Number(m[1]));
          });
          proxy.on('exit', (code) => reject(new Error(`kubectl proxy exited ${code}: ${out}`)));
        });
        const body = await new Promise<{ status: number; text: string }>((resolve, reject) => {
          http.get(`http://127.0.0.1:${port}${fwPath}`, (res) => {
            let text = '';
            res.on('data', (d) => (text += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          }).on('error', reject);
        });
        assert.equal(body.status, 200, body.text);
        assert.equal(JSON.parse(body.text).kind, 'FileWatchList');
      } finally {
        proxy.kill();
        await s.close();
      }
    });
  }

  it('on every interface, accepts the machine\'s own names and addresses only, with a certificate for them', async () => {
    const s = await startTestApiServer({ host: '0.0.0.0' });
    try {
      assert.equal(s.server.exposed, true);
      for (const addr of ownIPv4()) assert.ok(s.server.urls.includes(`https://${addr}:${s.server.port}`), `${addr} in ${s.server.urls.join(' ')}`);
      assert.equal(s.server.url, `https://127.0.0.1:${s.server.port}`, 'the kubeconfig talks over loopback');
      for (const host of [os.hostname(), `${os.hostname()}:8001`, ...ownIPv4().map((a) => `${a}:${s.server.port}`), 'localhost:8001']) {
        assert.equal((await withHost(s.server, host)).status, 200, host);
      }
      assertStatus(await withHost(s.server, 'evil.example'), 403, 'Forbidden');
      assertStatus(await withHost(s.server, `evil.example:${s.server.port}`), 403, 'Forbidden');
      const cert = new crypto.X509Certificate(fs.readFileSync(path.join(s.dataDir, 'server.crt')));
      for (const addr of ownIPv4()) assert.equal(cert.checkIP(addr), addr);
      assert.equal(cert.checkHost(os.hostname()), os.hostname());
    } finally {
      await s.close();
    }
  });

  it('ferry serve --host 0.0.0.0 prints the real addresses and warns', { timeout: 90_000 }, async () => {
    const ferry = await startFerryProcess({ args: ['--host', '0.0.0.0', '--storage', 'memory'] });
    try {
      const out = ferry.output();
      const serving = /is serving at (.*)/.exec(out)?.[1] ?? '';
      const printed = serving.split(', ').map((u) => new URL(u).hostname);
      for (const addr of ownIPv4()) assert.ok(printed.includes(addr), `${addr} printed in: ${serving}`);
      assert.ok(printed.some((h) => !h.startsWith('127.')) || ownIPv4().every((a) => a.startsWith('127.')), serving);
      assert.match(out, /WARNING: ferry is listening beyond this machine \(--host 0\.0\.0\.0\): anyone who can reach these addresses and holds the token can run commands on this machine/);
    } finally {
      await ferry.stop();
      fs.rmSync(ferry.dataDir, { recursive: true, force: true });
    }
  });

  it('does not warn on loopback', async () => {
    const s = await startTestApiServer();
    try {
      assert.equal(s.server.exposed, false);
      assert.deepEqual(s.server.urls, [s.server.url]);
      assert.ok(net.isIPv4(new URL(s.server.url).hostname));
    } finally {
      await s.close();
    }
  });
});

