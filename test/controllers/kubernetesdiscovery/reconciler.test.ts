import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { Cluster } from '../../../src/apis/cluster.ts';
import type { KubernetesDiscovery, Pod } from '../../../src/apis/kubernetesdiscovery.ts';
import { apiVersion, type KubeObject } from '../../../src/apis/meta.ts';
import type { Manager } from '../../../src/runtime/index.ts';
import { setup, type KubernetesDiscoveryReconciler } from '../../../controllers/kubernetesdiscovery/index.ts';
import { kubeconfigResolver } from '../../../src/adapters/kubernetes/index.ts';
import { KubeCluster } from '../../fixtures/kube-cluster/index.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { requireDocker, testImages } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';

const run = promisify(execFile);
const sleeper = ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"];


/**
 * Fixture runs the KubernetesDiscovery controller on the controller test harness, against the
 * test cluster (pods backed by real containers) reached through a kubeconfig file.
 */
class Fixture {
  private readonly cleanups: Array<() => Promise<void>> = [];
  private h!: ControllerHarness<ReturnType<typeof setup>>;
  private constructor(
    readonly kube: KubeCluster,
    readonly kubeconfigPath: string,
  ) {}

  get mgr(): Manager {
    return this.h.mgr;
  }

  get reconciler(): KubernetesDiscoveryReconciler {
    return this.h.wired.reconciler;
  }

  static async start(): Promise<Fixture> {
    const kube = await KubeCluster.start();
    const kubeconfigPath = await kube.writeKubeconfig(undefined, { context: 'fixture' });
    const f = new Fixture(kube, kubeconfigPath);
    f.h = await ControllerHarness.start({ after: (fn: () => Promise<void>) => f.cleanups.push(fn) }, {
      setup: (mgr) => setup(mgr, { resolve: kubeconfigResolver({ kubeconfigPath }), watchRetryMs: 100 }),
    });
    return f;
  }

  async create<T extends KubeObject>(obj: T): Promise<T> {
    return this.h.create({ apiVersion, ...obj });
  }

  async kd(name: string): Promise<KubernetesDiscovery | undefined> {
    return this.h.get<KubernetesDiscovery>('KubernetesDiscovery', name);
  }

  async waitKD(name: string, pred: (kd: KubernetesDiscovery) => boolean, message: string): Promise<KubernetesDiscovery> {
    return waitFor(async () => {
      const kd = await this.kd(name);
      return kd && pred(kd) ? kd : undefined;
    }, { timeoutMs: 30_000, message });
  }

  /** steadyState reconciles once more and returns the resourceVersion before and after. */
  async steadyState(name: string): Promise<{ before?: string; after?: string }> {
    await this.h.settle();
    const before = (await this.kd(name))?.metadata.resourceVersion;
    await this.h.reconcile('kubernetesdiscovery', name);
    const after = (await this.kd(name))?.metadata.resourceVersion;
    return { before, after };
  }

  async close(): Promise<void> {
    for (const fn of this.cleanups.reverse()) await fn();
    await this.kube.stop();
    await rm(path.dirname(this.kubeconfigPath), { recursive: true, force: true });
  }
}

function podNames(kd: KubernetesDiscovery): string[] {
  return (kd.status?.pods ?? []).map((p) => p.name).sort();
}

function pod(kd: KubernetesDiscovery, name: string): Pod | undefined {
  return kd.status?.pods?.find((p) => p.name === name);
}

