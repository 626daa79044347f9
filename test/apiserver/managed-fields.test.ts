/**
 * Server-side apply and field ownership (metadata.managedFields), over HTTP as clients send
 * them: apply patches with a fieldManager, updates named by fieldManager or User-Agent.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiServer, rawRequest, type RawResponse, type TestApiServer } from '../support/apiserver.ts';
import { maxUpdateManagers } from '../../src/apiserver/managed-fields.ts';
import { FerryClient } from '../../src/client/client.ts';
import { loadKubeConfig } from '../../src/client/kubeconfig.ts';

const base = '/apis/tilt.dev/v1alpha1/filewatches';
const applyType = 'application/apply-patch+yaml';
const mergeType = 'application/merge-patch+json';

interface Entry {
  manager: string;
  operation: string;
  apiVersion: string;
  time?: string;
  fieldsType: string;
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

const fw = (name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) => ({
  apiVersion: 'tilt.dev/v1alpha1',
  kind: 'FileWatch',
  metadata: { name, ...metadata },
  spec,
});

describe('server-side apply and managedFields', () => {
  let s: TestApiServer;
  before(async () => {
    s = await startTestApiServer();
  });
  after(() => s.close());

  const send = (method: string, path: string, body: unknown, contentType = 'application/json', headers: Record<string, string> = {}) =>
    rawRequest(s.server, { method, path, body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'Content-Type': contentType, ...headers } });
  const apply = (name: string, manager: string, body: unknown, extra = '') => send('PATCH', `${base}/${name}?fieldManager=${manager}${extra}`, body, applyType);
  const mergePatch = (name: string, body: unknown, query = '', headers: Record<string, string> = {}) => send('PATCH', `${base}/${name}${query}`, body, mergeType, headers);
  const get = async (name: string) => (await rawRequest(s.server, { path: `${base}/${name}` })).json();
  const entries = (obj: { metadata: { managedFields?: Entry[] } }) => obj.metadata.managedFields ?? [];
  const entry = (obj: { metadata: { managedFields?: Entry[] } }, manager: string, operation = 'Apply') => entries(obj).find((e) => e.manager === manager && e.operation === operation);
  const ok = (r: RawResponse, code = 200) => {
    assert.equal(r.status, code, r.text);
    return r.json();
  };

  it('records an apply as kube shows it: manager, operation, apiVersion, time and FieldsV1', async () => {
    const created = ok(await apply('shown', 'mgr-a', fw('shown', { watchedPaths: ['/src'], ignores: [{ basePath: '/src', patterns: ['*.o'] }] }, { labels: { app: 'web' } })), 201);
    assert.deepEqual(entries(created), [
      {
        apiVersion: 'tilt.dev/v1alpha1',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:ignores': {}, 'f:watchedPaths': {} } },
        manager: 'mgr-a',
        operation: 'Apply',
        time: created.metadata.creationTimestamp,
      },
    ]);
    assert.deepEqual(await get('shown'), created);
  });

  it('answers 409 naming the field and its manager when another manager applies a different value, unless forced', async () => {
    ok(await apply('contested', 'mgr-a', fw('contested', { watchedPaths: ['/a'] })), 201);
    const r = await apply('contested', 'mgr-b', fw('contested', { watchedPaths: ['/b'] }));
    assert.equal(r.status, 409);
    const status = r.json();
    assert.equal(status.reason, 'Conflict');
    assert.equal(status.message, 'Apply failed with 1 conflict: conflict with "mgr-a": .spec.watchedPaths');
    assert.deepEqual(status.details.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "mgr-a"', field: '.spec.watchedPaths' }]);
    assert.deepEqual((await get('contested')).spec.watchedPaths, ['/a'], 'nothing changed');

    const forced = ok(await apply('contested', 'mgr-b', fw('contested', { watchedPaths: ['/b'] }), '&force=true'));
    assert.deepEqual(forced.spec.watchedPaths, ['/b']);
    assert.deepEqual(entry(forced, 'mgr-b')!.fieldsV1, { 'f:spec': { 'f:watchedPaths': {} } });
    assert.equal(entry(forced, 'mgr-a'), undefined, 'mgr-a owned nothing else, so its entry is gone');
  });

  it('shares a field between managers that apply the same value, and lists every conflict', async () => {
    ok(await apply('shared', 'mgr-a', fw('shared', { watchedPaths: ['/a'], disableSource: { configMap: { name: 'cm', key: 'k' } } })), 201);
    const shared = ok(await apply('shared', 'mgr-b', fw('shared', { watchedPaths: ['/a'] })));
    assert.deepEqual(entry(shared, 'mgr-b')!.fieldsV1, { 'f:spec': { 'f:watchedPaths': {} } });
    assert.deepEqual(entry(shared, 'mgr-a')!.fieldsV1, { 'f:spec': { 'f:disableSource': { 'f:configMap': { 'f:key': {}, 'f:name': {} } }, 'f:watchedPaths': {} } });
    const r = await apply('shared', 'mgr-c', fw('shared', { watchedPaths: ['/c'], disableSource: { configMap: { name: 'other', key: 'k' } } }));
    assert.equal(r.status, 409);
    assert.equal(
      r.json().message,
      'Apply failed with 3 conflicts: conflicts with "mgr-a":\n- .spec.disableSource.configMap.name\n- .spec.watchedPaths\nconflicts with "mgr-b":\n- .spec.watchedPaths',
    );
  });

  it('removes a field the manager no longer applies, unless another manager owns it', async () => {
    ok(await apply('pruned', 'mgr-a', fw('pruned', { watchedPaths: ['/a'], ignores: [{ basePath: '/a', patterns: ['x'] }] }, { labels: { app: 'web', tier: 'front' } })), 201);
    ok(await apply('pruned', 'mgr-b', { apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'pruned', labels: { tier: 'front' } } }));
    const after = ok(await apply('pruned', 'mgr-a', fw('pruned', { watchedPaths: ['/a'] })));
    assert.equal(after.spec.ignores, undefined, 'ignores was mgr-a\'s alone');
    assert.deepEqual(after.metadata.labels, { tier: 'front' }, 'mgr-b still applies tier');
    assert.deepEqual(entry(after, 'mgr-a')!.fieldsV1, { 'f:spec': { 'f:watchedPaths': {} } });
  });

  it('records updates from fieldManager, else from the User-Agent, and an apply that changes their fields conflicts', async () => {
    ok(await apply('updated', 'mgr-a', fw('updated', { watchedPaths: ['/a'] })), 201);
    const edited = ok(await mergePatch('updated', { spec: { watchedPaths: ['/edited'] } }, '?fieldManager=editor'));
    assert.deepEqual(entry(edited, 'editor', 'Update')!.fieldsV1, { 'f:spec': { 'f:watchedPaths': {} } });
    assert.equal(entry(edited, 'mgr-a'), undefined, 'the update took the field from mgr-a');
    const labelled = ok(await mergePatch('updated', { metadata: { labels: { team: 'x' } } }, '', { 'User-Agent': 'mytool/1.2.3 (linux/amd64)' }));
    assert.deepEqual(entry(labelled, 'mytool', 'Update')!.fieldsV1, { 'f:metadata': { 'f:labels': { '.': {}, 'f:team': {} } } });

    const r = await apply('updated', 'mgr-a', fw('updated', { watchedPaths: ['/a'] }));
    assert.equal(r.status, 409);
    assert.equal(r.json().message, 'Apply failed with 1 conflict: conflict with "editor" using tilt.dev/v1alpha1: .spec.watchedPaths');

    // A PUT records its manager too.
    const cur = await get('updated');
    cur.spec.watchedPaths = ['/put'];
    const put = ok(await send('PUT', `${base}/updated?fieldManager=replacer`, cur));
    assert.deepEqual(entry(put, 'replacer', 'Update')!.fieldsV1, { 'f:spec': { 'f:watchedPaths': {} } });
    assert.equal(entry(put, 'editor', 'Update'), undefined);
  });

  it("records ferry's own client as the manager ferry", async () => {
    const client = new FerryClient(loadKubeConfig(s.kubeconfigPath));
    try {
      const created = await client.create(fw('by-ferry', { watchedPaths: ['/a'] }));
      assert.deepEqual(entries(created as never).map((e) => `${e.manager}/${e.operation}`), ['ferry/Update']);
    } finally {
      client.close();
    }
  });

  it('records status writes with their subresource, and keeps one entry per manager', async () => {
    ok(await apply('status', 'mgr-a', fw('status', { watchedPaths: ['/a'] })), 201);
    const first = ok(await send('PATCH', `${base}/status/status?fieldManager=watcher`, { status: { error: 'e1' } }, mergeType));
    assert.deepEqual(entry(first, 'watcher', 'Update'), {
      apiVersion: 'tilt.dev/v1alpha1',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:status': { '.': {}, 'f:error': {} } },
      manager: 'watcher',
      operation: 'Update',
      subresource: 'status',
      time: entry(first, 'watcher', 'Update')!.time,
    });
    let last = first;
    for (let i = 2; i < 8; i++) last = ok(await send('PATCH', `${base}/status/status?fieldManager=watcher`, { status: { error: `e${i}`, monitorStartTime: '2026-01-01T00:00:00.000000Z' } }, mergeType));
    assert.deepEqual(entries(last).map((e) => `${e.manager}/${e.operation}/${e.subresource ?? ''}`), ['mgr-a/Apply/', 'watcher/Update/status']);
    // An apply to the main resource owns no status, and a status write no spec.
    assert.deepEqual(Object.keys(entry(last, 'watcher', 'Update')!.fieldsV1), ['f:status']);
    // Nor can a status write reset managedFields.
    const kept = ok(await send('PATCH', `${base}/status/status?fieldManager=watcher`, { metadata: { managedFields: [] }, status: { error: 'e9' } }, mergeType));
    assert.deepEqual(entries(kept).map((e) => e.manager), ['mgr-a', 'watcher']);
  });

  it('applies status through the status subresource as its own manager', async () => {
    ok(await apply('status-apply', 'mgr-a', fw('status-apply', { watchedPaths: ['/a'] })), 201);
    const r = ok(await send('PATCH', `${base}/status-apply/status?fieldManager=reporter`, { ...fw('status-apply', { watchedPaths: ['/ignored'] }), status: { error: 'x' } }, applyType));
    assert.deepEqual(r.spec.watchedPaths, ['/a']);
    assert.equal(r.status.error, 'x');
    assert.deepEqual(entry(r, 'reporter')!.fieldsV1, { 'f:status': { 'f:error': {} } });
    assert.equal(entry(r, 'reporter')!.subresource, 'status');
  });

  it('does not write when the same configuration is applied again', async () => {
    const first = ok(await apply('again', 'mgr-a', fw('again', { watchedPaths: ['/a'] })), 201);
    const second = ok(await apply('again', 'mgr-a', fw('again', { watchedPaths: ['/a'] })));
    assert.equal(second.metadata.resourceVersion, first.metadata.resourceVersion);
    assert.deepEqual(second, first);
  });

  it('caps update managers, merging the oldest into ancient-changes', async () => {
    ok(await send('POST', `${base}?fieldManager=creator`, fw('many', { watchedPaths: ['/a'] })), 201);
    for (let i = 0; i < maxUpdateManagers + 3; i++) ok(await mergePatch('many', { metadata: { labels: { [`l${i}`]: 'v' } } }, `?fieldManager=m${i}`));
    const obj = await get('many');
    const updaters = entries(obj).filter((e) => e.operation === 'Update');
    assert.equal(updaters.length, maxUpdateManagers);
    const ancient = updaters.find((e) => e.manager === 'ancient-changes');
    assert.ok(ancient, JSON.stringify(updaters.map((e) => e.manager)));
    assert.ok(entry(obj, `m${maxUpdateManagers + 2}`, 'Update'));
  });

  it('refuses managedFields in an applied configuration, and keeps or resets those an update sends', async () => {
    ok(await apply('sent', 'mgr-a', fw('sent', { watchedPaths: ['/a'] })), 201);
    const refused = await apply('sent', 'mgr-a', { ...fw('sent', { watchedPaths: ['/a'] }), metadata: { name: 'sent', managedFields: [] } });
    assert.equal(refused.status, 400);
    assert.equal(refused.json().message, 'metadata.managedFields must be nil');

    // A JSON patch replacing managedFields (how kubectl moves client-side apply to server-side) is kept.
    const moved = [{ manager: 'new-owner', operation: 'Apply', apiVersion: 'tilt.dev/v1alpha1', time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:watchedPaths': {} } } }];
    const kept = ok(await send('PATCH', `${base}/sent?fieldManager=kubectl`, [{ op: 'replace', path: '/metadata/managedFields', value: moved }], 'application/json-patch+json'));
    assert.deepEqual(entries(kept), moved);
    // Garbage is not stored: the live entries stay.
    const garbage = ok(await send('PATCH', `${base}/sent`, [{ op: 'replace', path: '/metadata/managedFields', value: [{ manager: 'x', operation: 'Delete' }] }], 'application/json-patch+json'));
    assert.deepEqual(entries(garbage), moved);
    // An empty list resets them; the write's own change is recorded.
    const reset = ok(await send('PATCH', `${base}/sent?fieldManager=resetter`, { metadata: { managedFields: [], labels: { a: 'b' } } }, mergeType));
    assert.deepEqual(entries(reset).map((e) => e.manager), ['resetter']);
  });

  it('gives an untracked object to before-first-apply, so a first apply that changes it conflicts', async () => {
    const created = ok(await send('POST', base, fw('untracked', { watchedPaths: ['/old'] })), 201);
    const { managedFields: _, ...metadata } = created.metadata;
    s.server.store.write('filewatches', { ...created, metadata });
    await s.server.store.committed();
    const r = await apply('untracked', 'mgr-a', fw('untracked', { watchedPaths: ['/new'] }));
    assert.equal(r.status, 409);
    assert.equal(r.json().message, 'Apply failed with 1 conflict: conflict with "before-first-apply" using tilt.dev/v1alpha1: .spec.watchedPaths');
  });

  it('tracks finalizers by value and ownerReferences by uid', async () => {
    const ownerObj = ok(await send('POST', base, fw('owner', { watchedPaths: ['/o'] })), 201);
    const uid = ownerObj.metadata.uid;
    const owner = { apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', name: 'owner', uid };
    const r = ok(await apply('keyed', 'mgr-a', fw('keyed', { watchedPaths: ['/a'] }, { finalizers: ['tilt.dev/x'], ownerReferences: [owner] })), 201);
    assert.deepEqual(entry(r, 'mgr-a')!.fieldsV1['f:metadata'], {
      'f:finalizers': { 'v:"tilt.dev/x"': {} },
      'f:ownerReferences': { [`k:{"uid":"${uid}"}`]: { '.': {}, 'f:apiVersion': {}, 'f:kind': {}, 'f:name': {}, 'f:uid': {} } },
    });
    // Another manager adds a finalizer of its own: both stay.
    const both = ok(await apply('keyed', 'mgr-b', { apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'keyed', finalizers: ['tilt.dev/y'] } }));
    assert.deepEqual(both.metadata.finalizers, ['tilt.dev/x', 'tilt.dev/y']);
    const conflict = await apply('keyed', 'mgr-b', { apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'keyed', ownerReferences: [{ ...owner, name: 'renamed' }] } });
    assert.equal(conflict.json().message, `Apply failed with 1 conflict: conflict with "mgr-a": .metadata.ownerReferences[uid="${uid}"].name`);
    ok(await send('PATCH', `${base}/keyed`, { metadata: { finalizers: null } }, mergeType));
  });

  it('lets kubectl take over what client-side apply set, and keeps its last-applied annotation current', async () => {
    const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';
    const manifest = fw('migrated', { watchedPaths: ['/a'] });
    const annotated = { ...manifest, metadata: { name: 'migrated', annotations: { [lastApplied]: JSON.stringify(manifest) } } };
    ok(await send('POST', `${base}?fieldManager=kubectl-client-side-apply`, annotated), 201);
    const changed = fw('migrated', { watchedPaths: ['/b'] });
    const other = await apply('migrated', 'someone-else', changed);
    assert.equal(other.status, 409, 'only kubectl may take fields over from client-side apply');
    const r = ok(await apply('migrated', 'kubectl', changed));
    assert.deepEqual(r.spec.watchedPaths, ['/b']);
    assert.equal(r.metadata.annotations[lastApplied], '{"apiVersion":"tilt.dev/v1alpha1","kind":"FileWatch","metadata":{"name":"migrated"},"spec":{"watchedPaths":["/b"]}}');
  });

  it('refuses a fieldManager kube refuses', async () => {
    const long = await mergePatch('again', { metadata: { labels: { a: 'b' } } }, `?fieldManager=${'x'.repeat(129)}`);
    assert.equal(long.status, 422);
    assert.match(long.json().message, /^PatchOptions\.meta\.k8s\.io "" is invalid: fieldManager: Too long/);
    const control = await send('POST', `${base}?fieldManager=a%07b`, fw('control', { watchedPaths: ['/a'] }));
    assert.equal(control.status, 422);
    assert.match(control.json().message, /fieldManager: Invalid value: "a\\u0007b": invalid character U\+0007 \(at position 1\)/);
  });

  it('applies with dryRun without storing, showing the managedFields it would store', async () => {
    const r = ok(await apply('dry', 'mgr-a', fw('dry', { watchedPaths: ['/a'] }), '&dryRun=All'), 201);
    assert.equal(entry(r, 'mgr-a')!.operation, 'Apply');
    assert.equal((await rawRequest(s.server, { path: `${base}/dry` })).status, 404);
  });
});
