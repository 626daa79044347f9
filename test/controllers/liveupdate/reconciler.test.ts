import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { toMicroTime, type ConfigMap, type FileWatch, type KubernetesDiscovery, type LiveUpdate } from '../../../src/apis/index.ts';
import { FileBatches } from '../../../src/tilt/index.ts';
import { RunStepFailure } from '../../../src/adapters/containers/index.ts';
import { newFixture, tarEntries } from './fixture.ts';

/** fileEntries lists an archive's non-directory entries. */
async function fileEntries(bytes: Buffer): Promise<Record<string, string>> {
  return Object.fromEntries(Object.entries(await tarEntries(bytes)).filter(([k]) => !k.endsWith('/')));
}

async function dockerSetup(t: Parameters<typeof newFixture>[0], spec: Parameters<Awaited<ReturnType<typeof newFixture>>['liveUpdate']>[0] = {}) {
  const f = await newFixture(t);
  await f.fileWatch();
  await f.dockerCompose('c1');
  await f.write({ 'src/a.txt': 'A', 'src/b.txt': 'B' });
  await f.liveUpdate(spec);
  return f;
}

test('a changed file is copied into the container and lastFileTimeSynced is the event time', async (t) => {
  const f = await dockerSetup(t);
  await f.reconcile();
  assert.equal(f.updater.calls.length, 0, 'nothing changed yet');
  assert.deepEqual((await f.get()).status, { containers: [{ containerName: 'svc-c1', containerID: 'c1', podName: '', namespace: '' }] });

  const time = await f.event(['src/a.txt']);
  await f.reconcile();
  assert.equal(f.updater.calls.length, 1);
  const call = f.updater.calls[0]!;
  assert.equal(call.update.target.containerId, 'c1');
  assert.deepEqual(call.update.deletePaths, []);
  assert.deepEqual(await tarEntries(call.archiveBytes), { 'app/': '', 'app/a.txt': 'A' }, 'the sync root goes first, to be the container user\'s');
  assert.equal(call.update.restart, false);
  const st = (await f.get()).status!;
  assert.equal(st.failed, undefined);
  assert.equal(st.containers![0]!.lastFileTimeSynced, time);
  await f.steadyState();
  assert.ok(f.logs.some((l) => l.message === 'Will copy files to container'));
  assert.ok(f.logs.some((l) => l.message === 'Container updated'));
});

test('the seed form fileWatchNames is accepted', async (t) => {
  const f = await dockerSetup(t, { sources: undefined, fileWatchNames: ['fw'] });
  await f.reconcile();
  await f.event(['src/b.txt']);
  await f.reconcile();
  assert.deepEqual(await fileEntries(f.updater.calls[0]!.archiveBytes), { 'app/b.txt': 'B' });
  await f.steadyState();
});

test('deleted files are removed, renamed ones removed and copied, directories copied whole', async (t) => {
  const f = await dockerSetup(t);
  await f.reconcile();
  await fsp.rename(path.join(f.dir, 'src/a.txt'), path.join(f.dir, 'src/renamed.txt'));
  await f.write({ 'src/dir/x': 'X', 'src/dir/y': 'Y' });
  await f.event(['src/a.txt', 'src/renamed.txt', 'src/dir', 'src/gone']);
  await f.reconcile();
  const call = f.updater.calls[0]!;
  assert.deepEqual(call.update.deletePaths, ['/app/a.txt', '/app/gone']);
  assert.deepEqual(await tarEntries(call.archiveBytes), { 'app/': '', 'app/dir/': '', 'app/dir/x': 'X', 'app/dir/y': 'Y', 'app/renamed.txt': 'A' });
  await f.steadyState();
});

test('the first matching sync wins, and a file sync into a path ending in / keeps its name', async (t) => {
  const f = await dockerSetup(t, {
    syncs: [
      { localPath: 'src/special', containerPath: '/special' },
      { localPath: 'src', containerPath: '/app' },
      { localPath: 'main.go', containerPath: '/bin/' },
    ],
  });
  await f.write({ 'src/special/s': 'S', 'main.go': 'package main' });
  await f.reconcile();
  await f.event(['src/special/s', 'src/a.txt', 'main.go']);
  await f.reconcile();
  assert.deepEqual(await tarEntries(f.updater.calls[0]!.archiveBytes), { 'special/': '', 'app/': '', 'special/s': 'S', 'app/a.txt': 'A', 'bin/main.go': 'package main' });
  await f.steadyState();
});

