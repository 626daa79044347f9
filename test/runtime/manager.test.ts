import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap } from '../../src/apis/configmap.ts';
import type { FileWatch } from '../../src/apis/filewatch.ts';
import type { KubeObject } from '../../src/apis/meta.ts';
import { FerryClient, type WatchEvent, type WatchHandle, type WatchOptions } from '../../src/client/client.ts';
import { disableSourceMapper, disableStatusFor } from '../../src/tilt/disable.ts';
import { Informer, type ObjectEvent } from '../../src/runtime/informer.ts';
import { Manager } from '../../src/runtime/manager.ts';
import { Wake } from '../../src/runtime/wake.ts';
import type { ReconcileContext, Reconciler, Request, Result } from '../../src/runtime/reconciler.ts';
import { realClock } from '../../src/util/clock.ts';
import { updateStatusIfChanged } from '../../src/runtime/status.ts';
import { startTestApiServer, type TestApiServer } from '../support/apiserver.ts';
import { deferred, waitFor } from './support.ts';
import { silentLogger } from '../../src/log.ts';

async function newFixture(t: TestContext, opts: { historySize?: number } = {}) {
  const server = await startTestApiServer({ historySize: opts.historySize });
  const mgr = new Manager({ kubeConfig: server.kubeConfig, log: silentLogger() });
  t.after(async () => {
    await mgr.stop();
    await server.close();
  });
  return { server, mgr, client: mgr.client };
}

const fileWatch = (name: string, spec: Partial<FileWatch['spec']> = {}): FileWatch => ({
  kind: 'FileWatch',
  metadata: { name },
  spec: { watchedPaths: ['/tmp'], ...spec },
});

/** DisableOnlyReconciler writes a FileWatch's disableStatus and nothing else. */
class DisableOnlyReconciler implements Reconciler {
  calls = 0;
  writes = 0;
  constructor(private readonly mgr: Manager) {}
  async reconcile(req: Request): Promise<Result | void> {
    this.calls++;
    const fw = this.mgr.cache.get<FileWatch>('FileWatch', req.name);
    if (!fw) return;
    const disableStatus = disableStatusFor(this.mgr.cache, fw, this.mgr.clock.now());
    const before = fw.metadata.resourceVersion;
    const after = await updateStatusIfChanged(this.mgr.client, fw, { ...fw.status, disableStatus });
    if (after?.metadata.resourceVersion !== before) this.writes++;
  }
}

test('a reconciler wakes on its own kind and on the ConfigMaps of its disableSource; a second pass writes nothing', async (t) => {
  const f = await newFixture(t);
  const r = new DisableOnlyReconciler(f.mgr);
  f.mgr.controller('fw-disable').for('FileWatch').watches('ConfigMap', disableSourceMapper(f.mgr.cache, 'FileWatch')).complete(r);
  assert.equal(f.mgr.ready(), false);
  await f.mgr.start();
  assert.equal(f.mgr.ready(), true);

  await f.client.create(fileWatch('web', { disableSource: { configMap: { name: 'web-disable', key: 'isDisabled' } } }));
  const state = async () => (await f.client.get<FileWatch>('FileWatch', 'web'))?.status?.disableStatus?.state;
  await waitFor(async () => (await state()) === 'Pending', 'Pending while the ConfigMap is missing');

  await f.client.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name: 'web-disable' }, data: { isDisabled: 'true' } });
  await waitFor(async () => (await state()) === 'Disabled', 'Disabled once the ConfigMap says so');

  await f.client.patch('ConfigMap', 'web-disable', { data: { isDisabled: 'false' } });
  await waitFor(async () => (await state()) === 'Enabled', 'Enabled again');

  // An unrelated ConfigMap wakes nobody.
  const callsBefore = r.calls;
  await f.client.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name: 'other' }, data: {} });
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(r.calls, callsBefore);

  // Steady state: reconcile again, nothing is written.
  const fw = await f.client.get<FileWatch>('FileWatch', 'web');
  const writes = r.writes;
  f.mgr.getController('fw-disable')!.enqueue('web');
  await f.mgr.getController('fw-disable')!.idle();
  assert.equal(r.writes, writes);
  assert.equal((await f.client.get<FileWatch>('FileWatch', 'web'))?.metadata.resourceVersion, fw?.metadata.resourceVersion);
});

