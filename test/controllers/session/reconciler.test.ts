import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { CmdImage, ConfigMap, DockerComposeService, KubeObject, KubernetesApply, KubernetesDiscovery, Session } from '../../../src/apis/index.ts';
import { ApiError } from '../../../src/client/index.ts';
import { FakeClock, type Controller } from '../../../src/runtime/index.ts';
import { ensureDefaultSession, setup } from '../../../controllers/session/index.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { waitFor } from '../../support/wait.ts';

const start = new Date('2024-01-01T00:00:00Z');

async function newFixture(t: TestContext) {
  const clock = new FakeClock(start);
  const h = await ControllerHarness.start(t, { clock, setup: (mgr) => setup(mgr, { pid: 4242 }) });
  const { client, mgr } = h;
  const controller = h.wired.controller;
  const f = {
    client,
    clock,
    /** reconciles is how many times the Session controller has reconciled so far. */
    async reconciles(): Promise<number> {
      const m = await mgr.metricsRegistry.getSingleMetric('controller_runtime_reconcile_total')!.get();
      return m.values.filter((v) => v.labels.controller === 'session').reduce((n, v) => n + v.value, 0);
    },
    controller: controller as Controller,
    async create<T extends KubeObject>(obj: T, status?: T['status']): Promise<T> {
      const created = await h.create(obj);
      if (status === undefined) return created;
      return h.setStatus<T>(obj.kind!, obj.metadata.name!, status);
    },
    async session(name: string, pred: (s: Session) => boolean, what: string): Promise<Session> {
      return waitFor(async () => {
        const s = await client.get<Session>('Session', name);
        return s && pred(s) ? s : undefined;
      }, { message: what });
    },
    /** settled waits until the controller has nothing left to do. */
    async settled(): Promise<void> {
      await controller.idle();
    },
  };
  return f;
}

const ciSession = (name: string, ci?: NonNullable<Session['spec']>['ci']): Session => ({
  kind: 'Session', metadata: { name }, spec: { tiltfilePath: 'Tiltfile', exitCondition: 'ci', ...(ci ? { ci } : {}) },
});
const cmdImage = (name: string): CmdImage => ({ kind: 'CmdImage', metadata: { name }, spec: { ref: name, args: ['make'] } });
const dcs = (name: string): DockerComposeService => ({ kind: 'DockerComposeService', metadata: { name }, spec: { service: name, project: { yaml: 'services: {}' } } });

test('ensureDefaultSession creates the manual Tiltfile session once, with pid and start time', async (t) => {
  const f = await newFixture(t);
  const s = await ensureDefaultSession(f.client, { pid: 4242, startTime: start, cwd: '/work/app' });
  assert.equal(s.metadata.name, 'Tiltfile');
  assert.deepEqual(s.spec, { tiltfilePath: '/work/app/Tiltfile', exitCondition: 'manual' });
  assert.equal(s.status?.pid, 4242);
  assert.equal(s.status?.startTime, '2024-01-01T00:00:00.000000Z');
  await f.settled();
  const settled = (await f.client.get<Session>('Session', 'Tiltfile'))!;
  const again = await ensureDefaultSession(f.client, { pid: 4242, startTime: new Date(), cwd: '/elsewhere' });
  assert.equal(again.metadata.resourceVersion, settled.metadata.resourceVersion);
  assert.equal(again.status?.done, false);
});

test('unsupported exit conditions are rejected, listing the valid values', async (t) => {
  const f = await newFixture(t);
  await assert.rejects(
    f.client.create<Session>({ kind: 'Session', metadata: { name: 'bad' }, spec: { tiltfilePath: 'Tiltfile', exitCondition: 'whenever' } }),
    (err: unknown) => err instanceof ApiError && err.reason === 'Invalid' && /"manual"/.test(err.message) && /"ci"/.test(err.message),
  );
});

