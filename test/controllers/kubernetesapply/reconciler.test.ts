// The KubernetesApply controller on the embedded API server, against a cluster in memory
// (FakeObjects): when it applies, what status says, what it cleans up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import type { Cluster, ConfigMap, FileWatch, ImageMap, KubernetesApply, KubernetesDiscovery } from '../../../src/apis/index.ts';
import { toMicroTime } from '../../../src/apis/index.ts';
import { cleanupFinalizer, inputHash, setup } from '../../../controllers/kubernetesapply/index.ts';
import { LocalProcessRunner } from '../../../src/adapters/process/index.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { waitFor } from '../../support/wait.ts';
import { deploymentYaml, FakeObjects, fakeConnector, imageMap, kubernetesApply, startApply } from './fixture.ts';

const built = (image: string, buildStartTime = toMicroTime(new Date())) => ({ image, imageFromCluster: image, imageFromLocal: image, buildStartTime });

async function applied(f: Awaited<ReturnType<typeof startApply>>, name: string, pred: (s: NonNullable<KubernetesApply['status']>) => boolean = (s) => !!s.lastApplyTime, what = 'applied') {
  return f.waitStatus<KubernetesApply>('KubernetesApply', name, pred, what);
}

test('waits for its ImageMap, applies with the image injected, re-applies on a new image only', async (t) => {
  const cluster = new FakeObjects();
  const f = await startApply(t, { connect: fakeConnector(cluster) });
  await f.create(imageMap('web', 'web'));
  await f.create(kubernetesApply('web', { yaml: deploymentYaml('web', 'web'), imageMaps: ['web'] }));

  const waiting = await f.waitStatus<KubernetesApply>('KubernetesApply', 'web', (s) => !!s.conditions?.length, 'waiting');
  assert.deepEqual(waiting.status!.conditions!.map((c) => [c.type, c.status, c.reason, c.message]), [['ReadyToApply', 'False', 'WaitingForImageMap', 'waiting for ImageMap "web" to have an image']]);
  assert.equal(cluster.applies.length, 0);

  await f.setStatus<ImageMap>('ImageMap', 'web', built('reg/web:1'));
  const ka = await applied(f, 'web');
  const st = ka.status!;
  assert.equal(st.error, undefined);
  assert.equal(st.conditions, undefined);
  assert.ok(st.appliedInputHash);
  assert.ok(st.lastApplyStartTime! <= st.lastApplyTime!);
  assert.deepEqual(ka.metadata.finalizers, [cleanupFinalizer]);
  const result = parseYaml(st.resultYAML!);
  assert.equal(result.spec.template.spec.containers[0].image, 'reg/web:1');
  assert.ok(result.metadata.uid, 'resultYAML has the uid the server gave');
  assert.equal(result.metadata.managedFields, undefined, 'without managedFields');
  assert.equal(cluster.get('Deployment', 'web')!.metadata!.managedFields !== undefined, true);
  assert.equal(result.metadata.labels['app.kubernetes.io/managed-by'], 'ferry');
  assert.equal((cluster.get('Deployment', 'web')!.spec as never as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec.containers[0]!.image, 'reg/web:1');

  // A rebuild that gives the same image (a new buildStartTime only) does not apply again.
  await f.setStatus<ImageMap>('ImageMap', 'web', built('reg/web:1', toMicroTime(new Date(Date.now() + 1000))));
  await f.steadyState('kubernetesapply', 'KubernetesApply', 'web', { snapshot: () => cluster.applies.length, what: 'applies' });
  assert.equal(cluster.applies.length, 1);

  // A new image applies again.
  await f.setStatus<ImageMap>('ImageMap', 'web', built('reg/web:2'));
  const again = await applied(f, 'web', (s) => s.appliedInputHash !== st.appliedInputHash, 'applied again');
  assert.equal(cluster.applies.length, 2);
  assert.equal(parseYaml(again.status!.resultYAML!).spec.template.spec.containers[0].image, 'reg/web:2');
  await f.steadyState('kubernetesapply', 'KubernetesApply', 'web', { snapshot: () => cluster.applies.length, what: 'applies' });
});

test('owns a KubernetesDiscovery of its name watching the applied uids and the extra selectors', async (t) => {
  const cluster = new FakeObjects();
  const f = await startApply(t, { connect: fakeConnector(cluster) });
  const selectors = [{ matchLabels: { app: 'web' } }];
  const ka = await f.create(kubernetesApply('web', { yaml: deploymentYaml('web', 'busybox'), kubernetesDiscoveryTemplateSpec: { extraSelectors: selectors } }));
  await applied(f, 'web');
  const kd = await waitFor(() => f.get<KubernetesDiscovery>('KubernetesDiscovery', 'web'), { message: 'discovery created' });
  const uid = cluster.get('Deployment', 'web')!.metadata!.uid;
  assert.deepEqual(kd.spec, { watches: [{ uid, namespace: 'default', name: 'web' }], extraSelectors: selectors });
  assert.deepEqual(kd.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]), [['KubernetesApply', 'web', ka.metadata.uid, true]]);

  await f.client.patch<KubernetesApply>('KubernetesApply', 'web', { spec: { discoveryStrategy: 'selectors-only' } });
  await waitFor(async () => ((await f.get<KubernetesDiscovery>('KubernetesDiscovery', 'web'))?.spec?.watches?.every((w) => !w.uid) ? true : undefined), { message: 'selectors only' });
  assert.deepEqual((await f.get<KubernetesDiscovery>('KubernetesDiscovery', 'web'))!.spec, { watches: [{ namespace: 'default' }], extraSelectors: selectors });
});