test('files matching no sync stop the update; a newer build clears the failure', async (t) => {
  const f = await dockerSetup(t, { sources: [{ fileWatch: 'fw', imageMap: 'img' }] });
  await f.write({ 'other/1': '', 'other/2': '', 'other/3': '', 'other/4': '', 'other/5': '', 'other/6': '' });
  await f.reconcile();
  await f.event(['other/1', 'other/2', 'other/3', 'other/4', 'other/5', 'other/6', 'src/a.txt']);
  await f.reconcile();
  let st = (await f.get()).status!;
  assert.equal(st.failed?.reason, 'ObjectNotFound');
  assert.equal(st.failed?.message, 'imagemaps.tilt.dev "img" not found');

  await f.imageMapBuilt('img', new Date('2023-12-31T00:00:00Z'));
  await f.reconcile();
  st = (await f.get()).status!;
  assert.equal(st.failed?.reason, 'UpdateStopped');
  assert.equal(st.failed?.message, 'Found file(s) not matching any sync (files: [other/1 other/2 other/3 other/4 other/5 ...])');
  assert.equal(st.containers, undefined);
  assert.equal(f.updater.calls.length, 0);
  await f.steadyState();

  // Sticky: a later good change does not clear it.
  await f.event(['src/b.txt']);
  await f.reconcile();
  assert.equal((await f.get()).status!.failed?.reason, 'UpdateStopped');
  assert.equal(f.updater.calls.length, 0);

  // A build that started after the failing change clears it, and drops the changes it contains.
  await f.clock.advance(1000);
  await f.imageMapBuilt('img', f.clock.now());
  await f.reconcile();
  st = (await f.get()).status!;
  assert.equal(st.failed, undefined);
  assert.equal(f.updater.calls.length, 0, 'changes older than the build are in the image');
  await f.steadyState();

  await f.event(['src/a.txt']);
  await f.reconcile();
  assert.equal(f.updater.calls.length, 1);
  assert.deepEqual(await fileEntries(f.updater.calls[0]!.archiveBytes), { 'app/a.txt': 'A' });
  await f.steadyState();
});

test('a stop path stops the update, naming the first changed file under it', async (t) => {
  const f = await dockerSetup(t, { stopPaths: ['src/package.json'] });
  await f.write({ 'src/package.json': '{}' });
  await f.reconcile();
  await f.event(['src/package.json', 'src/a.txt']);
  await f.reconcile();
  const st = (await f.get()).status!;
  assert.deepEqual({ reason: st.failed?.reason, message: st.failed?.message }, {
    reason: 'UpdateStopped',
    message: `Detected change to stop file ${JSON.stringify(path.join(f.dir, 'src/package.json'))}`,
  });
  assert.ok(st.failed?.lastTransitionTime);
  assert.equal(f.updater.calls.length, 0);
  await f.steadyState();
});

