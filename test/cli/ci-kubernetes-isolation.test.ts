/**
 * `ferry ci` (the real command) beside a dev daemon running the Kubernetes example on the test
 * cluster fixture: ci deploys into a namespace of its own, is ready only after its own build,
 * deletes that namespace at the end, and leaves the dev Deployment and its pod untouched. An
 * object that names its namespace and existed before the run is left in place; one the run
 * created is deleted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, type Daemon } from '../../src/daemon.ts';
import { FerryClient } from '../../src/client/client.ts';
import { applyOne } from '../../src/cli/apply.ts';
import { readManifests } from '../../src/cli/manifests.ts';
import { silentLogger } from '../../src/log.ts';
import type { KubernetesDiscovery } from '../../src/apis/index.ts';
import { KubeCluster, type KubeObject } from '../fixtures/kube-cluster/index.ts';
import { cleanupContainers, requireDocker, testImages } from '../support/docker.ts';
import { ferryBin, runCommand } from '../support/daemon.ts';
import { waitFor } from '../support/wait.ts';

const example = path.resolve(import.meta.dirname, '../../deploy/examples/kubernetes');

/** extra is applied by ci only: a ConfigMap that exists before the run and one that does not, both naming their namespace. */
const extra = `apiVersion: tilt.dev/v1alpha1
kind: KubernetesApply
metadata: {name: settings}
spec:
  yaml: |
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: shared, namespace: default}
    data: {from: ci}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: ci-made, namespace: default}
    data: {from: ci}
`;

describe('ferry ci beside a dev daemon on the Kubernetes example', () => {
  let kube: KubeCluster;
  let kubeconfig: string;
  let dir: string;
  let dataDir: string;
  let dev: Daemon;
  let client: FerryClient;
  const env = { EXAMPLE_BASE_IMAGE: testImages.busybox };
  before(async () => {
    const docker = await requireDocker();
    kube = await KubeCluster.start({ docker });
    kubeconfig = await kube.writeKubeconfig();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-ci-k8s-beside-'));
    fs.cpSync(example, dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'extra.yaml'), extra);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-ci-k8s-dev-'));
    process.env.EXAMPLE_BASE_IMAGE = env.EXAMPLE_BASE_IMAGE;
    dev = await startDaemon({ dataDir, storage: 'memory', log: silentLogger(), cwd: dir, clusterKubeconfig: kubeconfig });
    client = new FerryClient(dev.kubeConfig);
  });
  after(async () => {
    if (client) {
      for (const m of readManifests([path.join(dir, 'ferry.yaml')]).reverse()) await client.delete(m.object.kind!, m.object.metadata.name!).catch(() => undefined);
      await waitFor(async () => !(await client.get('KubernetesApply', 'k8s-web')), { timeoutMs: 30_000 }).catch(() => undefined);
      client.close();
    }
    await dev?.stop();
    await kube?.stop();
    await cleanupContainers();
    delete process.env.EXAMPLE_BASE_IMAGE;
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** devPod is the dev Deployment's running pod, as the dev daemon's discovery reports it. */
  const devPod = () =>
    waitFor(
      async () => {
        const kd = await client.get<KubernetesDiscovery>('KubernetesDiscovery', 'k8s-web');
        const pods = (kd?.status?.pods ?? []).filter((p) => !p.deleting && p.containers?.some((c) => c.state?.running && c.ready));
        return pods.length === 1 ? pods[0]! : undefined;
      },
      { timeoutMs: 120_000, message: 'the dev pod' },
    );

  it('runs in its own namespace, deletes it, and leaves the dev Deployment, its pod and what existed before in place', async () => {
    for (const m of readManifests([path.join(dir, 'ferry.yaml')])) await applyOne(client, m);
    const pod = await devPod();
    assert.equal(pod.namespace, 'default');
    const deployment = kube.store.get('deployments', 'default', 'ferry-example-k8s')!;
    const devContainer = kube.containerId('default', pod.name, 'web');
    const shared = kube.setConfigMap('default', 'shared', { from: 'dev' });

    // Every pod created while ci runs, by namespace.
    const created: KubeObject[] = [];
    const stopWatching = kube.store.watch('pods', kube.store.resourceVersion, () => true, (type, obj) => {
      if (type === 'ADDED') created.push(obj);
    });
    const ci = await runCommand(
      process.execPath,
      [ferryBin, 'ci', '-f', 'ferry.yaml', '-f', 'extra.yaml', '--timeout', '2m', '--cluster-kubeconfig', kubeconfig],
      { cwd: dir, env, timeoutMs: 180_000 },
    );
    stopWatching();
    const out = ci.stdout + ci.stderr;
    assert.equal(ci.code, 0, out);
    assert.match(out, /SUCCESS\. All workloads are healthy\./);
    const ns = /namespace\/(ferry-ci-[0-9a-f]+) created/.exec(out)?.[1];
    assert.ok(ns, `ci creates its own namespace:\n${out}`);
    const built = out.indexOf('Build succeeded');
    const ready = out.indexOf('k8s-web:runtime: ready');
    assert.ok(built >= 0 && ready > built, `ready only after its own build:\n${out}`);
    assert.deepEqual([...new Set(created.map((p) => p.metadata.namespace))], [ns], `ci's pods ran in its namespace only:\n${out}`);
    assert.match(out, new RegExp(`namespace/${ns} deleted`));
    assert.equal(kube.store.get('namespaces', undefined, ns), undefined, 'the namespace is gone');
    assert.deepEqual(kube.listPods(ns), []);

    const after = kube.store.get('deployments', 'default', 'ferry-example-k8s');
    assert.equal(after?.metadata.uid, deployment.metadata.uid, 'the dev Deployment is still there');
    assert.equal(after?.metadata.generation, deployment.metadata.generation, 'and unchanged');
    assert.equal(kube.getPod('default', pod.name)?.metadata.uid, pod.uid, 'the dev pod is still there');
    assert.equal(kube.containerId('default', pod.name, 'web'), devContainer, 'with the same container');
    assert.equal((await devPod()).name, pod.name);

    assert.match(out, /Left in place, as they existed before this run: ConfigMap default\/shared$/m);
    assert.equal(kube.store.get('configmaps', 'default', 'shared')?.metadata.uid, shared.metadata.uid, 'what existed before is left in place');
    assert.equal(kube.store.get('configmaps', 'default', 'ci-made'), undefined, 'what ci created is deleted');
    assert.doesNotMatch(out, /warn/i, 'a healthy run prints no warning');
  });
});