describe('KubernetesDiscovery against the test cluster', () => {
  let f: Fixture;
  before(async () => {
    await requireDocker();
    f = await Fixture.start();
    await f.create<Cluster>({ kind: 'Cluster', metadata: { name: 'default' }, spec: { connection: { kubernetes: { context: 'fixture' } } } });
  });
  after(async () => {
    await f?.close();
  });

  test('pods owned by a watched Deployment (through its ReplicaSet) appear with their containers, and disappear', async () => {
    const deploy = f.kube.createDeployment({ name: 'web', namespace: 'apps' });
    const rs = f.kube.createReplicaSet({ name: 'web-5d8f', namespace: 'apps', owner: deploy, labels: { app: 'web', 'pod-template-hash': '5d8f' } });
    const ownerRef = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f', uid: rs.metadata.uid, controller: true };
    await f.kube.createPod({ namespace: 'apps', name: 'web-5d8f-aaaaa', labels: { app: 'web', 'pod-template-hash': '5d8f' }, ownerReferences: [ownerRef], containers: [{ name: 'app', image: testImages.busybox, command: sleeper }] });
    await f.kube.createPod({ namespace: 'apps', name: 'unrelated', labels: { app: 'web' }, containers: [{ name: 'app', image: testImages.busybox, command: sleeper }] });

    await f.create<KubernetesDiscovery>({ kind: 'KubernetesDiscovery', metadata: { name: 'web' }, spec: { watches: [{ namespace: 'apps', name: 'web', uid: deploy.metadata.uid }] } });
    const kd = await f.waitKD('web', (k) => pod(k, 'web-5d8f-aaaaa')?.containers?.[0]?.state?.running !== undefined, 'the owned pod running');
    assert.deepEqual(podNames(kd), ['web-5d8f-aaaaa'], 'only the pod the Deployment owns');
    const p = pod(kd, 'web-5d8f-aaaaa')!;
    assert.equal(p.namespace, 'apps');
    assert.equal(p.phase, 'Running');
    assert.equal(p.ownerName, 'web-5d8f');
    assert.equal(p.podTemplateSpecHash, '5d8f');
    assert.equal(p.ancestorUID, deploy.metadata.uid, 'found through the watched Deployment');
    assert.equal(p.deleting, false);
    assert.ok(p.uid && p.createdAt);
    const c = p.containers![0];
    assert.equal(c.name, 'app');
    assert.equal(c.image, testImages.busybox);
    assert.equal(c.id, f.kube.containerId('apps', 'web-5d8f-aaaaa', 'app'), 'the Docker id, without docker://');
    assert.doesNotMatch(c.id!, /:\/\//);
    assert.equal(c.ready, true);
    assert.equal(c.restarts, 0);
    assert.ok(kd.status!.monitorStartTime);
    assert.equal(kd.status!.monitorError, undefined);

    let steady = await f.steadyState('web');
    assert.equal(steady.after, steady.before);

    await f.kube.createPod({ namespace: 'apps', name: 'web-5d8f-bbbbb', labels: { app: 'web' }, ownerReferences: [ownerRef], containers: [{ name: 'app', image: testImages.busybox, command: sleeper }] });
    await f.waitKD('web', (k) => podNames(k).length === 2, 'a second pod appears');

    await f.kube.deletePod('apps', 'web-5d8f-aaaaa');
    const after = await f.waitKD('web', (k) => podNames(k).join() === 'web-5d8f-bbbbb', 'the deleted pod disappears');
    assert.equal(after.status!.pods!.length, 1);
    await f.waitKD('web', (k) => pod(k, 'web-5d8f-bbbbb')?.containers?.[0]?.state?.running !== undefined, 'second pod running');
    steady = await f.steadyState('web');
    assert.equal(steady.after, steady.before);
  });

  test('extra selectors pick pods by label; other pods and other namespaces stay out', async () => {
    await f.kube.createPod({ namespace: 'sel', name: 'api-1', labels: { app: 'api', tier: 'backend' }, containers: [{ name: 'api', image: testImages.busybox, command: sleeper }] });
    await f.kube.createPod({ namespace: 'sel', name: 'db-1', labels: { app: 'db' }, containers: [{ name: 'db', image: testImages.busybox, command: sleeper }] });
    await f.kube.createPod({ namespace: 'sel-other', name: 'api-elsewhere', labels: { app: 'api' }, containers: [{ name: 'api', image: testImages.busybox, command: sleeper }] });

    await f.create<KubernetesDiscovery>({
      kind: 'KubernetesDiscovery',
      metadata: { name: 'api' },
      spec: {
        watches: [{ namespace: 'sel' }],
        extraSelectors: [{ matchLabels: { app: 'api' } }, { matchExpressions: [{ key: 'tier', operator: 'In', values: ['cache'] }] }],
      },
    });
    let kd = await f.waitKD('api', (k) => podNames(k).length > 0 && k.status?.running !== undefined, 'selected pods');
    assert.deepEqual(podNames(kd), ['api-1']);
    assert.equal(pod(kd, 'api-1')!.ancestorUID, undefined, 'a label match has no ancestor');

    // A label change brings a pod in.
    f.kube.setPodLabels('sel', 'db-1', { app: 'db', tier: 'cache' });
    kd = await f.waitKD('api', (k) => podNames(k).length === 2, 'relabelled pod selected');
    assert.deepEqual(podNames(kd), ['api-1', 'db-1']);
    await f.waitKD('api', (k) => (k.status?.pods ?? []).every((p) => p.containers?.[0]?.state?.running), 'both running');
    const steady = await f.steadyState('api');
    assert.equal(steady.after, steady.before);
  });

  test('container states: waiting, running, crash-looping, terminated; a restarted container changes id', async () => {
    await f.kube.createPod({ namespace: 'states', name: 'crasher', labels: { app: 'states' }, containers: [{ name: 'c', image: testImages.busybox, command: ['sh', '-c', 'exit 2'] }] });
    await f.kube.createPod({ namespace: 'states', name: 'done', labels: { app: 'states' }, restartPolicy: 'Never', containers: [{ name: 'c', image: testImages.busybox, command: ['sh', '-c', 'exit 3'] }] });
    await f.kube.createPod({ namespace: 'states', name: 'noimage', labels: { app: 'states' }, containers: [{ name: 'c', image: 'ferry-test/not-there:1' }] });
    await f.kube.createPod({ namespace: 'states', name: 'runner', labels: { app: 'states' }, containers: [{ name: 'c', image: testImages.busybox, command: sleeper }] });
    await f.create<KubernetesDiscovery>({ kind: 'KubernetesDiscovery', metadata: { name: 'states' }, spec: { watches: [{ namespace: 'states' }], extraSelectors: [{ matchLabels: { app: 'states' } }] } });

    let kd = await f.waitKD('states', (k) => {
      const c = pod(k, 'crasher')?.containers?.[0];
      return c?.state?.waiting?.reason === 'CrashLoopBackOff' && (c.restarts ?? 0) >= 1;
    }, 'a crash loop, with its restarts counted');
    const crasher = pod(kd, 'crasher')!;
    assert.equal(crasher.status, 'CrashLoopBackOff');
    assert.ok(crasher.errors?.some((e) => e.startsWith('CrashLoopBackOff')), `errors: ${JSON.stringify(crasher.errors)}`);

    kd = await f.waitKD('states', (k) => pod(k, 'done')?.containers?.[0]?.state?.terminated !== undefined, 'terminated');
    const done = pod(kd, 'done')!.containers![0].state!.terminated!;
    assert.equal(done.exitCode, 3);
    assert.ok(done.finishedAt);
    assert.equal(pod(kd, 'done')!.phase, 'Failed');

    kd = await f.waitKD('states', (k) => pod(k, 'noimage')?.containers?.[0]?.state?.waiting !== undefined, 'waiting for an image');
    assert.match(pod(kd, 'noimage')!.containers![0].state!.waiting!.reason!, /ErrImagePull|ImagePullBackOff/);
    assert.ok((pod(kd, 'noimage')!.errors ?? []).length > 0);

    kd = await f.waitKD('states', (k) => pod(k, 'runner')?.containers?.[0]?.state?.running !== undefined, 'running');
    const oldId = pod(kd, 'runner')!.containers![0].id!;
    // The container dies; the pod's restart policy starts a new one, with a new id.
    await run('docker', ['kill', oldId]);
    kd = await f.waitKD('states', (k) => {
      const c = pod(k, 'runner')?.containers?.[0];
      return !!c?.id && c.id !== oldId && c.state?.running !== undefined;
    }, 'the restarted container with its new id');
    assert.equal(pod(kd, 'runner')!.containers![0].id, f.kube.containerId('states', 'runner', 'c'));
    assert.equal(pod(kd, 'runner')!.containers![0].restarts, 1);
    assert.equal(pod(kd, 'runner')!.baselineRestartCount, 0);

    // Once the pods that keep changing are gone, nothing changes.
    await f.kube.deletePod('states', 'crasher');
    await f.kube.deletePod('states', 'noimage');
    await f.waitKD('states', (k) => podNames(k).join() === 'done,runner', 'only the settled pods left');
    const steady = await f.steadyState('states');
    assert.equal(steady.after, steady.before);
  });

  test('pods keep flowing after the watch breaks and its history is gone', async () => {
    await f.kube.createPod({ namespace: 'flaky', name: 'first', labels: { app: 'flaky' }, containers: [{ name: 'c', image: testImages.busybox, command: sleeper }] });
    await f.create<KubernetesDiscovery>({ kind: 'KubernetesDiscovery', metadata: { name: 'flaky' }, spec: { watches: [{ namespace: 'flaky' }], extraSelectors: [{ matchLabels: { app: 'flaky' } }] } });
    await f.waitKD('flaky', (k) => podNames(k).join() === 'first', 'first pod');

    f.kube.compactHistory();
    f.kube.closeWatches();
    await f.kube.createPod({ namespace: 'flaky', name: 'second', labels: { app: 'flaky' }, containers: [{ name: 'c', image: testImages.busybox, command: sleeper }] });
    await f.kube.deletePod('flaky', 'first');
    const kd = await f.waitKD('flaky', (k) => podNames(k).join() === 'second' && !!pod(k, 'second')?.containers?.[0]?.state?.running, 'the change made while the watch was down');
    assert.equal(kd.status!.monitorError, undefined);
    const steady = await f.steadyState('flaky');
    assert.equal(steady.after, steady.before);
  });

  test('deleting a KubernetesDiscovery stops its pod watch', async () => {
    await f.create<KubernetesDiscovery>({ kind: 'KubernetesDiscovery', metadata: { name: 'short-lived' }, spec: { watches: [{ namespace: 'short' }] } });
    await f.waitKD('short-lived', (k) => k.status?.running !== undefined, 'running on an empty namespace');
    await f.mgr.client.delete('KubernetesDiscovery', 'short-lived');
    await waitFor(async () => (await f.kd('short-lived')) === undefined, { message: 'deleted' });
    await waitFor(() => f.reconciler.watchedNamespaces().every((ns) => ns !== 'short'), { message: 'the namespace is no longer watched' });
  });

  test('a missing Cluster makes it wait; an unknown context is a monitorError', async () => {
    await f.create<KubernetesDiscovery>({ kind: 'KubernetesDiscovery', metadata: { name: 'elsewhere' }, spec: { cluster: 'nowhere', watches: [{ namespace: 'default' }] } });
    let kd = await f.waitKD('elsewhere', (k) => k.status?.waiting !== undefined, 'waiting for the cluster');
    assert.match(kd.status!.waiting!.reason, /nowhere/);
    assert.equal(kd.status!.monitorError, undefined);

    await f.create<Cluster>({ kind: 'Cluster', metadata: { name: 'nowhere' }, spec: { connection: { kubernetes: { context: 'no-such-context' } } } });
    kd = await f.waitKD('elsewhere', (k) => !!k.status?.monitorError, 'monitorError');
    assert.match(kd.status!.monitorError!, /no-such-context/);
    const steady = await f.steadyState('elsewhere');
    assert.equal(steady.after, steady.before);
  });

  test('the kubeconfig the Cluster status names is used; a rejected connection is a monitorError', async () => {
    const file = path.join(path.dirname(f.kubeconfigPath), 'bad-token');
    await writeFile(file, f.kube.kubeconfigYaml({ context: 'fixture' }).replace(f.kube.token, 'not-the-token'), { mode: 0o600 });
    const cluster = await f.create<Cluster>({ kind: 'Cluster', metadata: { name: 'badtoken' }, spec: { connection: { kubernetes: {} } } });
    await f.mgr.client.updateStatus<Cluster>({ ...cluster, status: { connection: { kubernetes: { configPath: file, context: 'fixture' } } } });
    await f.create<KubernetesDiscovery>({ kind: 'KubernetesDiscovery', metadata: { name: 'rejected' }, spec: { cluster: 'badtoken', watches: [{ namespace: 'default' }] } });
    const kd = await f.waitKD('rejected', (k) => !!k.status?.monitorError, 'monitorError');
    assert.match(kd.status!.monitorError!, /namespace "default"/);
    assert.equal(kd.status!.running, undefined);
    assert.match(kd.status!.monitorError!, /Unauthorized/);
    assert.doesNotMatch(kd.status!.monitorError!, /\n/);
  });
});