test('a ci session follows its resources to success, then stays steady', async (t) => {
  const f = await newFixture(t);
  await f.create(ciSession('ci'));
  await f.create(cmdImage('web'));
  await f.create(dcs('web'));
  let s = await f.session('ci', (s) => s.status?.targets.length === 2, 'two targets');
  assert.equal(s.status!.pid, 4242);
  assert.equal(s.status!.startTime, '2024-01-01T00:00:00.000000Z');
  assert.deepEqual(s.status!.targets.map((t) => [t.name, t.type, t.state]), [
    ['web:runtime', 'server', { waiting: { waitReason: 'waiting-for-container' } }],
    ['web:update', 'job', { waiting: { waitReason: 'waiting-for-build' } }],
  ]);
  assert.equal(s.status!.done, false);

  await f.client.patchStatus('CmdImage', 'web', { status: { completed: { startedAt: '2024-01-01T00:00:01.000000Z', finishedAt: '2024-01-01T00:00:02.000000Z' } } });
  await f.client.patchStatus('DockerComposeService', 'web', { status: { containerName: 'web-1', containerState: { status: 'running', running: true, startedAt: '2024-01-01T00:00:03Z' } } });
  s = await f.session('ci', (s) => s.status?.done === true, 'done');
  assert.equal(s.status!.error, undefined);

  await f.settled();
  const rv = (await f.client.get<Session>('Session', 'ci'))!.metadata.resourceVersion;
  f.controller.enqueue('ci');
  await f.settled();
  assert.equal((await f.client.get<Session>('Session', 'ci'))!.metadata.resourceVersion, rv);
});

test('a ci session follows a KubernetesApply to its ready pod, then stays steady', async (t) => {
  const f = await newFixture(t);
  await f.create(ciSession('ci'));
  const yaml = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: web\n';
  await f.create<KubernetesApply>({ kind: 'KubernetesApply', metadata: { name: 'web' }, spec: { yaml, imageMaps: ['web'] } }, {
    conditions: [{ type: 'ReadyToApply', status: 'False', reason: 'WaitingForImageMap', message: 'waiting for image', lastTransitionTime: '2024-01-01T00:00:00Z' }],
  });
  let s = await f.session('ci', (s) => s.status?.targets.length === 2, 'two targets');
  assert.deepEqual(s.status!.targets.map((t) => [t.name, t.type, t.state]), [
    ['web:runtime', 'server', { waiting: { waitReason: 'waiting-for-pod' } }],
    ['web:update', 'job', { waiting: { waitReason: 'waiting-for-dependency' } }],
  ]);

  await f.client.patchStatus('KubernetesApply', 'web', {
    status: { conditions: null, lastApplyStartTime: '2024-01-01T00:00:01.000000Z', lastApplyTime: '2024-01-01T00:00:02.000000Z', resultYAML: yaml },
  });
  s = await f.session('ci', (s) => s.status?.targets.some((t) => t.name === 'web:update' && !!t.state.terminated) === true, 'applied');
  assert.equal(s.status!.done, false);
  const owner = await f.client.get<KubernetesApply>('KubernetesApply', 'web');
  const ownerReferences = [{ apiVersion: 'tilt.dev/v1alpha1', kind: 'KubernetesApply', name: 'web', uid: owner!.metadata.uid!, controller: true }];
  await f.create<KubernetesDiscovery>({ kind: 'KubernetesDiscovery', metadata: { name: 'web', ownerReferences }, spec: { watches: [{ namespace: 'default' }] } }, {
    monitorStartTime: '2024-01-01T00:00:02.000000Z',
    pods: [{ name: 'web-1', namespace: 'default', phase: 'Running', status: 'Running', createdAt: '2024-01-01T00:00:03Z', containers: [{ name: 'web', ready: true, state: { running: {} } }] }],
  });
  s = await f.session('ci', (s) => s.status?.done === true, 'done');
  assert.equal(s.status!.error, undefined);
  assert.deepEqual(s.status!.targets.find((t) => t.name === 'web:runtime')!.state, { active: { startTime: '2024-01-01T00:00:02.000000Z', ready: true } });

  await f.settled();
  const rv = (await f.client.get<Session>('Session', 'ci'))!.metadata.resourceVersion;
  f.controller.enqueue('ci');
  await f.settled();
  assert.equal((await f.client.get<Session>('Session', 'ci'))!.metadata.resourceVersion, rv);
});

