/**
 * `ferry logs` of pods, through the whole daemon: a KubernetesDiscovery finds a pod in the test
 * cluster, the daemon makes its PodLogStream, and what the pod prints is in the resource's logs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, type Daemon } from '../../src/daemon.ts';
import { FerryClient } from '../../src/client/index.ts';
import { apiVersion, type KubernetesDiscovery, type PodLogStream } from '../../src/apis/index.ts';
import { streamLogs } from '../../src/cli/logs.ts';
import { silentLogger } from '../../src/log.ts';
import { KubeCluster } from '../fixtures/kube-cluster/index.ts';
import { requireDocker, testImages } from '../support/docker.ts';
import { waitFor } from '../support/wait.ts';

describe('ferry logs of pods', () => {
  let kube: KubeCluster;
  let daemon: Daemon;
  let client: FerryClient;
  let dataDir: string;

  before(async () => {
    await requireDocker();
    kube = await KubeCluster.start();
    const kubeconfig = await kube.writeKubeconfig(undefined, { context: 'fixture' });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-logs-pods-'));
    daemon = await startDaemon({ dataDir, storage: 'memory', log: silentLogger(), clusterKubeconfig: kubeconfig });
    client = new FerryClient(daemon.kubeConfig);
    await kube.createPod({ name: 'api-1', labels: { app: 'api' }, containers: [{ name: 'main', image: testImages.busybox, command: ['sh', '-c', "echo api says hi; trap 'exit 0' TERM; sleep 3600 & wait"] }] });
  });
  after(async () => {
    client?.close();
    await daemon?.stop();
    await kube?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('streams the pods a KubernetesDiscovery finds into their resource, and stops when the pod goes', async () => {
    await client.create<KubernetesDiscovery>({
      apiVersion,
      kind: 'KubernetesDiscovery',
      metadata: { name: 'api', annotations: { 'tilt.dev/resource': 'api' } },
      spec: { watches: [{ namespace: 'default' }], extraSelectors: [{ matchLabels: { app: 'api' } }] },
    });
    const got = await waitFor(async () => {
      const out: string[] = [];
      await streamLogs(daemon.kubeConfig, { resources: ['api'], source: 'runtime', out: (l) => out.push(l.replace(/ +/g, ' ')) });
      return out.length ? out : undefined;
    }, { timeoutMs: 30_000, message: 'the pod\'s line' });
    assert.deepEqual(got, ['api runtime │ api says hi']);
    const pls = await client.get<PodLogStream>('PodLogStream', 'api-default-api-1');
    assert.equal(pls?.metadata.ownerReferences?.[0]?.name, 'api');

    await kube.deletePod('default', 'api-1');
    await waitFor(async () => !(await client.get('PodLogStream', 'api-default-api-1')), { timeoutMs: 30_000, message: 'the stream deleted with its pod' });
  });
});
