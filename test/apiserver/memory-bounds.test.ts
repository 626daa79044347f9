/**
 * Memory stays bounded: the watch history is bounded by bytes as well as by count, and a watch
 * whose client stops reading is closed instead of buffering without end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import v8 from 'node:v8';
import vm from 'node:vm';
import Transport from 'winston-transport';
import winston from 'winston';
import { startTestApiServer, rawRequest, type TestApiServer } from '../support/apiserver.ts';
import { waitFor } from '../support/wait.ts';
import { MemoryStorage } from '../../src/apiserver/storage.ts';
import { ObjectStore } from '../../src/apiserver/store.ts';
import type { KubeObject } from '../../src/apis/meta.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const configmaps = '/apis/tilt.dev/v1alpha1/configmaps';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** bigData is a ConfigMap's data of about `bytes` bytes, different for each `seed`. */
const bigData = (seed: number, bytes: number) => ({ blob: String(seed % 10).repeat(bytes) });

/** put writes the ConfigMap `name` with the given data over HTTPS (creating it first if need be). */
async function put(s: TestApiServer, name: string, data: Record<string, string>): Promise<KubeObject> {
  let r = await rawRequest(s.server, { method: 'PATCH', path: `${configmaps}/${name}`, body: JSON.stringify({ data }), headers: { 'Content-Type': 'application/merge-patch+json' } });
  if (r.status === 404) {
    const body = JSON.stringify({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ConfigMap', metadata: { name }, data });
    r = await rawRequest(s.server, { method: 'POST', path: configmaps, body });
  }
  assert.ok(r.status === 200 || r.status === 201, `write ${name}: ${r.status} ${r.text.slice(0, 200)}`);
  return r.json();
}

/** openWatch opens a watch over HTTPS and collects its event lines until it ends. */
function openWatch(s: TestApiServer, query: string) {
  const lines: Array<{ type: string; object: any }> = [];
  let ended = false;
  const req = https.get(new URL(`${configmaps}?watch=true&${query}`, s.url), { ca: s.server.caCert, headers: { Authorization: `Bearer ${s.server.token}` } }, (res) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        lines.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
    });
    res.on('end', () => (ended = true));
  });
  req.on('error', () => undefined);
  return { lines, ended: () => ended, close: () => req.destroy() };
}

/** captureLog is a logger that keeps every entry, for asserting what was logged. */
function captureLog() {
  const entries: Array<{ level: string; message: string; [k: string]: unknown }> = [];
  const transport = new (class extends Transport {
    override log(info: any, next: () => void) {
      entries.push(info);
      next();
    }
  })();
  return { log: winston.createLogger({ level: 'debug', transports: [transport] }), entries };
}

test('the watch history is bounded by bytes: an older resourceVersion gets 410 Gone as an ERROR event', async (t) => {
  const s = await startTestApiServer({ historyBytes: 2 * MiB });
  t.after(() => s.close());
  const first = await put(s, 'big', bigData(0, 256 * KiB));
  for (let i = 1; i <= 12; i++) await put(s, 'big', bigData(i, 256 * KiB));
  const stale = openWatch(s, `resourceVersion=${first.metadata.resourceVersion}`);
  await waitFor(() => stale.ended(), { message: 'the stale watch to end' });
  assert.equal(stale.lines.length, 1);
  assert.equal(stale.lines[0].type, 'ERROR');
  assert.equal(stale.lines[0].object.kind, 'Status');
  assert.equal(stale.lines[0].object.code, 410);
  assert.equal(stale.lines[0].object.reason, 'Expired');
  const stats = s.server.store.historyStats();
  assert.ok(stats.bytes <= 2 * MiB, `history holds ${stats.bytes} bytes`);
  assert.ok(stats.events < 13, `history holds ${stats.events} events`);

  // A watch from within the retained history still resumes.
  const recentRv = Number(s.server.store.resourceVersion) - 2;
  const recent = openWatch(s, `resourceVersion=${recentRv}`);
  t.after(() => recent.close());
  await waitFor(() => recent.lines.length === 2, { message: 'the two retained events' });
  assert.deepEqual(recent.lines.map((l) => l.type), ['MODIFIED', 'MODIFIED']);
});

