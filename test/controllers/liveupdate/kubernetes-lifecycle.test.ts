// End to end through the Kubernetes path, across pod lifecycles: the KubernetesDiscovery and
// LiveUpdate controllers under one Manager, pods of the test cluster fixture (real Docker
// containers). Pod states reach the LiveUpdate the way they do in the daemon: fixture pod
// status -> KubernetesDiscovery status -> LiveUpdate. FileWatch status is written by the test.
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { toMicroTime, type Cluster, type FileWatch, type ImageMap, type KubernetesDiscovery, type LiveUpdate, type LiveUpdateSpec } from '../../../src/apis/index.ts';
import { FerryClient } from '../../../src/client/index.ts';
import { realClock } from '../../../src/runtime/index.ts';
import { setup as setupLiveUpdate } from '../../../controllers/liveupdate/index.ts';
import { setup as setupDiscovery } from '../../../controllers/kubernetesdiscovery/index.ts';
import { kubernetesUpdaters } from '../../../src/adapters/containers/index.ts';
import { kubeconfigResolver } from '../../../src/adapters/kubernetes/index.ts';
import { KubeCluster, type KubeClusterOptions } from '../../fixtures/kube-cluster/index.ts';
import { cleanupContainers, execIn, readFileIn, requireDocker, testImages } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';
import { recordFileEvent, startControllers, waitLiveUpdate, writeFiles } from './fixture.ts';

after(cleanupContainers);

const sleeper = ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"];
const labels = { app: 'web' };

interface K8sE2E {
  docker: Docker;
  cluster: KubeCluster;
  client: FerryClient;
  dir: string;
  write(files: Record<string, string>): Promise<void>;
  event(files: string[]): Promise<void>;
  waitStatus(pred: (s: NonNullable<LiveUpdate['status']>) => boolean, what: string): Promise<NonNullable<LiveUpdate['status']>>;
  waitDiscovered(pred: (kd: KubernetesDiscovery) => boolean, what: string): Promise<KubernetesDiscovery>;
}

/**
 * start runs a fixture cluster, both controllers, FileWatch `fw`, ImageMap `img` (built a
 * minute ago, so every change made by the test is newer than the build), KubernetesDiscovery
 * `kd` of the pods labelled app=web in Cluster `default` and LiveUpdate `lu` syncing src to /app.
 */
async function start(t: TestContext, clusterOptions: KubeClusterOptions = {}, spec: Partial<LiveUpdateSpec> = {}): Promise<K8sE2E | undefined> {
  const docker = await requireDocker(t);
  if (!docker) return undefined;
  const cluster = await KubeCluster.start({ docker, ...clusterOptions });
  const kubeconfigPath = await cluster.writeKubeconfig(undefined, { context: 'fixture' });
  const { client, dir } = await startControllers(
    t,
    'ferry-lu-k8s-life-',
    (mgr, log) => {
      setupDiscovery(mgr, { log, resolve: kubeconfigResolver({ kubeconfigPath }), watchRetryMs: 100 });
      setupLiveUpdate(mgr, {
        log,
        clock: realClock,
        updaters: { kubernetes: kubernetesUpdaters({ connectionFor: () => ({ key: 'fixture', kubeConfig: cluster.kubeConfig() }), clock: realClock, stepTimeoutMs: 20_000 }) },
        execTimeoutMs: 20_000,
      });
    },
    async () => {
      await cluster.stop();
      await fsp.rm(path.dirname(kubeconfigPath), { recursive: true, force: true });
    },
  );

  const e: K8sE2E = {
    docker,
    cluster,
    client,
    dir,
    write: (files) => writeFiles(dir, files),
    async event(files) {
      await recordFileEvent(client, 'fw', dir, files);
    },
    waitStatus: (pred, what) => waitLiveUpdate(client, 'lu', pred, what, 30_000),
    waitDiscovered: (pred, what) =>
      waitFor(async () => {
        const kd = await client.get<KubernetesDiscovery>('KubernetesDiscovery', 'kd');
        return kd && pred(kd) ? kd : undefined;
      }, { timeoutMs: 30_000, message: what }),
  };

  await client.create<Cluster>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'default' }, spec: { connection: { kubernetes: { context: 'fixture' } } } });
  await client.create<FileWatch>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'fw' }, spec: { watchedPaths: [dir] } });
  await client.create<ImageMap>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ImageMap', metadata: { name: 'img' }, spec: { selector: 'ferry-test/busybox' } });
  const im = (await client.get<ImageMap>('ImageMap', 'img'))!;
  const image = testImages.busybox;
  await client.updateStatus<ImageMap>({
    ...im,
    status: { image, imageFromLocal: image, imageFromCluster: image, buildStartTime: toMicroTime(new Date(Date.now() - 60_000)) },
  });
  await client.create<KubernetesDiscovery>({
    apiVersion: 'tilt.dev/v1alpha1',
    kind: 'KubernetesDiscovery',
    metadata: { name: 'kd' },
    spec: { watches: [{ namespace: 'default' }], extraSelectors: [{ matchLabels: labels }] },
  });
  await client.create<LiveUpdate>({
    apiVersion: 'tilt.dev/v1alpha1',
    kind: 'LiveUpdate',
    metadata: { name: 'lu' },
    spec: {
      basePath: dir,
      selector: { kubernetes: { discoveryName: 'kd', image: 'ferry-test/busybox' } },
      sources: [{ fileWatch: 'fw', imageMap: 'img' }],
      syncs: [{ localPath: 'src', containerPath: '/app' }],
      ...spec,
    },
  });
  return e;
}

