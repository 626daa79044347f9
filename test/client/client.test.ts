import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap } from '../../src/apis/configmap.ts';
import type { FileWatch } from '../../src/apis/filewatch.ts';
import { FerryClient, type WatchEvent } from '../../src/client/client.ts';
import { ApiError, isAlreadyExists, isConflict, isNotFound } from '../../src/client/errors.ts';
import { loadKubeConfig } from '../../src/client/kubeconfig.ts';
import { startTestApiServer } from '../support/apiserver.ts';

async function newFixture(t: { after(fn: () => Promise<void> | void): void }) {
  const server = await startTestApiServer();
  const client = new FerryClient(server.kubeConfig);
  t.after(async () => {
    client.close();
    await server.close();
  });
  return { server, client };
}

const fw = (name: string): FileWatch => ({ kind: 'FileWatch', metadata: { name }, spec: { watchedPaths: ['/tmp'] } });

test('create, get, list, update, updateStatus, patch and delete a FileWatch', async (t) => {
  const { client } = await newFixture(t);
  assert.equal(await client.get('FileWatch', 'a'), undefined);

  const created = await client.create(fw('a'));
  assert.equal(created.apiVersion, 'tilt.dev/v1alpha1');
  assert.ok(created.metadata.resourceVersion);

  const got = await client.get<FileWatch>('FileWatch', 'a');
  assert.deepEqual(got?.spec?.watchedPaths, ['/tmp']);

  const updated = await client.update<FileWatch>({ ...got!, spec: { watchedPaths: ['/tmp', '/var'] } });
  assert.deepEqual(updated.spec?.watchedPaths, ['/tmp', '/var']);

  const withStatus = await client.updateStatus<FileWatch>({ ...updated, status: { error: 'x' } });
  assert.equal(withStatus.status?.error, 'x');
  assert.deepEqual(withStatus.spec?.watchedPaths, ['/tmp', '/var']);

  const patched = await client.patch<FileWatch>('FileWatch', 'a', { metadata: { labels: { app: 'web' } } });
  assert.equal(patched.metadata.labels?.app, 'web');
  const statusPatched = await client.patchStatus<FileWatch>('FileWatch', 'a', { status: { error: 'y' } });
  assert.equal(statusPatched.status?.error, 'y');

  await client.create(fw('b'));
  const all = await client.list<FileWatch>('FileWatch');
  assert.deepEqual(all.items.map((o) => o.metadata.name).sort(), ['a', 'b']);
  assert.ok(all.metadata.resourceVersion);
  const labelled = await client.list('FileWatch', { labelSelector: 'app=web' });
  assert.deepEqual(labelled.items.map((o) => o.metadata.name), ['a']);

  await client.delete('FileWatch', 'a');
  assert.equal(await client.get('FileWatch', 'a'), undefined);
});

test('errors come out as ApiError with the reason of the Status', async (t) => {
  const { client } = await newFixture(t);
  const a = await client.create(fw('a'));
  await assert.rejects(client.create(fw('a')), (err) => isAlreadyExists(err) && (err as ApiError).code === 409);
  await client.update({ ...a, spec: { watchedPaths: ['/x'] } });
  await assert.rejects(client.update({ ...a, spec: { watchedPaths: ['/y'] } }), (err) => isConflict(err));
  await assert.rejects(client.delete('FileWatch', 'nope'), (err) => isNotFound(err));
  await assert.rejects(
    client.create({ kind: 'FileWatch', metadata: { name: 'bad' }, spec: { watchedPaths: [] } }),
    (err) => err instanceof ApiError && err.reason === 'Invalid' && err.code === 422 && (err.details?.causes?.length ?? 0) > 0,
  );
  await assert.rejects(client.get('NoSuchKind', 'x'), /unknown kind/);
});

test('watch streams changes after a resourceVersion, and 410 when it is too old', async (t) => {
  const server = await startTestApiServer({ historySize: 5 });
  const client = new FerryClient(server.kubeConfig);
  t.after(async () => {
    client.close();
    await server.close();
  });
  await client.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name: 'seed' } });
  const start = await client.list('ConfigMap');
  assert.equal(start.metadata.resourceVersion, '1');
  const events: WatchEvent[] = [];
  const h = await client.watch('ConfigMap', { resourceVersion: start.metadata.resourceVersion }, (ev) => events.push(ev), () => {});
  await client.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name: 'one' }, data: { a: '1' } });
  await client.delete('ConfigMap', 'one');
  for (let i = 0; i < 100 && events.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  h.stop();
  assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED one', 'DELETED one']);

  for (let i = 0; i < 10; i++) await client.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name: `c${i}` } });
  const outcome = await new Promise<string>((resolve) => {
    setTimeout(() => resolve('no answer'), 5000).unref();
    void client.watch(
      'ConfigMap',
      { resourceVersion: start.metadata.resourceVersion },
      (ev) => ev.type === 'ERROR' && resolve(`ERROR ${(ev.object as unknown as { code: number }).code}`),
      (err) => resolve(err instanceof ApiError ? `done ${err.code}` : `done ${String(err)}`),
    );
  });
  assert.match(outcome, /410/);
});

test('loadKubeConfig selects a context and refuses an unknown one', async (t) => {
  const { server } = await newFixture(t);
  const kc = loadKubeConfig(server.kubeconfigPath);
  assert.ok(kc.getCurrentCluster()?.server.startsWith('https://127.0.0.1:'));
  assert.throws(() => loadKubeConfig(server.kubeconfigPath, 'nope'), /no context "nope"/);
  const client = new FerryClient(kc);
  assert.deepEqual((await client.list('Cluster')).items, []);
  client.close();
});
