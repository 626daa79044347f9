import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { newFixture } from './fixture.ts';

test('an http probe against a local server flips ready both ways', async (t) => {
  const f = await newFixture(t);
  let healthy = false;
  const server = http.createServer((req, res) => res.writeHead(req.url === '/healthz' && healthy ? 200 : 503).end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));
  const port = (server.address() as net.AddressInfo).port;
  await f.cmd('web', {
    args: ['sleep', '1000'],
    readinessProbe: { handler: { httpGet: { host: '127.0.0.1', port, path: '/healthz' } }, periodSeconds: 1, failureThreshold: 1 },
  });
  const running = await f.waitStatus('web', (s) => !!s.running, 'running');
  assert.equal(running.status!.ready, false);
  healthy = true;
  await f.waitStatus('web', (s) => s.ready === true, 'ready');
  healthy = false;
  const unready = await f.waitStatus('web', (s) => s.ready === false, 'not ready again');
  assert.equal(unready.status!.running!.pid, running.status!.running!.pid);
});

test('an exec probe runs in the Cmd directory', async (t) => {
  const f = await newFixture(t);
  await f.cmd('w', { args: ['sleep', '1000'], readinessProbe: { handler: { exec: { command: ['test', '-f', 'ready'] } }, periodSeconds: 1 } });
  const running = await f.waitStatus('w', (s) => !!s.running, 'running');
  assert.equal(running.status!.ready, false);
  fs.writeFileSync(path.join(f.dir, 'ready'), '');
  await f.waitStatus('w', (s) => s.ready === true, 'ready');
});

test('a tcp probe is ready once the port accepts connections', async (t) => {
  const f = await newFixture(t);
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  // The command itself opens the port, after a moment.
  const script = `setTimeout(() => require('net').createServer((s) => s.end()).listen(${port}, '127.0.0.1'), 300)`;
  await f.cmd('tcp', { args: [process.execPath, '-e', script], readinessProbe: { handler: { tcpSocket: { host: '127.0.0.1', port } }, periodSeconds: 1 } });
  const c = await f.waitStatus('tcp', (s) => s.ready === true, 'ready');
  assert.ok(c.status!.running);
});