test('a sync root that cannot be stat\'ed gives No update plan', async (t) => {
  const f = await dockerSetup(t, { syncs: [{ localPath: 'missing', containerPath: '/m' }] });
  await f.reconcile();
  await f.event(['missing/x']);
  await f.reconcile();
  const st = (await f.get()).status!;
  assert.equal(st.failed?.reason, 'UpdateStopped');
  assert.match(st.failed!.message!, /^No update plan: error stat'ing: ENOENT/);
  await f.steadyState();
});

test('execs run in spec order when triggered; a failing exec is lastExecError and the files count as synced', async (t) => {
  const f = await dockerSetup(t, {
    execs: [
      { args: ['sh', '-c', 'always'] },
      { args: ['make', 'a'], triggerPaths: ['src/a.txt'] },
      { args: ['make', 'b'], triggerPaths: ['src/b.txt'], timeoutSeconds: 5 },
    ],
  });
  await f.reconcile();
  await f.event(['src/a.txt']);
  await f.reconcile();
  assert.deepEqual(
    f.updater.calls[0]!.update.execs,
    [
      { args: ['sh', '-c', 'always'], timeoutMs: 60_000 },
      { args: ['make', 'a'], timeoutMs: 60_000 },
    ],
  );
  await f.steadyState();

  f.updater.failNext(new RunStepFailure('executing on container c1: command "make b" failed with exit code: 2', 2));
  const time = await f.event(['src/b.txt']);
  await f.reconcile();
  assert.deepEqual(f.updater.calls[1]!.update.execs.map((e) => e.args.join(' ')), ['sh -c always', 'make b']);
  assert.equal(f.updater.calls[1]!.update.execs[1]!.timeoutMs, 5000);
  let c = (await f.get()).status!.containers![0]!;
  assert.equal(c.lastExecError, 'executing on container c1: command "make b" failed with exit code: 2');
  assert.equal(c.lastFileTimeSynced, time);
  assert.equal((await f.get()).status!.failed, undefined);
  await f.steadyState();

  await f.event(['src/a.txt']);
  await f.reconcile();
  c = (await f.get()).status!.containers![0]!;
  assert.equal(c.lastExecError, undefined, 'a later successful run clears it');
  await f.steadyState();
});

test('a LiveUpdate with execs and no syncs runs its execs on any change', async (t) => {
  const f = await dockerSetup(t, { syncs: [], execs: [{ args: ['touch', '/reload'] }] });
  await f.reconcile();
  const time = await f.event(['anything/at/all.txt']);
  await f.reconcile();
  assert.equal(f.updater.calls.length, 1);
  const u = f.updater.calls[0]!.update;
  assert.deepEqual(u.execs.map((e) => e.args), [['touch', '/reload']]);
  assert.equal(u.archive, undefined);
  assert.deepEqual(u.deletePaths, []);
  assert.equal((await f.get()).status!.containers![0]!.lastFileTimeSynced, time);
  await f.steadyState();
});

test('an updater error fails with UpdateFailed and stays failed until a new build', async (t) => {
  const f = await dockerSetup(t, { sources: [{ fileWatch: 'fw', imageMap: 'img' }] });
  await f.imageMapBuilt('img', new Date('2023-01-01T00:00:00Z'));
  await f.reconcile();
  f.updater.failNext(new Error('copying changed files: container rootfs is marked read-only'));
  await f.event(['src/a.txt']);
  await f.reconcile();
  const failed = (await f.get()).status!.failed!;
  assert.equal(failed.reason, 'UpdateFailed');
  assert.equal(failed.message, 'Updating container svc-c1: copying changed files: container rootfs is marked read-only');
  await f.steadyState();
  assert.ok(f.logs.some((l) => l.message === 'LiveUpdate failed' && l.reason === 'UpdateFailed'));

  await f.event(['src/b.txt']);
  await f.reconcile();
  assert.equal(f.updater.calls.length, 1, 'sticky: no retry');
  assert.equal((await f.get()).status!.failed!.lastTransitionTime, failed.lastTransitionTime);

  await f.clock.advance(10);
  await f.imageMapBuilt('img', new Date(f.clock.now().getTime() - 500));
  await f.reconcile();
  assert.equal((await f.get()).status!.failed, undefined);
  assert.equal(f.updater.calls.length, 2, 'the change after the build start is synced');
  assert.deepEqual(await fileEntries(f.updater.calls[1]!.archiveBytes), { 'app/b.txt': 'B' });
  await f.steadyState();
});

test('a container that is not running waits; its changes are synced once it runs', async (t) => {
  const f = await newFixture(t);
  await f.fileWatch();
  await f.dockerCompose('c1', 'created');
  await f.write({ 'src/a.txt': 'A' });
  await f.liveUpdate();
  await f.reconcile();
  await f.event(['src/a.txt']);
  await f.reconcile();
  assert.deepEqual((await f.get()).status!.containers![0]!.waiting, { reason: 'ContainerWaiting', message: 'Waiting for container to start' });
  assert.equal(f.updater.calls.length, 0);
  await f.steadyState();

  await f.dockerCompose('c1', 'running');
  await f.reconcile();
  assert.equal(f.updater.calls.length, 1);
  assert.equal((await f.get()).status!.containers![0]!.waiting, undefined);
  await f.steadyState();
});

test('a stopped container with changes fails with Terminated', async (t) => {
  const f = await newFixture(t);
  await f.fileWatch();
  await f.dockerCompose('c1', 'exited');
  await f.write({ 'src/a.txt': 'A' });
  await f.liveUpdate();
  await f.reconcile();
  assert.equal((await f.get()).status!.failed, undefined, 'no changes, no failure');
  await f.event(['src/a.txt']);
  await f.reconcile();
  assert.deepEqual(
    { reason: (await f.get()).status!.failed?.reason, message: (await f.get()).status!.failed?.message },
    { reason: 'Terminated', message: 'Container for live update is stopped. Pod name: ' },
  );
  await f.steadyState();
});

test('manual mode waits for the trigger queue', async (t) => {
  const f = await dockerSetup(t);
  await f.client.delete('LiveUpdate', 'lu');
  await f.liveUpdate({}, { annotations: { 'tilt.dev/update-mode': 'manual', 'tilt.dev/resource': 'web' } });
  await f.reconcile();
  await f.event(['src/a.txt']);
  await f.reconcile();
  assert.deepEqual((await f.get()).status!.containers![0]!.waiting, { reason: 'Trigger', message: 'Only updates on manual trigger' });
  assert.equal(f.updater.calls.length, 0);
  await f.steadyState();

  await f.client.create<ConfigMap>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ConfigMap', metadata: { name: 'tilt-trigger-queue' }, data: { '0-name': 'web', '0-reason-code': '1' } });
  await f.reconcile();
  assert.equal(f.updater.calls.length, 1);
  assert.equal((await f.get()).status!.containers![0]!.waiting, undefined);
  await f.steadyState();
});

test('a replaced container gets every change since the last build again', async (t) => {
  const f = await dockerSetup(t);
  await f.reconcile();
  await f.event(['src/a.txt']);
  await f.reconcile();
  await f.event(['src/b.txt']);
  await f.reconcile();
  assert.equal(f.updater.calls.length, 2);

  await f.dockerCompose('c2');
  await f.reconcile();
  assert.equal(f.updater.calls.length, 3);
  assert.equal(f.updater.calls[2]!.update.target.containerId, 'c2');
  assert.deepEqual(await fileEntries(f.updater.calls[2]!.archiveBytes), { 'app/a.txt': 'A', 'app/b.txt': 'B' });
  assert.equal((await f.get()).status!.containers![0]!.containerID, 'c2');
  await f.steadyState();
});

test('initial sync copies the sync roots once per new container, honouring the ignores', async (t) => {
  const f = await newFixture(t);
  await f.write({ 'src/a.txt': 'A', 'src/node_modules/m.js': 'm', 'src/a.txt~': 'editor' });
  await f.fileWatch('fw', [{ basePath: path.join(f.dir, 'src'), patterns: ['node_modules'] }]);
  await f.dockerCompose('c1');
  await f.liveUpdate({ initialSync: {}, execs: [{ args: ['reload'], triggerPaths: ['src/a.txt'] }] });
  await f.reconcile();
  assert.equal(f.updater.calls.length, 1);
  const call = f.updater.calls[0]!;
  const entries = await tarEntries(call.archiveBytes);
  assert.deepEqual(entries, { 'app/': '', 'app/a.txt': 'A' });
  assert.equal('app/node_modules/m.js' in entries, false);
  assert.deepEqual(call.update.deletePaths, []);
  assert.deepEqual(call.update.execs.map((e) => e.args), [['reload']]);
  assert.equal((await f.get()).status!.containers![0]!.lastFileTimeSynced, '2024-01-01T00:00:00.000000Z');
  assert.ok(f.logs.some((l) => l.message === 'Initial sync: will copy sync paths to container'));
  await f.steadyState();

  await f.dockerCompose('c2');
  await f.reconcile();
  assert.equal(f.updater.calls.length, 2);
  assert.equal(f.updater.calls[1]!.update.target.containerId, 'c2');
  await f.steadyState();
});

test('a restart: always LiveUpdate asks for a restart', async (t) => {
  const f = await dockerSetup(t, { restart: 'always' });
  await f.reconcile();
  await f.event(['src/a.txt']);
  await f.reconcile();
  assert.equal(f.updater.calls[0]!.update.restart, true);
  await f.steadyState();
});

test('changes older than the image build start are already in the image', async (t) => {
  const f = await dockerSetup(t, { sources: [{ fileWatch: 'fw', imageMap: 'img' }] });
  // The build starts between the two changes (each event moves the clock 1 s).
  await f.imageMapBuilt('img', new Date(f.clock.now().getTime() + 1500));
  await f.event(['src/a.txt']);
  await f.event(['src/b.txt']);
  await f.reconcile();
  assert.equal(f.updater.calls.length, 1);
  assert.deepEqual(await fileEntries(f.updater.calls[0]!.archiveBytes), { 'app/b.txt': 'B' });
  await f.steadyState();
});

test('selector and dependency problems are reported in status', async (t) => {
  const f = await newFixture(t);
  await f.liveUpdate({ selector: {} });
  await f.reconcile();
  assert.deepEqual(
    { reason: (await f.get()).status!.failed?.reason, message: (await f.get()).status!.failed?.message },
    { reason: 'Invalid', message: 'No valid selector' },
  );
  await f.steadyState();

  await f.client.delete('LiveUpdate', 'lu');
  await f.liveUpdate();
  await f.reconcile();
  assert.equal((await f.get()).status!.failed?.message, 'filewatches.tilt.dev "fw" not found');
  assert.equal(f.logs.some((l) => l.reason === 'ObjectNotFound'), false, 'not logged');
  await f.fileWatch();
  await f.reconcile();
  assert.equal((await f.get()).status!.failed?.message, 'dockercomposeservices.tilt.dev "svc" not found');
  await f.client.create({
    apiVersion: 'tilt.dev/v1alpha1',
    kind: 'DockerComposeService',
    metadata: { name: 'svc' },
    spec: { service: 'svc', project: { yaml: 'services: {}' } },
  });
  await f.reconcile();
  assert.equal((await f.get()).status!.failed?.message, 'no docker compose status');
  await f.dockerCompose('c1');
  await f.reconcile();
  assert.equal((await f.get()).status!.failed, undefined);
  await f.steadyState();
});

test('a LiveUpdate managed by something else is left alone', async (t) => {
  const f = await dockerSetup(t);
  await f.client.delete('LiveUpdate', 'lu');
  await f.liveUpdate({}, { annotations: { 'tilt.dev/managed-by': 'buildcontrol' } });
  await f.event(['src/a.txt']);
  await f.reconcile();
  const lu = await f.get();
  assert.equal(lu.status?.containers, undefined);
  assert.equal(f.updater.calls.length, 0);
  await f.steadyState();
});

// Kubernetes selection, with the fake updater standing in for pods/exec.

async function kubeSetup(t: Parameters<typeof newFixture>[0], selector: NonNullable<LiveUpdate['spec']>['selector'], pods: NonNullable<KubernetesDiscovery['status']>['pods']) {
  const f = await newFixture(t);
  await f.fileWatch();
  await f.write({ 'src/a.txt': 'A' });
  await f.client.create<KubernetesDiscovery>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'KubernetesDiscovery', metadata: { name: 'kd' }, spec: { watches: [{ namespace: 'default' }] } });
  await f.setStatus<KubernetesDiscovery>('KubernetesDiscovery', 'kd', { pods });
  await f.liveUpdate({ selector });
  return f;
}