test('owns wakes the owner when an owned object changes', async (t) => {
  const f = await newFixture(t);
  const seen: string[] = [];
  f.mgr
    .controller('owner')
    .for('FileWatch')
    .owns('ConfigMap')
    .complete({ reconcile: async (req) => void seen.push(req.name) });
  await f.mgr.start();
  const owner = await f.client.create(fileWatch('owner'));
  await waitFor(() => seen.includes('owner'), 'the owner reconciled');
  seen.length = 0;
  await f.client.create<ConfigMap>({
    kind: 'ConfigMap',
    metadata: {
      name: 'child',
      ownerReferences: [{ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', name: 'owner', uid: owner.metadata.uid!, controller: true }],
    },
    data: { a: '1' },
  });
  await waitFor(() => seen.includes('owner'), 'the owner reconciled for its ConfigMap');
  assert.deepEqual(seen, ['owner']);
});

test('watches maps a change to the names its function returns; predicates drop events', async (t) => {
  const f = await newFixture(t);
  const seen: string[] = [];
  f.mgr
    .controller('mapped')
    .for('FileWatch', (ev) => ev.type !== 'delete')
    .watches<ConfigMap>('ConfigMap', (cm) => (cm.data?.targets ?? '').split(',').filter(Boolean))
    .complete({ reconcile: async (req) => void seen.push(req.name) });
  await f.mgr.start();
  await f.client.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name: 'm' }, data: { targets: 'x,y' } });
  await waitFor(() => seen.includes('x') && seen.includes('y'), 'x and y');
  await f.client.create(fileWatch('z'));
  await waitFor(() => seen.includes('z'), 'z');
  await f.mgr.getController('mapped')!.idle();
  seen.length = 0;
  await f.client.delete('FileWatch', 'z');
  await new Promise((res) => setTimeout(res, 100));
  assert.deepEqual(seen, [], 'the predicate dropped the delete');
});

test('the cache serves get, list by label and field indexes', async (t) => {
  const f = await newFixture(t);
  f.mgr.cache.inform('FileWatch');
  f.mgr.cache.addIndex<FileWatch>('FileWatch', 'path', (o) => o.spec?.watchedPaths ?? []);
  await f.client.create({ ...fileWatch('a', { watchedPaths: ['/src', '/lib'] }), metadata: { name: 'a', labels: { tier: 'web' } } });
  await f.client.create(fileWatch('b', { watchedPaths: ['/src'] }));
  await f.mgr.start();
  assert.equal(f.mgr.cache.get<FileWatch>('FileWatch', 'a')?.spec?.watchedPaths.length, 2);
  assert.deepEqual(f.mgr.cache.list('FileWatch', { labels: { tier: 'web' } }).map((o) => o.metadata.name), ['a']);
  assert.deepEqual(f.mgr.cache.byIndex('FileWatch', 'path', '/src').map((o) => o.metadata.name).sort(), ['a', 'b']);
  await f.client.patch('FileWatch', 'b', { spec: { watchedPaths: ['/lib'] } });
  await waitFor(() => f.mgr.cache.byIndex('FileWatch', 'path', '/src').length === 1, 'b re-indexed');
  assert.throws(() => f.mgr.cache.get('Cmd', 'x'), /not cached/);
});

test('stop waits for reconciles in flight; ready turns false', async (t) => {
  const f = await newFixture(t);
  const gate = deferred();
  const started = deferred();
  let finished = false;
  f.mgr
    .controller('slow')
    .for('FileWatch')
    .complete({
      reconcile: async () => {
        started.resolve();
        await gate.promise;
        finished = true;
      },
    });
  await f.mgr.start();
  await f.client.create(fileWatch('a'));
  await started.promise;
  let stopped = false;
  const stopping = f.mgr.stop().then(() => (stopped = true));
  await new Promise((res) => setTimeout(res, 50));
  assert.equal(stopped, false);
  assert.equal(f.mgr.ready(), false);
  gate.resolve();
  await stopping;
  assert.equal(finished, true);
});

test('metrics count adds, reconciles, errors and durations per controller', async (t) => {
  const f = await newFixture(t);
  let fail = true;
  f.mgr
    .controller('counted')
    .for('FileWatch')
    .complete({
      reconcile: async () => {
        if (fail) {
          fail = false;
          throw new Error('first time fails');
        }
      },
    });
  await f.mgr.start();
  await f.client.create(fileWatch('a'));
  const text = async () => f.mgr.metricsRegistry.metrics();
  await waitFor(async () => /controller_runtime_reconcile_total\{controller="counted",result="success"\} 1/.test(await text()), 'one success');
  const m = await text();
  assert.match(m, /controller_runtime_reconcile_total\{controller="counted",result="error"\} 1/);
  assert.match(m, /controller_runtime_reconcile_errors_total\{controller="counted"\} 1/);
  assert.match(m, /workqueue_retries_total\{name="counted"\} 1/);
  assert.match(m, /workqueue_adds_total\{name="counted"\} 2/);
  assert.match(m, /workqueue_depth\{name="counted"\} 0/);
  assert.match(m, /controller_runtime_reconcile_time_seconds_count\{controller="counted"\} 2/);
});

