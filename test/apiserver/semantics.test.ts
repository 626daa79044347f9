/**
 * The API server's object semantics, through @kubernetes/client-node as controllers use it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CustomObjectsApi, KubernetesObjectApi, makeInformer, Watch, type KubernetesObject } from '@kubernetes/client-node';
import { startTestApiServer, rawRequest, type TestApiServer } from '../support/apiserver.ts';
import { waitFor } from '../support/wait.ts';

const g = { group: 'tilt.dev', version: 'v1alpha1' };
const fw = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'tilt.dev/v1alpha1',
  kind: 'FileWatch',
  metadata: { name, ...extra },
  spec: { watchedPaths: ['/tmp/src'] },
});
const errorBody = (err: unknown) => JSON.parse((err as { body: string }).body);

describe('API server semantics (client-node)', () => {
  let s: TestApiServer;
  let api: CustomObjectsApi;

  before(async () => {
    s = await startTestApiServer({ historySize: 50 });
    api = s.kubeConfig.makeApiClient(CustomObjectsApi);
  });
  after(() => s.close());

  const create = (body: object, plural = 'filewatches') => api.createClusterCustomObject({ ...g, plural, body });
  const get = (name: string, plural = 'filewatches') => api.getClusterCustomObject({ ...g, plural, name });

  it('creates with system metadata, reads, replaces and deletes', async () => {
    const created = await create({ ...fw('crud'), status: { error: 'ignored on create' } });
    assert.equal(created.metadata.generation, 1);
    assert.match(created.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.match(created.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(created.status, undefined, 'status is not taken from a create');
    const read = await get('crud');
    assert.deepEqual(read, created);
    read.spec.watchedPaths = ['/tmp/other'];
    const replaced = await api.replaceClusterCustomObject({ ...g, plural: 'filewatches', name: 'crud', body: read });
    assert.equal(replaced.metadata.generation, 2);
    assert.ok(Number(replaced.metadata.resourceVersion) > Number(created.metadata.resourceVersion));
    await api.deleteClusterCustomObject({ ...g, plural: 'filewatches', name: 'crud' });
    await assert.rejects(get('crud'), (err: unknown) => errorBody(err).reason === 'NotFound');
  });

  it('answers AlreadyExists, and Conflict for a stale resourceVersion', async () => {
    const a = await create(fw('conflict'));
    await assert.rejects(create(fw('conflict')), (err: unknown) => {
      const b = errorBody(err);
      return b.code === 409 && b.reason === 'AlreadyExists' && b.message === 'filewatches.tilt.dev "conflict" already exists';
    });
    await api.replaceClusterCustomObject({ ...g, plural: 'filewatches', name: 'conflict', body: { ...a, spec: { watchedPaths: ['/b'] } } });
    await assert.rejects(api.replaceClusterCustomObject({ ...g, plural: 'filewatches', name: 'conflict', body: { ...a, spec: { watchedPaths: ['/c'] } } }), (err: unknown) => {
      const b = errorBody(err);
      return b.code === 409 && b.reason === 'Conflict' && /the object has been modified/.test(b.message);
    });
    const { metadata, ...noRv } = a;
    await assert.rejects(
      api.replaceClusterCustomObject({ ...g, plural: 'filewatches', name: 'conflict', body: { ...noRv, metadata: { name: 'conflict' } } }),
      (err: unknown) => errorBody(err).code === 422 && /must be specified for an update/.test(errorBody(err).message),
    );
  });

  it('keeps status and spec apart: the main resource ignores status, /status ignores the rest', async () => {
    const a = await create(fw('status'));
    const withStatus = await api.replaceClusterCustomObjectStatus({
      ...g, plural: 'filewatches', name: 'status',
      body: { ...a, metadata: { ...a.metadata, labels: { ignored: 'yes' } }, spec: { watchedPaths: ['/ignored'] }, status: { error: 'e1' } },
    });
    assert.equal(withStatus.status.error, 'e1');
    assert.deepEqual(withStatus.spec.watchedPaths, ['/tmp/src']);
    assert.equal(withStatus.metadata.labels, undefined);
    assert.equal(withStatus.metadata.generation, 1, 'status writes never bump generation');
    const main = await api.replaceClusterCustomObject({ ...g, plural: 'filewatches', name: 'status', body: { ...withStatus, status: { error: 'nope' }, metadata: { ...withStatus.metadata, labels: { a: 'b' } } } });
    assert.equal(main.status.error, 'e1');
    assert.equal(main.metadata.generation, 1, 'metadata-only changes do not bump generation');
    const viaGet = await api.getClusterCustomObjectStatus({ ...g, plural: 'filewatches', name: 'status' });
    assert.equal(viaGet.status.error, 'e1');
  });

  it('does not bump resourceVersion for a write identical to the stored object', async () => {
    const a = await create(fw('noop'));
    const again = await api.replaceClusterCustomObject({ ...g, plural: 'filewatches', name: 'noop', body: a });
    assert.equal(again.metadata.resourceVersion, a.metadata.resourceVersion);
    const patched = await api.patchClusterCustomObject({ ...g, plural: 'filewatches', name: 'noop', body: [{ op: 'replace', path: '/spec/watchedPaths', value: ['/tmp/src'] }] });
    assert.equal(patched.metadata.resourceVersion, a.metadata.resourceVersion);
  });

  it('generates names from generateName', async () => {
    const a = await create({ ...fw(''), metadata: { generateName: 'gen-' } });
    assert.match(a.metadata.name, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('applies merge, JSON, strategic merge and apply patches', async () => {
    const objects = KubernetesObjectApi.makeApiClient(s.kubeConfig);
    await create({ ...fw('patches'), metadata: { name: 'patches', finalizers: ['a.dev/one'] } });
    const smp = await objects.patch({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'patches', finalizers: ['a.dev/two'] } } as KubernetesObject);
    assert.deepEqual(smp.metadata?.finalizers, ['a.dev/one', 'a.dev/two'], 'strategic merge merges finalizers as a set');
    const merged = await objects.patch({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'patches', finalizers: null } } as unknown as KubernetesObject, undefined, undefined, undefined, undefined, 'application/merge-patch+json' as never);
    assert.equal(merged.metadata?.finalizers, undefined);
    const json = await api.patchClusterCustomObject({ ...g, plural: 'filewatches', name: 'patches', body: [{ op: 'add', path: '/spec/watchedPaths/-', value: '/x' }] });
    assert.deepEqual(json.spec.watchedPaths, ['/tmp/src', '/x']);
    await assert.rejects(
      api.patchClusterCustomObject({ ...g, plural: 'filewatches', name: 'patches', body: [{ op: 'test', path: '/spec/watchedPaths/0', value: 'no' }] }),
      (err: unknown) => errorBody(err).code === 422,
    );
    const applied = await objects.patch(
      { apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'applied' }, spec: { watchedPaths: ['/ssa'] } } as KubernetesObject,
      undefined, undefined, 'test', undefined, 'application/apply-patch+yaml' as never,
    );
    assert.equal(applied.metadata?.generation, 1, 'apply creates a missing object');
  });

  it('answers 415 for an unknown patch type', async () => {
    const r = await rawRequest(s.server, { method: 'PATCH', path: '/apis/tilt.dev/v1alpha1/filewatches/patches', body: '{}', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(r.status, 415);
    assert.equal(r.json().reason, 'UnsupportedMediaType');
  });

  it('deletes in two phases with finalizers, and refuses new finalizers meanwhile', async () => {
    await create({ ...fw('fin'), metadata: { name: 'fin', finalizers: ['ferry.dev/hold'] } });
    const deleting = await api.deleteClusterCustomObject({ ...g, plural: 'filewatches', name: 'fin' });
    assert.ok(deleting.metadata.deletionTimestamp);
    assert.equal(deleting.metadata.generation, 2);
    await assert.rejects(
      api.patchClusterCustomObject({ ...g, plural: 'filewatches', name: 'fin', body: [{ op: 'add', path: '/metadata/finalizers/-', value: 'ferry.dev/more' }] }),
      (err: unknown) => errorBody(err).code === 422,
    );
    await api.patchClusterCustomObject({ ...g, plural: 'filewatches', name: 'fin', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    await assert.rejects(get('fin'), (err: unknown) => errorBody(err).reason === 'NotFound');
  });

  it('garbage-collects dependents: background, foreground and orphan', async () => {
    const owner = (name: string) => create({ apiVersion: 'tilt.dev/v1alpha1', kind: 'CmdImage', metadata: { name }, spec: { ref: 'app', args: ['true'] } }, 'cmdimages');
    const dependent = (name: string, o: { metadata: { name: string; uid: string } }, block = false) =>
      create({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ImageMap', metadata: { name, ownerReferences: [{ apiVersion: 'tilt.dev/v1alpha1', kind: 'CmdImage', name: o.metadata.name, uid: o.metadata.uid, blockOwnerDeletion: block }] }, spec: { selector: 'app' } }, 'imagemaps');
    const gone = async (name: string, plural: string) => {
      await waitFor(async () => get(name, plural).then(() => false, () => true), { timeoutMs: 5000 });
    };

    const bg = await owner('bg');
    await dependent('bg-dep', bg);
    await api.deleteClusterCustomObject({ ...g, plural: 'cmdimages', name: 'bg' });
    await gone('bg-dep', 'imagemaps');

    const fg = await owner('fg');
    await dependent('fg-dep', fg, true);
    const deleting = await api.deleteClusterCustomObject({ ...g, plural: 'cmdimages', name: 'fg', propagationPolicy: 'Foreground' });
    assert.ok(deleting.metadata.finalizers.includes('foregroundDeletion'));
    await gone('fg-dep', 'imagemaps');
    await gone('fg', 'cmdimages');

    const or = await owner('or');
    await dependent('or-dep', or);
    await api.deleteClusterCustomObject({ ...g, plural: 'cmdimages', name: 'or', propagationPolicy: 'Orphan' });
    await gone('or', 'cmdimages');
    const orphan = await get('or-dep', 'imagemaps');
    assert.equal(orphan.metadata.ownerReferences, undefined, 'the orphan lost its owner reference and lives on');
  });

  it('selects by label and field, and pages with limit and continue', async () => {
    for (const [name, tier] of [['sel-a', 'web'], ['sel-b', 'db'], ['sel-c', 'web'], ['sel-d', '']] as const) {
      await create({ ...fw(name), metadata: { name, labels: tier ? { tier, group: 'sel' } : { group: 'sel' } } });
    }
    const names = (l: { items: Array<{ metadata: { name: string } }> }) => l.items.map((i) => i.metadata.name);
    const list = (labelSelector?: string, fieldSelector?: string) => api.listClusterCustomObject({ ...g, plural: 'filewatches', labelSelector, fieldSelector });
    assert.deepEqual(names(await list('tier=web')), ['sel-a', 'sel-c']);
    assert.deepEqual(names(await list('group=sel,tier!=web')), ['sel-b', 'sel-d']);
    assert.deepEqual(names(await list('tier in (db,web),tier notin (web)')), ['sel-b']);
    assert.deepEqual(names(await list('group,!tier')), ['sel-d']);
    assert.deepEqual(names(await list(undefined, 'metadata.name=sel-b')), ['sel-b']);
    const p1 = await api.listClusterCustomObject({ ...g, plural: 'filewatches', labelSelector: 'group=sel', limit: 3 });
    assert.deepEqual(names(p1), ['sel-a', 'sel-b', 'sel-c']);
    assert.ok(p1.metadata.continue);
    assert.equal(p1.metadata.remainingItemCount, 1);
    await create({ ...fw('sel-e'), metadata: { name: 'sel-e', labels: { group: 'sel' } } });
    const p2 = await api.listClusterCustomObject({ ...g, plural: 'filewatches', labelSelector: 'group=sel', limit: 3, _continue: p1.metadata.continue });
    assert.deepEqual(names(p2), ['sel-d'], 'later pages come from the first page\'s snapshot');
    assert.equal(p2.metadata.resourceVersion, p1.metadata.resourceVersion);
    await assert.rejects(list('a in (b'), (err: unknown) => errorBody(err).code === 400);
    await assert.rejects(list(undefined, 'spec.foo=bar'), (err: unknown) => /is not a known field selector/.test(errorBody(err).message));
  });

  it('honours dryRun=All and deletecollection', async () => {
    const dry = await api.createClusterCustomObject({ ...g, plural: 'filewatches', body: fw('dry'), dryRun: 'All' });
    assert.equal(dry.metadata.name, 'dry');
    await assert.rejects(get('dry'));
    await create({ ...fw('dc-1'), metadata: { name: 'dc-1', labels: { dc: 'yes' } } });
    await create({ ...fw('dc-2'), metadata: { name: 'dc-2', labels: { dc: 'yes' } } });
    await api.deleteCollectionClusterCustomObject({ ...g, plural: 'filewatches', labelSelector: 'dc=yes' });
    const left = await api.listClusterCustomObject({ ...g, plural: 'filewatches', labelSelector: 'dc=yes' });
    assert.equal(left.items.length, 0);
  });

  it('resumes a watch from a resourceVersion and answers 410 when it is too old', async () => {
    const start = await api.listClusterCustomObject({ ...g, plural: 'configmaps' });
    await create({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ConfigMap', metadata: { name: 'w1' }, data: { a: '1' } }, 'configmaps');
    await api.patchClusterCustomObject({ ...g, plural: 'configmaps', name: 'w1', body: [{ op: 'replace', path: '/data/a', value: '2' }] });
    const events: string[] = [];
    const watch = new Watch(s.kubeConfig);
    const req = await watch.watch('/apis/tilt.dev/v1alpha1/configmaps', { resourceVersion: start.metadata.resourceVersion }, (type, obj) => events.push(`${type} ${obj.metadata.name} ${obj.data?.a}`), () => undefined);
    await waitFor(() => events.length >= 2);
    assert.deepEqual(events, ['ADDED w1 1', 'MODIFIED w1 2']);
    req.abort();
    // History holds 50 events: push the start point out of it.
    for (let i = 0; i < 60; i++) await api.patchClusterCustomObject({ ...g, plural: 'configmaps', name: 'w1', body: [{ op: 'replace', path: '/data/a', value: String(i) }] });
    const errors: Array<{ type: string; code?: number }> = [];
    let closed = false;
    await watch.watch('/apis/tilt.dev/v1alpha1/configmaps', { resourceVersion: start.metadata.resourceVersion }, (type, obj) => errors.push({ type, code: obj.code }), () => (closed = true));
    await waitFor(() => closed);
    assert.deepEqual(errors, [{ type: 'ERROR', code: 410 }]);
  });

  it('lets an informer relist after 410, with deletes for objects that vanished meanwhile', async () => {
    const plural = 'imagemaps';
    const list = () => api.listClusterCustomObject({ ...g, plural, labelSelector: 'inf=yes' }) as never;
    await create({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ImageMap', metadata: { name: 'inf-keep', labels: { inf: 'yes' } }, spec: { selector: 'a' } }, plural);
    await create({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ImageMap', metadata: { name: 'inf-gone', labels: { inf: 'yes' } }, spec: { selector: 'a' } }, plural);
    const informer = makeInformer(s.kubeConfig, `/apis/tilt.dev/v1alpha1/${plural}`, list, 'inf=yes');
    const deleted: string[] = [];
    informer.on('delete', (o) => deleted.push(o.metadata!.name!));
    await informer.start();
    await waitFor(() => informer.list().length === 2);
    await informer.stop();
    await api.deleteClusterCustomObject({ ...g, plural, name: 'inf-gone' });
    for (let i = 0; i < 60; i++) await api.patchClusterCustomObject({ ...g, plural: 'configmaps', name: 'w1', body: [{ op: 'replace', path: '/data/a', value: `x${i}` }] });
    await informer.start();
    await waitFor(() => informer.list().length === 1, { timeoutMs: 10_000 });
    assert.deepEqual(informer.list().map((o) => o.metadata!.name), ['inf-keep']);
    assert.deepEqual(deleted, ['inf-gone']);
    await informer.stop();
  });

  it('serves discovery, OpenAPI and Tables', async () => {
    const resources = (await rawRequest(s.server, { path: '/apis/tilt.dev/v1alpha1' })).json();
    const lu = resources.resources.find((r: { name: string }) => r.name === 'liveupdates');
    assert.deepEqual(lu.verbs, ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']);
    assert.ok(resources.resources.some((r: { name: string }) => r.name === 'liveupdates/status'));
    assert.ok(!resources.resources.some((r: { name: string }) => r.name === 'configmaps/status'));
    const v2 = await rawRequest(s.server, { path: '/openapi/v2', headers: { Accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } });
    assert.equal(v2.headers['content-type'], 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    const root = (await rawRequest(s.server, { path: '/openapi/v3' })).json();
    const doc = (await rawRequest(s.server, { path: root.paths['apis/tilt.dev/v1alpha1'].serverRelativeURL })).json();
    assert.ok(doc.components.schemas['dev.tilt.core.v1alpha1.LiveUpdate'].properties.spec.properties.syncs);
    const table = (await rawRequest(s.server, { path: '/apis/tilt.dev/v1alpha1/filewatches', headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } })).json();
    assert.equal(table.kind, 'Table');
    assert.deepEqual(table.columnDefinitions.map((c: { name: string }) => c.name), ['Name', 'Paths', 'Last Event', 'Error', 'Age']);
    assert.ok(table.metadata.resourceVersion);
    assert.equal(table.rows[0].object.kind, 'PartialObjectMetadata');
  });
});