const pod = (name: string, containers: { name: string; id: string; image: string; state?: object }[], extra: object = {}) => ({
  name,
  namespace: 'default',
  phase: 'Running',
  createdAt: '2023-06-01T00:00:00Z',
  containers: containers.map((c) => ({ ...c, state: c.state ?? { running: {} } })),
  initContainers: [{ name: 'init', id: 'docker://init1', image: 'web:1', state: { running: {} } }],
  ...extra,
});

test('kubernetes: containers are selected by image name whatever the tag, by container name, or by ImageMap', async (t) => {
  const pods = [
    pod('p1', [
      { name: 'web', id: 'docker://w1', image: 'docker.io/library/web:abc' },
      { name: 'side', id: 'containerd://s1', image: 'sidecar:1' },
    ]),
  ];
  for (const [selector, expected] of [
    [{ discoveryName: 'kd', image: 'web:latest' }, ['web']],
    [{ discoveryName: 'kd', image: 'myreg.io/web' }, []],
    [{ discoveryName: 'kd', containerName: 'side' }, ['side']],
    [{ discoveryName: 'kd', imageMapName: 'web' }, ['web']],
  ] as const) {
    await t.test(JSON.stringify(selector), async (t) => {
      const f = await kubeSetup(t, { kubernetes: { ...selector } }, pods);
      if ('imageMapName' in selector) await f.imageMapBuilt('web', new Date('2023-01-01T00:00:00Z'));
      await f.reconcile();
      await f.event(['src/a.txt']);
      await f.reconcile();
      assert.deepEqual(f.updater.calls.map((c) => c.update.target.containerName), expected);
      for (const c of f.updater.calls) {
        assert.equal(c.update.target.podName, 'p1');
        assert.equal(c.update.target.namespace, 'default');
        assert.ok(!c.update.target.containerId.includes('://'));
      }
      const st = (await f.get()).status!;
      assert.deepEqual(st.containers?.map((c) => c.containerName) ?? [], expected);
      await f.steadyState();
    });
  }
});

