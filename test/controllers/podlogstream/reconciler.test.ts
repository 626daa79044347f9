/**
 * PodLogStream against the test cluster (pods backed by real containers, logs served by its
 * pod log API): a container prints, is restarted by the kubelet, the daemon restarts between
 * lines; a missing pod is reported; a KubernetesDiscovery's pods get their streams.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { apiVersion, type KubernetesDiscovery, type PodLogStream } from '../../../src/apis/index.ts';
import { ClientNodePodLogs, KubeconfigClusters } from '../../../src/adapters/kubernetes/index.ts';
import { LogBuffer } from '../../../src/util/log-buffer.ts';
import { positionAnnotation, setup } from '../../../controllers/podlogstream/index.ts';
import { KubeCluster } from '../../fixtures/kube-cluster/index.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { requireDocker, testImages } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';

const run = promisify(execFile);

// Each run prints two lines tagged with a random id, then a numbered line for every USR1, until TERM.
const script = [
  'R=$(head -c4 /dev/urandom | od -An -tx1 | tr -d " \\n")',
  'echo "run $R one"',
  'echo "run $R two"',
  'N=0',
  'trap \'N=$((N+1)); echo "run $R poke $N"\' USR1',
  'trap "exit 0" TERM',
  'while true; do sleep 3600 & wait $!; done',
].join('; ');

describe('PodLogStream', () => {
  let kube: KubeCluster;
  let kubeconfigPath: string;
  let h: ControllerHarness<ReturnType<typeof setup>>;
  const logs = new LogBuffer();
  const cleanups: Array<() => Promise<void>> = [];
  const lines = (resource: string) => logs.lines({ resource }).map((l) => l.line);
  const poke = () => run('docker', ['kill', '-s', 'USR1', kube.containerId('default', 'web', 'main')!]);

  before(async () => {
    await requireDocker();
    kube = await KubeCluster.start();
    kubeconfigPath = await kube.writeKubeconfig(undefined, { context: 'fixture' });
    const conn = new KubeconfigClusters({ kubeconfigPath }).resolve();
    const client = new ClientNodePodLogs(conn.kubeConfig);
    h = await ControllerHarness.start({ after: (fn: () => Promise<void>) => cleanups.push(fn) }, {
      dirPrefix: 'ferry-pls-test-',
      setup: (mgr) => setup(mgr, { podLogs: () => client, logs, persistMs: 50 }),
    });
    await kube.createPod({ name: 'web', containers: [{ name: 'main', image: testImages.busybox, command: ['sh', '-c', script] }] });
    await kube.waitForPod('default', 'web', (p) => p?.status.phase === 'Running');
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await kube.stop();
    await rm(path.dirname(kubeconfigPath), { recursive: true, force: true });
  });

  it('follows a pod\'s container, and marks and follows it when the kubelet restarts it', async () => {
    await h.create<PodLogStream>({
      apiVersion,
      kind: 'PodLogStream',
      metadata: { name: 'web-pod', annotations: { 'tilt.dev/resource': 'web' } },
      spec: { pod: 'web', namespace: 'default' },
    });
    await waitFor(() => lines('web').length === 2, { message: 'the first run\'s lines', timeoutMs: 20_000 });
    assert.equal(logs.lines({ resource: 'web' })[0].source, 'PodLogStream/web-pod');
    await h.waitStatus<PodLogStream>('PodLogStream', 'web-pod', (s) => s.containerStatuses?.[0]?.active === true, 'active');

    await kube.restartContainer('default', 'web', 'main');
    await waitFor(() => lines('web').length === 5, { message: 'the restarted container\'s lines', timeoutMs: 20_000 });
    assert.equal(lines('web')[2], '[container restarted]');
    const printed = lines('web').filter((l) => !l.startsWith('['));
    assert.equal(new Set(printed).size, 4, `no line twice: ${printed.join(' | ')}`);
    assert.equal(new Set(printed.map((l) => l.split(' ')[1])).size, 2, 'two runs');
    await h.waitObject<PodLogStream>('PodLogStream', 'web-pod', (o) => (o.metadata.annotations?.[positionAnnotation] ?? '').includes(kube.containerId('default', 'web', 'main')!), 'the position recorded');
    await h.steadyState('podlogstream', 'PodLogStream', 'web-pod', { snapshot: () => lines('web').length, what: 'no line printed again' });
  });

  it('resumes after a daemon restart without printing a line twice', async () => {
    await poke();
    await waitFor(() => lines('web').some((l) => l.endsWith('poke 1')), { message: 'the first poke' });
    await h.stop();
    const before = lines('web').length;
    const stored = await h.mustGet<PodLogStream>('PodLogStream', 'web-pod');
    assert.ok(stored.metadata.annotations?.[positionAnnotation], 'the read position is recorded');
    await poke();
    await h.restart();
    await waitFor(() => lines('web').length === before + 1, { message: 'the poke printed while stopped', timeoutMs: 20_000 });
    await poke();
    await waitFor(() => lines('web').length === before + 2, { message: 'a poke after the restart', timeoutMs: 20_000 });
    const printed = lines('web').filter((l) => !l.startsWith('['));
    assert.equal(new Set(printed).size, printed.length, `no line twice: ${printed.join(' | ')}`);
    assert.deepEqual(lines('web').slice(before).map((l) => l.replace(/^run \w+ /, '')), ['poke 2', 'poke 3']);
  });

  it('reports a pod that does not exist in status, and keeps running', async () => {
    await h.create<PodLogStream>({ apiVersion, kind: 'PodLogStream', metadata: { name: 'ghost' }, spec: { pod: 'nope', namespace: 'default' } });
    const s = await h.waitStatus<PodLogStream>('PodLogStream', 'ghost', (st) => !!st.error, 'an error');
    assert.equal(s.status?.error, 'pod not found: default/nope');
    await poke();
    await waitFor(() => lines('web').some((l) => l.endsWith('poke 4')), { message: 'the other stream still runs' });
  });

  it('makes a stream for each pod a KubernetesDiscovery reports, and deletes it when the pod goes', async () => {
    const kd = await h.create<KubernetesDiscovery>({
      apiVersion,
      kind: 'KubernetesDiscovery',
      metadata: { name: 'kd', annotations: { 'tilt.dev/resource': 'api' } },
      spec: { watches: [{ namespace: 'default' }] },
    });
    await h.setStatus<KubernetesDiscovery>('KubernetesDiscovery', 'kd', { pods: [{ name: 'web', namespace: 'default' }] });
    const pls = await h.waitObject<PodLogStream>('PodLogStream', 'kd-default-web', () => true, 'created');
    assert.equal(pls.metadata.annotations?.['tilt.dev/resource'], 'api');
    assert.deepEqual(pls.spec, { pod: 'web', namespace: 'default' });
    assert.equal(pls.metadata.ownerReferences?.[0]?.uid, kd.metadata.uid);
    await waitFor(() => lines('api').length >= 2, { message: 'the pod\'s lines under the discovery\'s resource' });

    await h.setStatus<KubernetesDiscovery>('KubernetesDiscovery', 'kd', { pods: [] });
    await waitFor(async () => !(await h.get('PodLogStream', 'kd-default-web')), { message: 'the stream deleted' });
  });
});