const podOf = (kd: KubernetesDiscovery, name: string) => kd.status?.pods?.find((p) => p.name === name);

test('kubernetes: files to sync into a crash-looping container fail the LiveUpdate with CrashLoopBackOff', async (t) => {
  // A long back-off keeps the container in CrashLoopBackOff for the whole test.
  const e = await start(t, { restartBackoffMs: 120_000, maxRestartBackoffMs: 120_000 });
  if (!e) return;
  await e.cluster.createPod({ name: 'crashy', labels, containers: [{ name: 'main', image: testImages.busybox, command: ['sh', '-c', 'exit 1'] }] });
  await e.cluster.waitForPod('default', 'crashy', (p) => p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff');
  await e.waitDiscovered((kd) => podOf(kd, 'crashy')?.containers?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff', 'the discovery to report CrashLoopBackOff');
  // The LiveUpdate has seen the crashed container (it has an id) waiting: no sync will race its start.
  await e.waitStatus((s) => !!s.containers?.[0]?.containerID && s.containers[0].waiting?.reason === 'ContainerWaiting', 'the LiveUpdate to see the container waiting');

  await e.write({ 'src/a.txt': 'a' });
  await e.event(['src/a.txt']);
  const s = await e.waitStatus((s) => !!s.failed, 'the LiveUpdate to fail');
  assert.equal(s.failed?.reason, 'CrashLoopBackOff');
  assert.equal(s.failed?.message, 'Cannot live update because container crashing. Pod: crashy');
  assert.equal(s.containers, undefined);
});

test('kubernetes: changes for a pod whose container has exited fail the LiveUpdate with Terminated', async (t) => {
  const e = await start(t);
  if (!e) return;
  // The job runs until told to finish, so the LiveUpdate sees it running before it exits 0.
  const job = ['sh', '-c', 'while [ ! -e /tmp/done ]; do sleep 0.1; done'];
  await e.cluster.createPod({ name: 'job-1', labels, restartPolicy: 'Never', containers: [{ name: 'main', image: testImages.busybox, command: job }] });
  await e.cluster.waitForPod('default', 'job-1', (p) => p?.status?.phase === 'Running');
  const id = e.cluster.containerId('default', 'job-1', 'main')!;
  await e.waitStatus((s) => s.containers?.[0]?.containerID === id && !s.containers[0].waiting, 'the LiveUpdate to see the job running');
  assert.equal((await execIn(e.docker, id, ['touch', '/tmp/done'])).exitCode, 0);
  await e.cluster.waitForPod('default', 'job-1', (p) => p?.status?.phase === 'Succeeded');
  // A terminated container gets no container status: the LiveUpdate has seen the exit.
  await e.waitStatus((s) => s.containers === undefined, 'the LiveUpdate to see the job finished');

  await e.write({ 'src/a.txt': 'a' });
  await e.event(['src/a.txt']);
  const s = await e.waitStatus((s) => !!s.failed, 'the LiveUpdate to fail');
  assert.equal(s.failed?.reason, 'Terminated');
  assert.equal(s.failed?.message, 'Container for live update is stopped. Pod name: job-1');
  assert.equal(s.containers, undefined);
});

test('kubernetes: a pod replaced by a new one gets the changes since the last build resynced', async (t) => {
  const e = await start(t);
  if (!e) return;
  const { cluster, docker } = e;
  await cluster.createPod({ name: 'web-1', labels, containers: [{ name: 'main', image: testImages.busybox, command: sleeper }] });
  await cluster.waitForPod('default', 'web-1', (p) => p?.status?.phase === 'Running');
  const first = cluster.containerId('default', 'web-1', 'main')!;
  await e.waitStatus((s) => s.containers?.[0]?.containerID === first, 'the LiveUpdate to see web-1');

  await e.write({ 'src/a.txt': 'synced before', 'src/dir/b.txt': 'b' });
  await e.event(['src/a.txt', 'src/dir/b.txt']);
  await waitFor(() => readFileIn(docker, first, '/app/a.txt').then((s) => s === 'synced before'), { timeoutMs: 20_000, message: 'a.txt in web-1' });
  await e.waitStatus((s) => !!s.containers?.[0]?.lastFileTimeSynced, 'web-1 synced');

  await cluster.deletePod('default', 'web-1');
  await cluster.createPod({ name: 'web-2', labels, containers: [{ name: 'main', image: testImages.busybox, command: sleeper }] });
  await cluster.waitForPod('default', 'web-2', (p) => p?.status?.phase === 'Running');
  const second = cluster.containerId('default', 'web-2', 'main')!;
  assert.notEqual(second, first);

  // Nothing changed locally since web-1 was synced: the new container still gets every change
  // newer than the build, because the image it runs does not have them.
  await waitFor(() => readFileIn(docker, second, '/app/a.txt').then((s) => s === 'synced before'), { timeoutMs: 20_000, message: 'a.txt resynced into web-2' });
  assert.equal(await readFileIn(docker, second, '/app/dir/b.txt'), 'b');
  const s = await e.waitStatus((s) => s.containers?.length === 1 && s.containers[0]!.containerID === second && !!s.containers[0]!.lastFileTimeSynced, 'the status to show web-2 synced');
  assert.equal(s.containers![0]!.podName, 'web-2');
  assert.equal(s.failed, undefined);

  // And later changes go to the new pod.
  await e.write({ 'src/a.txt': 'after the replacement' });
  await e.event(['src/a.txt']);
  await waitFor(() => readFileIn(docker, second, '/app/a.txt').then((s) => s === 'after the replacement'), { timeoutMs: 20_000, message: 'the new change in web-2' });
});