test('a ci session fails at the first failed target', async (t) => {
  const f = await newFixture(t);
  await f.create(ciSession('ci'));
  await f.create(cmdImage('api'), { completed: { startedAt: '2024-01-01T00:00:01.000000Z', finishedAt: '2024-01-01T00:00:02.000000Z', error: 'exit status 2' } });
  const s = await f.session('ci', (s) => s.status?.done === true, 'done');
  assert.equal(s.status!.error, 'exit status 2');
});

test('a ci session times out on the fake clock with Tilt message', async (t) => {
  const f = await newFixture(t);
  await f.create(ciSession('ci', { timeout: '1m' }));
  await f.create(dcs('db'));
  await f.session('ci', (s) => s.status?.targets.length === 1, 'one target');
  await f.settled();
  await f.clock.advance(59_000);
  await f.settled();
  assert.equal((await f.client.get<Session>('Session', 'ci'))!.status!.done, false);
  await f.clock.advance(1_000);
  const s = await f.session('ci', (s) => s.status?.done === true, 'done');
  assert.equal(s.status!.error, 'Timeout after 1m0s: 1 resources waiting (db:runtime waiting-for-container)');
});

test('a manual session is never done', async (t) => {
  const f = await newFixture(t);
  await ensureDefaultSession(f.client, { pid: 4242, startTime: start });
  await f.create(cmdImage('api'), { completed: { startedAt: '2024-01-01T00:00:01.000000Z', finishedAt: '2024-01-01T00:00:02.000000Z', error: 'boom' } });
  const s = await f.session('Tiltfile', (s) => s.status?.targets.length === 1, 'target');
  assert.equal(s.status!.done, false);
  await f.clock.advance(24 * 3600_000);
  await f.settled();
  assert.equal((await f.client.get<Session>('Session', 'Tiltfile'))!.status!.done, false);
});

test('changing a session to ci starts a new run: the timeout counts from then', async (t) => {
  const f = await newFixture(t);
  await ensureDefaultSession(f.client, { pid: 4242, startTime: start });
  await f.create(dcs('db'));
  await f.session('Tiltfile', (s) => s.status?.targets.length === 1, 'target');
  await f.clock.advance(3_600_000);
  await f.settled();
  const cur = (await f.client.get<Session>('Session', 'Tiltfile'))!;
  await f.client.update<Session>({ ...cur, spec: { ...cur.spec!, exitCondition: 'ci', ci: { timeout: '30s' } } });
  const s = await f.session('Tiltfile', (s) => s.status?.startTime === '2024-01-01T01:00:00.000000Z', 'a new run');
  assert.equal(s.status!.done, false);
  await f.settled();
  await f.clock.advance(30_000);
  const done = await f.session('Tiltfile', (s) => s.status?.done === true, 'done');
  assert.equal(done.status!.error, 'Timeout after 30s: 1 resources waiting (db:runtime waiting-for-container)');
});

test("a resource's disable ConfigMap disables its targets; other ConfigMaps do not wake the controller", async (t) => {
  const f = await newFixture(t);
  await ensureDefaultSession(f.client, { pid: 4242, startTime: start });
  await f.create(dcs('db'));
  await f.session('Tiltfile', (s) => s.status?.targets.length === 1, 'target');
  await f.settled();
  const before = await f.reconciles();
  for (let i = 0; i < 20; i++) await f.client.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name: `unrelated-${i}` }, data: { isDisabled: 'true' } });
  // The disable ConfigMap comes last: once the Session shows it, every earlier event was seen.
  await f.client.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name: 'db-disable' }, data: { isDisabled: 'true' } });
  const s = await f.session('Tiltfile', (s) => 'disabled' in (s.status?.targets[0]?.state ?? {}), 'db disabled');
  assert.deepEqual(s.status!.targets[0].state, { disabled: {} });
  await f.settled();
  assert.ok((await f.reconciles()) - before <= 2, `reconciled ${(await f.reconciles()) - before} times for 21 ConfigMaps`);
});
