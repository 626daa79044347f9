/**
 * The KubernetesDiscovery and PodLogStream controllers together against the test cluster, on a
 * discovery shaped as Tilt writes it for a Kubernetes resource (a template that starts the logs
 * at the session's start and leaves the service mesh's containers out): the pod it finds gets
 * a stream with the template's fields, and only the app's lines reach the logs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { apiVersion, type Cluster, type KubernetesDiscovery, type PodLogStream } from '../../../src/apis/index.ts';
import { ClientNodePodLogs, KubeconfigClusters, kubeconfigResolver } from '../../../src/adapters/kubernetes/index.ts';
import { LogBuffer } from '../../../src/util/log-buffer.ts';
import { setup } from '../../../controllers/podlogstream/index.ts';
import { setup as setupDiscovery } from '../../../controllers/kubernetesdiscovery/index.ts';
import { KubeCluster } from '../../fixtures/kube-cluster/index.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { requireDocker, testImages } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';

const run = promisify(execFile);

const printer = (name: string) => ['sh', '-c', `echo "${name} hello"; N=0; trap 'N=$((N+1)); echo "${name} poke $N"' USR1; trap "exit 0" TERM; while true; do sleep 3600 & wait $!; done`];

describe('PodLogStreams of a discovered pod', () => {
  let kube: KubeCluster;
  let kubeconfigPath: string;
  let h: ControllerHarness<ReturnType<typeof setup>>;
  const logs = new LogBuffer();
  const cleanups: Array<() => Promise<void>> = [];
  const lines = () => logs.lines({ resource: 'mesh' }).map((l) => l.line);

  before(async () => {
    await requireDocker();
    kube = await KubeCluster.start();
    kubeconfigPath = await kube.writeKubeconfig(undefined, { context: 'fixture' });
    const client = new ClientNodePodLogs(new KubeconfigClusters({ kubeconfigPath }).resolve().kubeConfig);
    h = await ControllerHarness.start({ after: (fn: () => Promise<void>) => cleanups.push(fn) }, {
      dirPrefix: 'ferry-pls-discovery-test-',
      setup: (mgr) => {
        setupDiscovery(mgr, { resolve: kubeconfigResolver({ kubeconfigPath }), watchRetryMs: 100 });
        return setup(mgr, { podLogs: () => client, logs, persistMs: 50 });
      },
    });
    await h.create<Cluster>({ apiVersion, kind: 'Cluster', metadata: { name: 'default' }, spec: { connection: { kubernetes: { context: 'fixture' } } } });
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await kube.stop();
    await rm(path.dirname(kubeconfigPath), { recursive: true, force: true });
  });

  it('streams the app container of the pod found, not the mesh\'s, from the template\'s time', async () => {
    await kube.createPod({
      name: 'mesh-1',
      labels: { app: 'mesh' },
      containers: [{ name: 'app', image: testImages.busybox, command: printer('app') }, { name: 'istio-proxy', image: testImages.busybox, command: printer('proxy') }],
    });
    const template = { sinceTime: '2020-01-01T00:00:00Z', ignoreContainers: ['istio-init', 'istio-proxy'] };
    await h.create<KubernetesDiscovery>({
      apiVersion,
      kind: 'KubernetesDiscovery',
      metadata: { name: 'mesh', annotations: { 'tilt.dev/resource': 'mesh' } },
      spec: { cluster: 'default', watches: [{ namespace: 'default' }], extraSelectors: [{ matchLabels: { app: 'mesh' } }], podLogStreamTemplateSpec: template },
    });
    const pls = await h.waitObject<PodLogStream>('PodLogStream', 'mesh-default-mesh-1', () => true, 'the discovered pod\'s stream', 30_000);
    assert.deepEqual(pls.spec, { pod: 'mesh-1', namespace: 'default', cluster: 'default', ...template });
    await waitFor(() => lines().includes('app hello'), { message: 'the app\'s line', timeoutMs: 30_000 });
    await h.waitStatus<PodLogStream>('PodLogStream', 'mesh-default-mesh-1', (s) => s.containerStatuses?.[0]?.active === true, 'active');
    await run('docker', ['kill', '-s', 'USR1', kube.containerId('default', 'mesh-1', 'istio-proxy')!]);
    await run('docker', ['kill', '-s', 'USR1', kube.containerId('default', 'mesh-1', 'app')!]);
    await waitFor(() => lines().includes('app poke 1'), { message: 'the app\'s poke', timeoutMs: 20_000 });
    assert.deepEqual(lines(), ['app hello', 'app poke 1'], 'the app alone, unprefixed');
    assert.deepEqual((await h.mustGet<PodLogStream>('PodLogStream', 'mesh-default-mesh-1')).status?.containerStatuses?.map((c) => c.name), ['app']);

    await kube.deletePod('default', 'mesh-1', { gracePeriodSeconds: 0 });
    await waitFor(async () => !(await h.get('PodLogStream', 'mesh-default-mesh-1')), { message: 'the stream deleted with its pod', timeoutMs: 30_000 });
  });
});
