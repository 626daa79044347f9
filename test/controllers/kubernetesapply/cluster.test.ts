// End to end on the test cluster fixture: the KubernetesApply controller applies through
// client-node (the daemon's edge, kubernetesTargets) and the fixture stores what it got.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import type { Cluster, ImageMap, KubernetesApply, KubernetesDiscovery } from '../../../src/apis/index.ts';
import { toMicroTime } from '../../../src/apis/index.ts';
import { ClientNodeObjects, KubeconfigClusters } from '../../../src/adapters/kubernetes/index.ts';
import { kubernetesTargets } from '../../../src/edges.ts';
import type { ClusterConnector } from '../../../controllers/kubernetesapply/index.ts';
import { KubeCluster } from '../../fixtures/kube-cluster/index.ts';
import { cleanupContainers, requireDocker } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';
import { deploymentYaml, imageMap, kubernetesApply, startApply } from './fixture.ts';

after(cleanupContainers);

const built = (image: string, buildStartTime = toMicroTime(new Date())) => ({ image, imageFromCluster: image, imageFromLocal: image, buildStartTime });
type Deployment = { metadata: { uid: string; labels?: Record<string, string> }; spec: { template: { spec: { containers: Array<{ image: string; imagePullPolicy?: string }> } } } };

/** hangingServer accepts connections and never answers. */
async function hangingServer(t: { after(fn: () => void): void }): Promise<string> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