test('deletes what it no longer applies, and everything when deleted or disabled', async (t) => {
  const cluster = new FakeObjects();
  const f = await startApply(t, { connect: fakeConnector(cluster) });
  const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {a: b}\n`;
  await f.create(kubernetesApply('app', { yaml: `${cm('one')}---\n${cm('two')}` }));
  const first = await applied(f, 'app');
  assert.deepEqual([...cluster.stored.keys()].sort(), ['ConfigMap/default/one', 'ConfigMap/default/two']);

  await f.client.patch<KubernetesApply>('KubernetesApply', 'app', { spec: { yaml: cm('one') } });
  await applied(f, 'app', (s) => s.appliedInputHash !== first.status!.appliedInputHash, 'applied again');
  await waitFor(() => (cluster.stored.has('ConfigMap/default/two') ? undefined : true), { message: 'two deleted' });
  assert.deepEqual([...cluster.stored.keys()], ['ConfigMap/default/one']);

  // Disabled: its objects are deleted and its apply status cleared; enabled again: applied again.
  await f.create<ConfigMap>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ConfigMap', metadata: { name: 'app-disable' }, data: { isDisabled: 'true' } });
  await f.client.patch<KubernetesApply>('KubernetesApply', 'app', { spec: { disableSource: { configMap: { name: 'app-disable', key: 'isDisabled' } } } });
  const disabled = await f.waitStatus<KubernetesApply>('KubernetesApply', 'app', (s) => !!s.disableStatus?.disabled, 'disabled');
  assert.equal(disabled.status!.resultYAML, undefined);
  assert.equal(disabled.status!.lastApplyTime, undefined);
  assert.equal(cluster.stored.size, 0);
  await waitFor(async () => ((await f.get('KubernetesDiscovery', 'app')) ? undefined : true), { message: 'discovery deleted' });
  await f.client.patch<ConfigMap>('ConfigMap', 'app-disable', { data: { isDisabled: 'false' } });
  await applied(f, 'app', (s) => !!s.lastApplyTime && !s.disableStatus?.disabled, 'applied after enable');
  assert.deepEqual([...cluster.stored.keys()], ['ConfigMap/default/one']);

  // Deleted: the finalizer holds the object until its objects are deleted.
  await f.client.delete('KubernetesApply', 'app');
  await waitFor(async () => ((await f.get('KubernetesApply', 'app')) ? undefined : true), { message: 'KubernetesApply gone' });
  assert.equal(cluster.stored.size, 0);
  await waitFor(async () => ((await f.get('KubernetesDiscovery', 'app')) ? undefined : true), { message: 'its KubernetesDiscovery garbage collected' });
});

test('an apply stored by an earlier process is not applied again for the same inputs', async (t) => {
  const cluster = new FakeObjects();
  const f = await ControllerHarness.start(t, { start: false, setup: (mgr, env) => setup(mgr, { log: env.log, connect: fakeConnector(cluster), runner: new LocalProcessRunner() }) });
  await f.client.create<Cluster>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'default' }, spec: { connection: { kubernetes: {} } } });
  const spec = { yaml: deploymentYaml('web', 'busybox') };
  const ka = await f.client.create({ ...kubernetesApply('web', spec), metadata: { name: 'web', finalizers: [cleanupFinalizer] } });
  const uid = 'dep-uid';
  const resultYAML = deploymentYaml('web', 'busybox').replace('  name: web\n', `  name: web\n  namespace: default\n  uid: ${uid}\n`);
  const now = toMicroTime(new Date());
  await f.client.updateStatus<KubernetesApply>({ ...ka, status: { resultYAML, lastApplyStartTime: now, lastApplyTime: now, appliedInputHash: inputHash(spec, []) } });
  await f.mgr.start();
  const kd = await waitFor(() => f.get<KubernetesDiscovery>('KubernetesDiscovery', 'web'), { message: 'discovery from the stored result' });
  assert.deepEqual(kd.spec!.watches, [{ uid, namespace: 'default', name: 'web' }]);
  await f.steadyState('kubernetesapply', 'KubernetesApply', 'web', { snapshot: () => cluster.applies.length, what: 'applies' });
  assert.equal(cluster.applies.length, 0);
});

test('a bad YAML, an image missing from the YAML, a failed apply and a timeout each give status.error', async (t) => {
  const cluster = new FakeObjects();
  const f = await startApply(t, { connect: fakeConnector(cluster) });

  await f.create(kubernetesApply('bad', { yaml: 'apiVersion: v1\nkind: [oops' }));
  const bad = await applied(f, 'bad', (s) => !!s.error, 'error');
  assert.match(bad.status!.error!, /^parsing YAML document 1: /);
  assert.equal(bad.status!.resultYAML, undefined);
  assert.ok(bad.status!.lastApplyTime);
  await f.steadyState('kubernetesapply', 'KubernetesApply', 'bad');

  await f.create<ImageMap>({ ...imageMap('api', 'api'), status: undefined });
  await f.setStatus<ImageMap>('ImageMap', 'api', built('reg/api:1'));
  await f.create(kubernetesApply('missing', { yaml: deploymentYaml('web', 'web'), imageMaps: ['api'] }));
  assert.equal((await applied(f, 'missing', (s) => !!s.error, 'error')).status!.error, 'Docker image missing from yaml: api');

  cluster.failWith = new Error('the server is on fire');
  await f.create(kubernetesApply('fails', { yaml: deploymentYaml('web', 'busybox') }));
  assert.equal((await applied(f, 'fails', (s) => !!s.error, 'error')).status!.error, 'applying Deployment/web: the server is on fire');
  assert.equal(await f.get('KubernetesDiscovery', 'fails'), undefined);

  cluster.failWith = undefined;
  cluster.hang = true;
  await f.create(kubernetesApply('slow', { yaml: deploymentYaml('web', 'busybox'), timeout: '200ms' }));
  assert.equal((await applied(f, 'slow', (s) => !!s.error, 'error')).status!.error, 'timeout after 200ms applying Deployment/web');
});

test('applies again on a restartOn file event and on a trigger', async (t) => {
  const cluster = new FakeObjects();
  const f = await startApply(t, { connect: fakeConnector(cluster) });
  await f.create<FileWatch>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'fw' }, spec: { watchedPaths: [f.dir] } });
  await f.create({ ...kubernetesApply('web', { yaml: deploymentYaml('web', 'busybox'), restartOn: { fileWatches: ['fw'] } }), metadata: { name: 'web', annotations: { 'tilt.dev/resource': 'webapp' } } });
  const first = await applied(f, 'web');
  assert.equal(cluster.applies.length, 1);

  const later = toMicroTime(new Date());
  await f.setStatus<FileWatch>('FileWatch', 'fw', { lastEventTime: later, fileEvents: [{ time: later, seenFiles: [`${f.dir}/a`] }] });
  await applied(f, 'web', (s) => s.lastApplyTime! > first.status!.lastApplyTime!, 'applied on restartOn');
  assert.equal(cluster.applies.length, 2);
  await f.steadyState('kubernetesapply', 'KubernetesApply', 'web', { snapshot: () => cluster.applies.length, what: 'applies' });

  const before = (await f.mustGet<KubernetesApply>('KubernetesApply', 'web')).status!.lastApplyTime!;
  await f.create<ConfigMap>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ConfigMap', metadata: { name: 'tilt-trigger-queue' }, data: { '0-name': 'webapp', '0-reason-code': '32' } });
  await applied(f, 'web', (s) => s.lastApplyTime! > before, 'applied on trigger');
  assert.equal(cluster.applies.length, 3);
  await waitFor(async () => (Object.keys((await f.get<ConfigMap>('ConfigMap', 'tilt-trigger-queue'))?.data ?? {}).length === 0 ? true : undefined), { message: 'trigger consumed' });
  await f.steadyState('kubernetesapply', 'KubernetesApply', 'web', { snapshot: () => cluster.applies.length, what: 'applies' });
});

test('applyCmd runs with the image maps and KUBECONFIG in its environment; its stdout is the result', async (t) => {
  const cluster = new FakeObjects();
  const f = await startApply(t, { connect: fakeConnector(cluster, '/path/to/kubeconfig') });
  await f.create(imageMap('web', 'web'));
  await f.setStatus<ImageMap>('ImageMap', 'web', built('reg/web:7'));
  const script = 'printf "apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: out\\n  uid: u-1\\ndata:\\n  map: %s\\n  image: %s\\n  kube: %s\\n  extra: %s\\n" "$TILT_IMAGE_MAP_0" "$TILT_IMAGE_0" "$KUBECONFIG" "$EXTRA"';
  await f.create(kubernetesApply('cmd', { applyCmd: { args: ['sh', '-c', script], env: ['EXTRA=x'] }, imageMaps: ['web'] }));
  const ka = await applied(f, 'cmd');
  assert.equal(ka.status!.error, undefined);
  const docs = parseAllDocuments(ka.status!.resultYAML!).map((d) => d.toJS());
  assert.deepEqual(docs[0].data, { map: 'web', image: 'reg/web:7', kube: '/path/to/kubeconfig', extra: 'x' });

  await f.create(kubernetesApply('cmd-fails', { applyCmd: { args: ['sh', '-c', 'echo partial; exit 3'] } }));
  assert.equal((await applied(f, 'cmd-fails', (s) => !!s.error, 'error')).status!.error, 'apply command exited with status 3\nstdout:\npartial\n\n');
  await f.create(kubernetesApply('cmd-slow', { applyCmd: { args: ['sleep', '30'] }, timeout: '200ms' }));
  assert.equal((await applied(f, 'cmd-slow', (s) => !!s.error, 'error')).status!.error, 'apply command timed out after 200ms');
  await f.create(kubernetesApply('cmd-junk', { applyCmd: { args: ['echo', 'kind: [x'] } }));
  assert.match((await applied(f, 'cmd-junk', (s) => !!s.error, 'error')).status!.error!, /^apply command returned malformed YAML: /);
});

test('deleteCmd runs, with KUBECONFIG, when an applyCmd apply is disabled and when it is deleted', async (t) => {
  const cluster = new FakeObjects();
  const f = await startApply(t, { connect: fakeConnector(cluster, '/path/to/kubeconfig') });
  const marker = `${f.dir}/deleted`;
  const out = 'printf "apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: out\\n  uid: u-1\\n"';
  await f.create<ConfigMap>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ConfigMap', metadata: { name: 'off' }, data: { isDisabled: 'false' } });
  await f.create(kubernetesApply('cmd', {
    applyCmd: { args: ['sh', '-c', out] },
    deleteCmd: { args: ['sh', '-c', `echo "$KUBECONFIG" >> ${marker}`] },
    disableSource: { configMap: { name: 'off', key: 'isDisabled' } },
  }));
  await applied(f, 'cmd');
  await f.client.patch<ConfigMap>('ConfigMap', 'off', { data: { isDisabled: 'true' } });
  await f.waitStatus<KubernetesApply>('KubernetesApply', 'cmd', (s) => !!s.disableStatus?.disabled && !s.lastApplyTime, 'disabled');
  assert.equal(await readFile(marker, 'utf8'), '/path/to/kubeconfig\n');

  await f.client.patch<ConfigMap>('ConfigMap', 'off', { data: { isDisabled: 'false' } });
  await applied(f, 'cmd', (s) => !!s.lastApplyTime && !s.disableStatus?.disabled, 'applied again');
  await f.client.delete('KubernetesApply', 'cmd');
  await waitFor(async () => ((await f.get('KubernetesApply', 'cmd')) ? undefined : true), { message: 'KubernetesApply gone' });
  assert.equal(await readFile(marker, 'utf8'), '/path/to/kubeconfig\n/path/to/kubeconfig\n');
  assert.equal(cluster.deletes.length, 0, 'the delete command does the deleting');
});

test('a failed apply forgets nothing: later cleanup still deletes what the last good apply made', async (t) => {
  const cluster = new FakeObjects();
  const f = await startApply(t, { connect: fakeConnector(cluster) });
  const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\n`;
  await f.create(kubernetesApply('app', { yaml: `${cm('one')}---\n${cm('two')}` }));
  await applied(f, 'app');

  cluster.failWith = new Error('refused');
  await f.client.patch<KubernetesApply>('KubernetesApply', 'app', { spec: { yaml: cm('three') } });
  const failed = await applied(f, 'app', (s) => !!s.error, 'error');
  assert.equal(failed.status!.resultYAML, undefined);
  assert.deepEqual([...cluster.stored.keys()].sort(), ['ConfigMap/default/one', 'ConfigMap/default/two'], 'nothing deleted after a failed apply');

  cluster.failWith = undefined;
  await f.client.patch<KubernetesApply>('KubernetesApply', 'app', { spec: { yaml: cm('one') } });
  await applied(f, 'app', (s) => !s.error && !!s.resultYAML, 'applied');
  assert.deepEqual([...cluster.stored.keys()], ['ConfigMap/default/one'], 'two, applied before the failure, is deleted');

  cluster.failWith = new Error('refused');
  await f.client.patch<KubernetesApply>('KubernetesApply', 'app', { spec: { yaml: cm('four') } });
  await applied(f, 'app', (s) => !!s.error, 'error');
  cluster.failWith = undefined;
  await f.client.delete('KubernetesApply', 'app');
  await waitFor(async () => ((await f.get('KubernetesApply', 'app')) ? undefined : true), { message: 'KubernetesApply gone' });
  assert.equal(cluster.stored.size, 0);
  assert.ok(cluster.deletes.includes('ConfigMap/default/four'), 'the objects of spec.yaml are deleted too');
});
