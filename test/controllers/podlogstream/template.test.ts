/**
 * A KubernetesDiscovery's podLogStreamTemplateSpec against the test cluster: the streams it makes
 * get the template's onlyContainers, ignoreContainers and sinceTime, the logs show only what they
 * select, and a change of the template reaches the streams already made.
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
import { setup } from '../../../controllers/podlogstream/index.ts';
import { KubeCluster } from '../../fixtures/kube-cluster/index.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { requireDocker, testImages } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';

const run = promisify(execFile);

/** printer says hello as <name>, then a numbered poke for every USR1, until TERM. */
const printer = (name: string) => ['sh', '-c', `echo "${name} hello"; N=0; trap 'N=$((N+1)); echo "${name} poke $N"' USR1; trap "exit 0" TERM; while true; do sleep 3600 & wait $!; done`];

describe('PodLogStream from a discovery\'s template', () => {
  let kube: KubeCluster;
  let kubeconfigPath: string;
  let h: ControllerHarness<ReturnType<typeof setup>>;
  const logs = new LogBuffer();
  const cleanups: Array<() => Promise<void>> = [];
  const lines = (resource: string) => logs.lines({ resource }).map((l) => l.line);
  const poke = (pod: string, container: string) => run('docker', ['kill', '-s', 'USR1', kube.containerId('default', pod, container)!]);
  const discovery = (name: string, resource: string, template: NonNullable<KubernetesDiscovery['spec']>['podLogStreamTemplateSpec']) =>
    h.create<KubernetesDiscovery>({
      apiVersion,
      kind: 'KubernetesDiscovery',
      metadata: { name, annotations: { 'tilt.dev/resource': resource } },
      spec: { watches: [{ namespace: 'default' }], podLogStreamTemplateSpec: template },
    });
  const containerNames = (s: PodLogStream['status']) => (s?.containerStatuses ?? []).map((c) => c.name);

  before(async () => {
    await requireDocker();
    kube = await KubeCluster.start();
    kubeconfigPath = await kube.writeKubeconfig(undefined, { context: 'fixture' });
    const conn = new KubeconfigClusters({ kubeconfigPath }).resolve();
    const client = new ClientNodePodLogs(conn.kubeConfig);
    h = await ControllerHarness.start({ after: (fn: () => Promise<void>) => cleanups.push(fn) }, {
      dirPrefix: 'ferry-pls-template-test-',
      setup: (mgr) => setup(mgr, { podLogs: () => client, logs, persistMs: 50 }),
    });
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await kube.stop();
    await rm(path.dirname(kubeconfigPath), { recursive: true, force: true });
  });

  it('gives the streams ignoreContainers, then onlyContainers when the template changes', async () => {
    await kube.createPod({ name: 'duo', containers: [{ name: 'main', image: testImages.busybox, command: printer('main') }, { name: 'sidecar', image: testImages.busybox, command: printer('sidecar') }] });
    await kube.waitForPod('default', 'duo', (p) => p?.status.phase === 'Running');
    await discovery('kd', 'duo', { ignoreContainers: ['sidecar'] });
    await h.setStatus<KubernetesDiscovery>('KubernetesDiscovery', 'kd', { pods: [{ name: 'duo', namespace: 'default' }] });

    const pls = await h.waitObject<PodLogStream>('PodLogStream', 'kd-default-duo', () => true, 'created');
    assert.deepEqual(pls.spec, { pod: 'duo', namespace: 'default', ignoreContainers: ['sidecar'] });
    await h.waitStatus<PodLogStream>('PodLogStream', 'kd-default-duo', (s) => s.containerStatuses?.[0]?.active === true, 'active');
    assert.deepEqual(containerNames((await h.mustGet<PodLogStream>('PodLogStream', 'kd-default-duo')).status), ['main'], 'only main is followed');
    await poke('duo', 'sidecar');
    await poke('duo', 'main');
    await waitFor(() => lines('duo').includes('main poke 1'), { message: 'main\'s poke', timeoutMs: 20_000 });
    assert.deepEqual(lines('duo'), ['main hello', 'main poke 1'], 'main alone, without a container prefix, and nothing of the sidecar');

    const kd = await h.mustGet<KubernetesDiscovery>('KubernetesDiscovery', 'kd');
    await h.update<KubernetesDiscovery>({ ...kd, spec: { ...kd.spec!, podLogStreamTemplateSpec: { onlyContainers: ['sidecar'] } } });
    const changed = await h.waitObject<PodLogStream>('PodLogStream', 'kd-default-duo', (o) => !!o.spec?.onlyContainers, 'the template\'s change');
    assert.deepEqual(changed.spec, { pod: 'duo', namespace: 'default', onlyContainers: ['sidecar'] });
    await waitFor(() => lines('duo').includes('sidecar poke 1'), { message: 'the sidecar\'s lines', timeoutMs: 20_000 });
    await h.waitStatus<PodLogStream>('PodLogStream', 'kd-default-duo', (s) => containerNames(s).join() === 'sidecar', 'only the sidecar followed');
    await poke('duo', 'main');
    await poke('duo', 'sidecar');
    await waitFor(() => lines('duo').includes('sidecar poke 2'), { message: 'the sidecar\'s second poke', timeoutMs: 20_000 });
    assert.deepEqual(lines('duo'), ['main hello', 'main poke 1', 'sidecar hello', 'sidecar poke 1', 'sidecar poke 2']);
    await h.steadyState('podlogstream', 'PodLogStream', 'kd-default-duo', { snapshot: () => lines('duo').length, what: 'no line printed again' });
  });

  it('gives the streams sinceTime: nothing printed before it is shown', async () => {
    await kube.createPod({ name: 'late', containers: [{ name: 'main', image: testImages.busybox, command: printer('late') }] });
    await kube.waitForPod('default', 'late', (p) => p?.status.phase === 'Running');
    const hello = await waitFor(async () => {
      const { stdout } = await run('docker', ['logs', '-t', kube.containerId('default', 'late', 'main')!]);
      return stdout.split('\n').find((l) => l.endsWith(' late hello'));
    }, { message: 'the container\'s first line' });
    // The template's time is the next whole second after the first line (Kubernetes times are whole seconds).
    const sinceTime = new Date(Math.floor(Date.parse(hello.split(' ')[0]) / 1000) * 1000 + 1000).toISOString().replace('.000Z', 'Z');
    await waitFor(() => Date.now() > Date.parse(sinceTime) + 10, { message: 'the clock past sinceTime' });
    await poke('late', 'main');

    await discovery('kd-late', 'late', { sinceTime });
    await h.setStatus<KubernetesDiscovery>('KubernetesDiscovery', 'kd-late', { pods: [{ name: 'late', namespace: 'default' }] });
    const pls = await h.waitObject<PodLogStream>('PodLogStream', 'kd-late-default-late', () => true, 'created');
    assert.deepEqual(pls.spec, { pod: 'late', namespace: 'default', sinceTime });
    await waitFor(() => lines('late').length > 0, { message: 'the line after sinceTime', timeoutMs: 20_000 });
    assert.deepEqual(lines('late'), ['late poke 1'], 'the line before sinceTime is not shown');
    assert.equal(kube.podLogRequests().find((r) => r.pod === 'late')?.sinceTime, sinceTime, 'the API was asked from sinceTime');
  });
});
