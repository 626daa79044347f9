// selector.kubernetes.applyName: only pods of the KubernetesApply's current apply are updated,
// and a newer apply clears a stopped LiveUpdate (fake updater, real API server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { toMicroTime, type KubernetesApply, type KubernetesDiscovery, type LiveUpdate } from '../../../src/apis/index.ts';
import { newFixture } from './fixture.ts';

const hashLabel = 'tilt.dev/pod-template-hash';

const pod = (name: string, id: string, hash?: string) => ({
  name,
  namespace: 'default',
  phase: 'Running',
  createdAt: '2023-06-01T00:00:00Z',
  containers: [{ name: 'web', id: `docker://${id}`, image: 'web:1', state: { running: {} } }],
  ...(hash ? { labels: { app: 'web', [hashLabel]: hash } } : {}),
});

const deployment = (hash: string, uid: string | undefined = 'dep-uid') => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', ...(uid ? { uid } : {}) },
  spec: { template: { metadata: { labels: { app: 'web', [hashLabel]: hash } }, spec: { containers: [{ name: 'web', image: 'web:1' }] } } },
});

async function setup(t: Parameters<typeof newFixture>[0], pods: Array<ReturnType<typeof pod> & { ancestorUID?: string }>, spec: Partial<NonNullable<LiveUpdate['spec']>> = {}) {
  const f = await newFixture(t);
  await f.fileWatch();
  await f.write({ 'src/a.txt': 'A', 'stop/x': 'X' });
  await f.create<KubernetesDiscovery>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'KubernetesDiscovery', metadata: { name: 'web' }, spec: { watches: [{ namespace: 'default' }] } });
  await f.setStatus<KubernetesDiscovery>('KubernetesDiscovery', 'web', { pods });
  await f.create<KubernetesApply>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'KubernetesApply', metadata: { name: 'web' }, spec: { yaml: stringify(deployment('h1')) } });
  await f.liveUpdate({ selector: { kubernetes: { discoveryName: 'web', applyName: 'web', containerName: 'web' } }, ...spec });
  return f;
}

async function applied(f: Awaited<ReturnType<typeof newFixture>>, hash: string, uid?: string) {
  await f.setStatus<KubernetesApply>('KubernetesApply', 'web', {
    resultYAML: stringify(deployment(hash, uid)),
    lastApplyStartTime: toMicroTime(f.clock.now()),
    lastApplyTime: toMicroTime(f.clock.now()),
    appliedInputHash: hash,
  });
}

test('applyName: only pods whose template hash the current apply applied (or that have none) are updated', async (t) => {
  const f = await setup(t, [pod('old', 'c-old', 'h1'), pod('new', 'c-new', 'h2'), pod('bare', 'c-bare')]);
  await applied(f, 'h2');
  await f.reconcile();
  await f.event(['src/a.txt']);
  await f.reconcile();
  assert.deepEqual(f.updater.calls.map((c) => c.update.target.podName).sort(), ['bare', 'new']);
  assert.deepEqual((await f.get()).status!.containers!.map((c) => c.podName).sort(), ['bare', 'new']);
  await f.steadyState();

  // A new apply of the old template: the other pod is the current one (and gets only what
  // changed after the apply started).
  await f.clock.advance(1000);
  await applied(f, 'h1');
  await f.event(['src/a.txt']);
  await f.reconcile();
  assert.deepEqual(f.updater.calls.slice(2).map((c) => c.update.target.podName).sort(), ['bare', 'old']);
  await f.steadyState();
});

test('applyName: before the first apply, pods with a template hash are not updated; a missing apply or uid is reported', async (t) => {
  const f = await setup(t, [pod('new', 'c-new', 'h2')]);
  await f.reconcile();
  await f.event(['src/a.txt']);
  await f.reconcile();
  assert.equal(f.updater.calls.length, 0);
  assert.deepEqual((await f.get()).status!.containers ?? [], []);

  await applied(f, 'h2', '');
  await f.event(['src/a.txt']);
  await f.reconcile();
  assert.deepEqual(
    [(await f.get()).status!.failed?.reason, (await f.get()).status!.failed?.message],
    ['Invalid', 'creating kube resource: Resource missing uid: web'],
  );

  await f.client.delete('KubernetesApply', 'web');
  await f.reconcile();
  assert.equal((await f.get()).status!.failed?.reason, 'ObjectNotFound');
});

test('applyName: a newer lastApplyStartTime clears UpdateStopped, and the next change is synced', async (t) => {
  const f = await setup(t, [pod('new', 'c-new', 'h2')], { stopPaths: ['stop'] });
  await applied(f, 'h2');
  await f.reconcile();
  await f.event(['stop/x']);
  await f.reconcile();
  assert.equal((await f.get()).status!.failed?.reason, 'UpdateStopped');
  await f.event(['src/a.txt']);
  await f.reconcile();
  assert.equal((await f.get()).status!.failed?.reason, 'UpdateStopped', 'sticky until a new apply');
  assert.equal(f.updater.calls.length, 0);

  await f.clock.advance(1000);
  await applied(f, 'h2');
  await f.reconcile();
  assert.equal((await f.get()).status!.failed, undefined);
  assert.equal(f.updater.calls.length, 0, 'changes from before the apply are in it');

  await f.event(['src/a.txt']);
  await f.reconcile();
  assert.equal(f.updater.calls.length, 1);
  assert.equal((await f.get()).status!.failed, undefined);
  await f.steadyState();
});

test('applyName: pods discovery found through an object the apply no longer has are left out', async (t) => {
  const f = await setup(t, [{ ...pod('gone', 'c-gone', 'h2'), ancestorUID: 'old-dep-uid' }, { ...pod('current', 'c-cur', 'h2'), ancestorUID: 'dep-uid' }]);
  await applied(f, 'h2');
  await f.reconcile();
  await f.event(['src/a.txt']);
  await f.reconcile();
  assert.deepEqual(f.updater.calls.map((c) => c.update.target.podName), ['current']);
  await f.steadyState();
});
