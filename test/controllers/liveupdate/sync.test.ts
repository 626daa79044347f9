import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Histogram } from 'prom-client';
import type { ContainerTarget } from '../../../src/adapters/containers/index.ts';
import type { ArchiveEntry } from '../../../src/adapters/tar/archive.ts';
import { liveUpdateKind } from '../../../src/apis/liveupdate.ts';
import { resolveKind } from '../../../src/apis/registry.ts';
import { syncLatencyMetric } from '../../../controllers/liveupdate/index.ts';
import { microTimeString, type FileWatch } from '../../../src/apis/index.ts';
import { newFixture, type Fixture } from './fixture.ts';

/** eventAgo records a FileEvent of files stamped agoMs before the clock's time, and returns its time. */
async function eventAgo(f: Fixture, files: string[], agoMs: number): Promise<string> {
  await f.clock.advance(1000);
  const time = microTimeString((f.clock.now().getTime() - agoMs) * 1000);
  const fw = (await f.client.get<FileWatch>('FileWatch', 'fw'))!;
  const fileEvents = [...(fw.status?.fileEvents ?? []), { time, seenFiles: files.map((x) => `${f.dir}/${x}`) }];
  await f.setStatus<FileWatch>('FileWatch', 'fw', { ...fw.status, fileEvents, lastEventTime: time });
  return time;
}

async function dockerSetup(t: Parameters<typeof newFixture>[0]) {
  const f = await newFixture(t);
  await f.fileWatch();
  await f.dockerCompose('c1');
  await f.write({ 'src/a.txt': 'A', 'src/b.txt': 'B' });
  const retains: { owner: string; containers: string[] }[] = [];
  Object.assign(f.updater, {
    retain: (owner: string, targets: ContainerTarget[]) => retains.push({ owner, containers: targets.map((x) => x.containerId) }),
  });
  await f.liveUpdate();
  return { f, retains };
}

test('the updater receives the archive entries beside the archive', async (t) => {
  const { f } = await dockerSetup(t);
  await f.reconcile();
  await f.event(['src/a.txt']);
  await f.reconcile();
  const update = f.updater.calls[0]!.update as { entries?: ArchiveEntry[] };
  assert.deepEqual(update.entries?.filter((e) => e.type === 'file').map((e) => [e.name, e.size]), [['app/a.txt', 1]]);
});

test('the updater is told which containers the LiveUpdate selects, and when it selects none', async (t) => {
  const { f, retains } = await dockerSetup(t);
  await f.reconcile();
  assert.deepEqual(retains, [{ owner: '/lu', containers: ['c1'] }]);
  await f.steadyState();
  assert.equal(retains.length, 1, 'told only when the selection changes');

  await f.dockerCompose('c2');
  await f.reconcile();
  assert.deepEqual(retains.at(-1), { owner: '/lu', containers: ['c2'] }, 'a replaced container');

  await f.dockerCompose('c2', 'exited');
  await f.reconcile();
  assert.deepEqual(retains.at(-1), { owner: '/lu', containers: [] }, 'a stopped container is not kept');

  await f.dockerCompose('c3');
  await f.reconcile();
  assert.deepEqual(retains.at(-1), { owner: '/lu', containers: ['c3'] });
  await f.client.delete('FileWatch', 'fw');
  await f.reconcile();
  assert.deepEqual(retains.at(-1), { owner: '/lu', containers: [] }, 'failing on a missing FileWatch');
  await f.fileWatch();
  await f.reconcile();
  assert.deepEqual(retains.at(-1), { owner: '/lu', containers: ['c3'] }, 'recovered');
  assert.equal((await f.get()).status!.failed, undefined, 'the missing FileWatch is no longer reported once it exists');
  await f.client.delete('LiveUpdate', 'lu');
  await f.reconcile();
  assert.deepEqual(retains.at(-1), { owner: '/lu', containers: [] }, 'the LiveUpdate is gone');
});

test('a sync is timed from its FileEvent to the container acknowledging it: status and histogram', async (t) => {
  const { f } = await dockerSetup(t);
  await f.reconcile();
  assert.equal((await f.get()).status!.lastSyncLatency, undefined, 'no sync yet');
  await eventAgo(f, ['src/a.txt'], 25);
  await f.reconcile();
  assert.equal((await f.get()).status!.lastSyncLatency, '25ms');
  await f.steadyState();

  await eventAgo(f, ['src/b.txt'], 7);
  await f.reconcile();
  assert.equal((await f.get()).status!.lastSyncLatency, '7ms');

  const metric = f.mgr.metricsRegistry.getSingleMetric(syncLatencyMetric) as Histogram;
  const values = (await metric.get()).values;
  const count = values.find((v) => v.metricName === `${syncLatencyMetric}_count`);
  assert.deepEqual(count?.labels, { namespace: '', name: 'lu' });
  assert.equal(count?.value, 2);
  const sum = values.find((v) => v.metricName === `${syncLatencyMetric}_sum`);
  assert.ok(Math.abs((sum?.value ?? 0) - 0.032) < 1e-9, `sum ${sum?.value}`);
});

test('LiveUpdate has the short name lu and shows the last sync latency with -o wide', () => {
  assert.equal(resolveKind('lu')?.kind, 'LiveUpdate');
  const col = liveUpdateKind.columns.find((c) => c.jsonPath === '.status.lastSyncLatency');
  assert.equal(col?.priority, 1);
});