test('the history keeps a replaced object once, as its JSON, and lets go of it past the bound', async () => {
  const store = new ObjectStore({ storage: new MemoryStorage(), historyBytes: 1 * MiB });
  const cm = (i: number): KubeObject => ({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ConfigMap', metadata: { name: 'big' }, data: bigData(i, 128 * KiB) } as KubeObject);
  const blob = (o: KubeObject | undefined) => (o as { data?: { blob: string } } | undefined)?.data?.blob.slice(0, 3);
  const collected = async () => {
    await new Promise((r) => setImmediate(r));
    gc();
  };
  const first = new WeakRef(store.write('configmaps', cm(0)));
  store.flush();
  const firstRv = Number(first.deref()!.metadata.resourceVersion);
  store.write('configmaps', cm(1));
  store.flush();
  await collected();
  assert.equal(first.deref(), undefined, 'the replaced object is not held parsed');
  const events = store.eventsSince('configmaps', firstRv - 1);
  assert.deepEqual(events.map((e) => [e.type, blob(e.object)]), [['ADDED', '000'], ['MODIFIED', '111']]);
  assert.equal(blob(events[1].prev), '000');
  assert.equal(blob(store.snapshotAt('configmaps', firstRv)[0]), '000');

  for (let i = 2; i <= 20; i++) {
    store.write('configmaps', cm(i));
    store.flush();
  }
  assert.ok(store.historyStats().bytes <= 1 * MiB);
  assert.throws(() => store.eventsSince('configmaps', firstRv), (err: any) => err.code === 410);
  store.close();
});

test('a watch whose client stops reading is closed, once logged, and its slot freed', async (t) => {
  const { log, entries } = captureLog();
  const s = await startTestApiServer({ log, maxWatches: 1, watchMaxBufferedBytes: 1 * MiB, historyBytes: 4 * MiB });
  t.after(() => s.close());
  await put(s, 'big', bigData(0, 16));

  // A raw client opens a watch, reads the response head, then stops reading.
  const u = new URL(s.url);
  const socket = tls.connect({ host: u.hostname, port: Number(u.port), ca: s.server.caCert });
  t.after(() => socket.destroy());
  let received = 0;
  let closed = false;
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  socket.write(`GET ${configmaps}?watch=true HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Bearer ${s.server.token}\r\n\r\n`);
  await new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (chunk.toString('latin1').includes('\r\n\r\n')) resolve();
    });
  });
  socket.pause();

  const fellBehind = () => entries.filter((e) => e.message === 'Closing a watch that fell behind');
  let written = 0;
  for (let i = 1; i <= 400 && fellBehind().length === 0; i++) {
    await put(s, 'big', bigData(i, 256 * KiB));
    written += 256 * KiB;
  }
  assert.equal(fellBehind().length, 1, 'the slow watch was closed and logged');
  assert.equal(fellBehind()[0].resource, 'configmaps');
  for (let i = 0; i < 5; i++) await put(s, 'big', bigData(i, 256 * KiB));
  assert.equal(fellBehind().length, 1, 'logged once');

  // Its slot is free again (maxWatches is 1): a new watch is served, not refused with 429.
  const next = await waitFor(async () => {
    const r = await rawRequest(s.server, { path: `${configmaps}?watch=true&timeoutSeconds=1&resourceVersion=${s.server.store.resourceVersion}` });
    return r.status === 200 && r;
  }, { message: 'a new watch to be admitted' });
  assert.equal(next.status, 200);

  // The connection was ended by the server: reading now reaches its end, well short of all
  // that was written, since what was queued for it was dropped.
  socket.resume();
  await waitFor(() => closed, { message: 'the slow connection to close' });
  assert.ok(received < written, `received ${received} of ${written} bytes`);
});

test('a watch with a large initial state is delivered whole, not taken for falling behind', async (t) => {
  const s = await startTestApiServer({ watchMaxBufferedBytes: 1 * MiB });
  t.after(() => s.close());
  for (let i = 0; i < 16; i++) await put(s, `init-${i}`, bigData(i, 256 * KiB));
  const w = openWatch(s, '');
  t.after(() => w.close());
  await waitFor(() => w.lines.length === 16, { message: 'all 16 initial events' });
  assert.ok(w.lines.every((l) => l.type === 'ADDED'));
  assert.equal(w.ended(), false);
});