test('kubernetes: a crash-looping container fails with CrashLoopBackOff, and a terminated pod with Terminated', async (t) => {
  const f = await kubeSetup(t, { kubernetes: { discoveryName: 'kd', containerName: 'web' } }, [
    pod('p1', [{ name: 'web', id: 'docker://w1', image: 'web:1', state: { waiting: { reason: 'CrashLoopBackOff' } } }]),
  ]);
  await f.reconcile();
  await f.event(['src/a.txt']);
  await f.reconcile();
  assert.deepEqual(
    { reason: (await f.get()).status!.failed?.reason, message: (await f.get()).status!.failed?.message },
    { reason: 'CrashLoopBackOff', message: 'Cannot live update because container crashing. Pod: p1' },
  );
  await f.steadyState();

  // Sticky for that container id even when it runs again; a new container id starts fresh.
  await f.setStatus<KubernetesDiscovery>('KubernetesDiscovery', 'kd', { pods: [pod('p1', [{ name: 'web', id: 'docker://w1', image: 'web:1' }])] });
  await f.reconcile();
  assert.equal((await f.get()).status!.failed?.reason, 'CrashLoopBackOff');
  await f.setStatus<KubernetesDiscovery>('KubernetesDiscovery', 'kd', {
    pods: [pod('p1', [{ name: 'web', id: 'docker://w2', image: 'web:1' }])],
  });
  await f.reconcile();
  assert.equal((await f.get()).status!.failed, undefined);
  assert.equal(f.updater.calls.length, 1);
  await f.steadyState();

  await f.setStatus<KubernetesDiscovery>('KubernetesDiscovery', 'kd', {
    pods: [pod('p1', [{ name: 'web', id: 'docker://w2', image: 'web:1', state: { terminated: { exitCode: 0 } } }], { phase: 'Succeeded' })],
  });
  await f.event(['src/a.txt']);
  await f.reconcile();
  assert.deepEqual(
    { reason: (await f.get()).status!.failed?.reason, message: (await f.get()).status!.failed?.message },
    { reason: 'Terminated', message: 'Container for live update is stopped. Pod name: p1' },
  );
  await f.steadyState();
});