/**
 * GatedSource passes list and watch through to the real client, except that the test can end
 * the current watch as a server would (cleanly) and hold back the next one.
 */
class GatedSource {
  private current?: { handle?: WatchHandle; done: (err?: unknown) => void };
  private gate?: Promise<void>;
  lists = 0;
  constructor(private readonly client: FerryClient) {}

  list(kind: string) {
    this.lists++;
    return this.client.list(kind);
  }

  async watch(kind: string, opts: WatchOptions, onEvent: (ev: WatchEvent) => void, done: (err?: unknown) => void): Promise<WatchHandle> {
    await this.gate;
    const entry: { handle?: WatchHandle; done: (err?: unknown) => void } = { done };
    this.current = entry;
    entry.handle = await this.client.watch(kind, opts, onEvent, done);
    return entry.handle;
  }

  /** endWatch ends the current watch cleanly and holds the next one until the returned function is called. */
  endWatch(): () => void {
    let open!: () => void;
    this.gate = new Promise((r) => (open = r));
    const cur = this.current!;
    cur.handle?.stop();
    cur.done();
    return open;
  }
}

test('an informer resuming after the server forgot its resourceVersion relists and reports what vanished', async (t) => {
  const server: TestApiServer = await startTestApiServer({ historySize: 5 });
  const client = new FerryClient(server.kubeConfig);
  t.after(async () => {
    client.close();
    await server.close();
  });
  const source = new GatedSource(client);
  const inf = new Informer({ kind: 'ConfigMap', source, clock: realClock, log: silentLogger() });
  const events: string[] = [];
  inf.onEvent((ev: ObjectEvent) => events.push(`${ev.type} ${ev.obj.metadata.name}`));
  await client.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name: 'keep' } });
  await client.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name: 'gone' } });
  inf.start();
  await inf.waitForSync();
  await client.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name: 'seen' } });
  await waitFor(() => events.includes('add seen'), 'the watch delivers');
  const resumeFrom = inf.lastResourceVersion();

  const open = source.endWatch();
  await client.delete('ConfigMap', 'gone');
  for (let i = 0; i < 10; i++) await client.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name: `n${i}` } });
  events.length = 0;
  open();

  await waitFor(() => events.includes('delete gone') && inf.store.size === 12, 'the relist');
  assert.equal(source.lists, 2, 'one relist');
  assert.ok(Number(inf.lastResourceVersion()) > Number(resumeFrom));
  assert.deepEqual(events.filter((e) => e.startsWith('delete')), ['delete gone']);
  assert.equal(events.filter((e) => e.startsWith('add n')).length, 10);
  assert.equal(inf.store.get('gone'), undefined);

  // And it keeps watching afterwards.
  await client.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name: 'after' } });
  await waitFor(() => events.includes('add after'), 'the new watch delivers');
  inf.stop();
});

test('an informer survives the server going away and coming back on the same port', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-runtime-'));
  const server = await startTestApiServer({ dataDir });
  let second: TestApiServer | undefined;
  const client = new FerryClient(server.kubeConfig);
  const inf = new Informer<KubeObject>({ kind: 'ConfigMap', source: client, clock: realClock, log: silentLogger(), initialBackoffMs: 50, maxBackoffMs: 200 });
  t.after(async () => {
    inf.stop();
    client.close();
    await second?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const events: string[] = [];
  inf.onEvent((ev: ObjectEvent) => events.push(`${ev.type} ${ev.obj.metadata.name}`));
  await client.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name: 'before' } });
  inf.start();
  await inf.waitForSync();
  assert.deepEqual(events, ['add before']);

  // A new server on the same port and data directory, with memory storage: everything is gone.
  const port = server.server.port;
  await server.close();
  second = await startTestApiServer({ port, dataDir });
  const client2 = new FerryClient(second.kubeConfig);
  await client2.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name: 'after' } });
  client2.close();
  await waitFor(() => events.includes('delete before') && events.includes('add after'), 'the informer to catch up');
});

test('background work wakes a reconcile through a Wake, also when it asks before the controller exists', async (t) => {
  const f = await newFixture(t);
  const seen: string[] = [];
  const wake = new Wake();
  wake.enqueue('early');
  f.mgr.controller('woken').for('FileWatch').wakes(wake).complete({ reconcile: async (req: Request) => void seen.push(req.name) });
  await f.mgr.start();
  await waitFor(() => seen.includes('early'), 'the early wake');
  wake.enqueue('later');
  await waitFor(() => seen.includes('later'), 'the later wake');
  assert.deepEqual([...seen].sort(), ['early', 'later']);
  assert.throws(() => wake.bind(() => {}), /already bound/);
});