test('applies a Deployment with its image to the cluster, again on a new image only, and deletes it with the KubernetesApply', async (t) => {
  const docker = await requireDocker(t);
  if (!docker) return;
  const kube = await KubeCluster.start({ docker });
  t.after(() => kube.stop());
  const kubeconfig = await kube.writeKubeconfig();
  const targets = kubernetesTargets(new KubeconfigClusters({ kubeconfigPath: kubeconfig }));
  const stuck = await hangingServer(t);
  const stuckConfig = new KubeConfig();
  stuckConfig.loadFromOptions({
    clusters: [{ name: 'stuck', server: stuck, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'stuck', cluster: 'stuck', user: 'u' }],
    currentContext: 'stuck',
  });
  const connect: ClusterConnector = (c) =>
    c.metadata.name === 'stuck' ? { objects: new ClientNodeObjects(stuckConfig), configPath: '', defaultNamespace: 'default' } : targets(c);
  const f = await startApply(t, { connect });

  await f.create(imageMap('web', 'web'));
  await f.setStatus<ImageMap>('ImageMap', 'web', built('127.0.0.1:5000/web:1'));
  await f.create(kubernetesApply('web', { yaml: deploymentYaml('web', 'web'), imageMaps: ['web'] }));
  const first = await f.waitStatus<KubernetesApply>('KubernetesApply', 'web', (s) => !!s.lastApplyTime, 'applied');
  assert.equal(first.status!.error, undefined);
  const stored = kube.store.get('deployments', 'default', 'web') as unknown as Deployment;
  assert.ok(stored, 'the Deployment exists');
  assert.equal(stored.spec.template.spec.containers[0]!.image, '127.0.0.1:5000/web:1');
  assert.equal(stored.spec.template.spec.containers[0]!.imagePullPolicy, 'IfNotPresent');
  assert.equal(stored.metadata.labels?.['app.kubernetes.io/managed-by'], 'ferry');
  assert.equal(parseYaml(first.status!.resultYAML!).metadata.uid, stored.metadata.uid, 'resultYAML has the uid the cluster gave');

  // Same image, later build: nothing applied.
  const rv = () => (kube.store.get('deployments', 'default', 'web') as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const before = rv();
  await f.setStatus<ImageMap>('ImageMap', 'web', built('127.0.0.1:5000/web:1', toMicroTime(new Date(Date.now() + 5000))));
  await f.steadyState('kubernetesapply', 'KubernetesApply', 'web');
  assert.equal(rv(), before, 'not applied again');

  // A new image: applied again, same object.
  await f.setStatus<ImageMap>('ImageMap', 'web', built('127.0.0.1:5000/web:2'));
  await f.waitStatus<KubernetesApply>('KubernetesApply', 'web', (s) => s.appliedInputHash !== first.status!.appliedInputHash, 'applied again');
  const again = kube.store.get('deployments', 'default', 'web') as unknown as Deployment;
  assert.equal(again.spec.template.spec.containers[0]!.image, '127.0.0.1:5000/web:2');
  assert.equal(again.metadata.uid, stored.metadata.uid);

  // Server-side apply of a changed YAML (an env var added).
  const hash2 = (await f.mustGet<KubernetesApply>('KubernetesApply', 'web')).status!.appliedInputHash;
  const withEnv = deploymentYaml('web', 'web').replace('        command: [sleep, "3600"]\n', '        command: [sleep, "3600"]\n        env: [{name: MODE, value: ssa}]\n');
  await f.client.patch<KubernetesApply>('KubernetesApply', 'web', { spec: { serverSideApply: true, yaml: withEnv } });
  const ssa = await f.waitStatus<KubernetesApply>('KubernetesApply', 'web', (s) => s.appliedInputHash !== hash2 || !!s.error, 'applied on the server');
  assert.equal(ssa.status!.error, undefined);
  const c = (kube.store.get('deployments', 'default', 'web') as unknown as { spec: { template: { spec: { containers: Array<{ image: string; env?: Array<{ name: string; value: string }> }> } } } }).spec.template.spec.containers[0]!;
  assert.deepEqual([c.image, c.env], ['127.0.0.1:5000/web:2', [{ name: 'MODE', value: 'ssa' }]]);

  // Deleted: the Deployment goes too.
  await f.client.delete('KubernetesApply', 'web');
  await waitFor(async () => ((await f.get('KubernetesApply', 'web')) ? undefined : true), { message: 'KubernetesApply gone' });
  assert.equal(kube.store.get('deployments', 'default', 'web'), undefined);

  // Errors: an image missing from the YAML, a bad YAML, the server refusing, a cluster that never answers.
  await f.create(imageMap('api', 'api'));
  await f.setStatus<ImageMap>('ImageMap', 'api', built('127.0.0.1:5000/api:1'));
  await f.create(kubernetesApply('missing', { yaml: deploymentYaml('web', 'web'), imageMaps: ['api'] }));
  assert.equal((await f.waitStatus<KubernetesApply>('KubernetesApply', 'missing', (s) => !!s.error, 'error')).status!.error, 'Docker image missing from yaml: api');
  await f.create(kubernetesApply('bad', { yaml: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x\n' }));
  assert.match((await f.waitStatus<KubernetesApply>('KubernetesApply', 'bad', (s) => !!s.error, 'error')).status!.error!, /^parsing YAML document 1: /);
  await f.create(kubernetesApply('unknown', { yaml: 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n' }));
  assert.match((await f.waitStatus<KubernetesApply>('KubernetesApply', 'unknown', (s) => !!s.error, 'error')).status!.error!, /^applying Widget\/w: /);
  await f.create<Cluster>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'stuck' }, spec: { connection: { kubernetes: {} } } });
  await f.create(kubernetesApply('slow', { yaml: deploymentYaml('web', 'busybox'), cluster: 'stuck', timeout: '500ms' }));
  assert.equal((await f.waitStatus<KubernetesApply>('KubernetesApply', 'slow', (s) => !!s.error, 'error')).status!.error, 'timeout after 500ms applying Deployment/web');
});

test("objects without a namespace go to the Cluster's spec namespace, are discovered there and deleted from there", async (t) => {
  const docker = await requireDocker(t);
  if (!docker) return;
  const kube = await KubeCluster.start({ docker });
  t.after(() => kube.stop());
  const kubeconfig = await kube.writeKubeconfig();
  const f = await startApply(t, { connect: kubernetesTargets(new KubeconfigClusters({ kubeconfigPath: kubeconfig })) });
  await f.create<Cluster>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'team' }, spec: { connection: { kubernetes: { namespace: 'team-a' } } } });
  const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: "1"}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared, namespace: default}\ndata: {b: "2"}\n';
  await f.create(kubernetesApply('settings', { yaml, cluster: 'team' }));
  const applied = await f.waitStatus<KubernetesApply>('KubernetesApply', 'settings', (s) => !!s.lastApplyTime, 'applied');
  assert.equal(applied.status!.error, undefined);
  const stored = kube.store.get('configmaps', 'team-a', 'settings');
  assert.ok(stored, 'the ConfigMap is in the Cluster namespace');
  assert.equal(kube.store.get('configmaps', 'default', 'settings'), undefined, 'not in the context namespace');
  assert.ok(kube.store.get('configmaps', 'default', 'shared'), 'an object naming its namespace stays there');

  const kd = await waitFor(async () => (await f.get<KubernetesDiscovery>('KubernetesDiscovery', 'settings')) ?? undefined, { message: 'KubernetesDiscovery' });
  assert.deepEqual(kd.spec!.watches.map((w) => [w.namespace, w.uid ?? '']).sort(), [
    ['default', kube.store.get('configmaps', 'default', 'shared')!.metadata.uid],
    ['team-a', stored.metadata.uid],
  ].sort());
  assert.equal(kd.spec!.cluster, 'team');

  await f.client.delete('KubernetesApply', 'settings');
  await waitFor(async () => ((await f.get('KubernetesApply', 'settings')) ? undefined : true), { message: 'KubernetesApply gone' });
  assert.equal(kube.store.get('configmaps', 'team-a', 'settings'), undefined, 'deleted from the Cluster namespace');
  assert.equal(kube.store.get('configmaps', 'default', 'shared'), undefined);
});
