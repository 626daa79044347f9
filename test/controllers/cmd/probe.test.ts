import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { Prober, runCheck, type CheckResult, type ProbeContext } from '../../../controllers/cmd/probe.ts';
import { LocalProcessRunner } from '../../../src/adapters/process/index.ts';
import { FakeClock, realClock } from '../../../src/runtime/index.ts';

function scripted(results: boolean[]) {
  const calls: number[] = [];
  return {
    calls,
    check: async (): Promise<CheckResult> => {
      calls.push(calls.length);
      const ok = results.shift() ?? false;
      return ok ? { ok } : { ok, message: 'nope' };
    },
  };
}

test('Prober waits the initial delay, then checks every period', async () => {
  const clock = new FakeClock();
  const s = scripted([false, false, true]);
  const changes: boolean[] = [];
  const p = new Prober({ handler: {}, initialDelaySeconds: 5, periodSeconds: 2 }, { clock, check: s.check }, (r) => changes.push(r));
  p.start();
  await clock.advance(4_999);
  assert.equal(s.calls.length, 0);
  await clock.advance(1);
  assert.equal(s.calls.length, 1);
  await clock.advance(2_000);
  assert.equal(s.calls.length, 2);
  assert.deepEqual(changes, []);
  await clock.advance(2_000);
  assert.deepEqual(changes, [true]);
  assert.equal(p.ready, true);
  p.stop();
  await clock.advance(10_000);
  assert.equal(s.calls.length, 3);
});

test('Prober flips with the success and failure thresholds', async () => {
  const clock = new FakeClock();
  const s = scripted([true, true, false, false, true, false, false, false]);
  const changes: boolean[] = [];
  const p = new Prober({ handler: {}, periodSeconds: 1, successThreshold: 2, failureThreshold: 3 }, { clock, check: s.check }, (r) => changes.push(r));
  p.start();
  await clock.advance(0);
  assert.deepEqual(changes, []); // one success is not enough
  await clock.advance(1_000);
  assert.deepEqual(changes, [true]);
  await clock.advance(3_000); // false, false, true: two failures do not flip it
  assert.deepEqual(changes, [true]);
  await clock.advance(3_000); // false x3
  assert.deepEqual(changes, [true, false]);
  p.stop();
});

test('Prober defaults: period 10s, one success makes ready, three failures unready', async () => {
  const clock = new FakeClock();
  const s = scripted([true, false, false, false]);
  const changes: boolean[] = [];
  const p = new Prober({ handler: {} }, { clock, check: s.check }, (r) => changes.push(r));
  p.start();
  await clock.advance(0);
  assert.deepEqual(changes, [true]);
  await clock.advance(9_999);
  assert.equal(s.calls.length, 1);
  await clock.advance(20_001);
  assert.deepEqual(changes, [true, false]);
  p.stop();
});

async function listen(handler: http.RequestListener): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

const ctx = (): ProbeContext => ({ clock: realClock, runner: new LocalProcessRunner(), dir: os.tmpdir(), env: { ...process.env } as Record<string, string> });

test('http check: 2xx and 3xx pass, others fail; path and headers are sent', async (t) => {
  const seen: Array<{ url?: string; header?: string }> = [];
  let code = 200;
  const srv = await listen((req, res) => {
    seen.push({ url: req.url, header: req.headers['x-probe'] as string | undefined });
    res.writeHead(code).end();
  });
  t.after(() => srv.close());
  const get = { host: '127.0.0.1', port: srv.port, path: '/healthz', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] };
  assert.deepEqual(await runCheck({ httpGet: get }, 1000, ctx()), { ok: true });
  code = 302;
  assert.deepEqual(await runCheck({ httpGet: get }, 1000, ctx()), { ok: true });
  code = 503;
  assert.deepEqual(await runCheck({ httpGet: get }, 1000, ctx()), { ok: false, message: 'HTTP probe failed with statuscode: 503' });
  assert.deepEqual(seen[0], { url: '/healthz', header: 'yes' });
  code = 204;
  assert.deepEqual(await runCheck({ httpGet: { host: '127.0.0.1', port: String(srv.port) } }, 1000, ctx()), { ok: true });
  assert.equal((await runCheck({ httpGet: { port: 'http' } }, 1000, ctx())).ok, false);
});

test('http check: a server that does not answer times out', async (t) => {
  const clock = new FakeClock();
  const srv = await listen(() => {});
  t.after(() => srv.close());
  const pending = runCheck({ httpGet: { host: '127.0.0.1', port: srv.port } }, 1000, { ...ctx(), clock });
  await clock.advance(1000);
  assert.deepEqual(await pending, { ok: false, message: 'probe timed out after 1000 ms' });
});

test('tcp check: an open port passes, a closed one fails', async (t) => {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  assert.deepEqual(await runCheck({ tcpSocket: { host: '127.0.0.1', port } }, 1000, ctx()), { ok: true });
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  assert.equal((await runCheck({ tcpSocket: { host: '127.0.0.1', port: closedPort } }, 1000, ctx())).ok, false);
});

test('exec check: exit 0 passes, in the given directory', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-probe-'));
  try {
    const c = { ...ctx(), dir };
    assert.deepEqual(await runCheck({ exec: { command: ['test', '-f', 'ready'] } }, 1000, c), { ok: false, message: 'exit status 1' });
    fs.writeFileSync(path.join(dir, 'ready'), '');
    assert.deepEqual(await runCheck({ exec: { command: ['test', '-f', 'ready'] } }, 1000, c), { ok: true });
    assert.match((await runCheck({ exec: { command: ['no-such-probe-program'] } }, 1000, c)).message ?? '', /executable file not found/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