test('kubernetes: a pod replaced by a new one is resynced with the tracked changes', async (t) => {
  const f = await kubeSetup(t, { kubernetes: { discoveryName: 'kd', image: 'web' } }, [pod('p1', [{ name: 'web', id: 'docker://w1', image: 'web:1' }])]);
  await f.reconcile();
  await f.event(['src/a.txt']);
  await f.reconcile();
  await f.setStatus<KubernetesDiscovery>('KubernetesDiscovery', 'kd', { pods: [pod('p2', [{ name: 'web', id: 'docker://w9', image: 'web:2' }])] });
  await f.reconcile();
  assert.deepEqual(f.updater.calls.map((c) => `${c.update.target.podName}/${c.update.target.containerId}`), ['p1/w1', 'p2/w9']);
  assert.deepEqual((await f.get()).status!.containers!.map((c) => c.podName), ['p2']);
  await f.steadyState();
});

test('a batch whose seenFiles were shortened to a directory copies the files it changed, when the daemon kept them', async (t) => {
  const batches = new FileBatches();
  const f = await newFixture(t, { batches });
  await f.fileWatch();
  await f.dockerCompose('c1');
  await f.write({ 'src/old.txt': 'O', 'src/new/a.txt': 'A', 'src/new/b.txt': 'B' });
  await f.liveUpdate();
  await f.reconcile();
  const uid = (await f.client.get<FileWatch>('FileWatch', 'fw'))!.metadata.uid!;

  // Kept: the exact paths, including a deletion, and nothing else of src.
  await f.clock.advance(1000);
  const time = toMicroTime(new Date(f.clock.now().getTime() + 1000));
  batches.record(uid, time, [path.join(f.dir, 'src')], ['src/new/a.txt', 'src/new/b.txt', 'src/gone.txt'].map((p) => path.join(f.dir, p)));
  assert.equal(await f.event(['src']), time);
  await f.reconcile();
  assert.equal(f.updater.calls.length, 1);
  assert.deepEqual(await fileEntries(f.updater.calls[0]!.archiveBytes), { 'app/new/a.txt': 'A', 'app/new/b.txt': 'B' });
  assert.deepEqual(f.updater.calls[0]!.update.deletePaths, ['/app/gone.txt']);

  // Not kept (another process wrote the status, or the daemon restarted): the whole directory.
  await f.event(['src']);
  await f.reconcile();
  assert.equal(f.updater.calls.length, 2);
  assert.deepEqual(Object.keys(await fileEntries(f.updater.calls[1]!.archiveBytes)).sort(), ['app/new/a.txt', 'app/new/b.txt', 'app/old.txt']);
  await f.steadyState();
});
