// Cluster `default` comes from the current context of the user's kubeconfig, unless that
// context is ferry's own API server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Cluster } from '../../src/apis/index.ts';
import { KubeconfigClusters } from '../../src/adapters/kubernetes/index.ts';
import type { FerryClient } from '../../src/client/index.ts';
import { ensureDefaultObjects } from '../../src/controllers.ts';
import type { Edges } from '../../src/edges.ts';
import { silentLogger } from '../../src/log.ts';
import { Manager } from '../../src/runtime/index.ts';
import { startTestApiServer } from '../support/apiserver.ts';

async function kubeconfigFile(t: { after(fn: () => Promise<void>): void }, server: string, context: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-default-cluster-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: context, server }], users: [{ name: 'u', token: 't' }], contexts: [{ name: context, cluster: context, user: 'u' }], currentContext: context });
  const file = path.join(dir, 'config');
  await writeFile(file, kc.exportConfig());
  return file;
}

test('Cluster default follows the kubeconfig current context, and never names ferry\'s own API', async (t) => {
  const api = await startTestApiServer();
  t.after(() => api.close());
  const own = api.kubeConfig.getCurrentCluster()!.server;
  const run = async (kubeconfigPath: string) => {
    const mgr = new Manager({ kubeConfig: api.kubeConfig, log: silentLogger() });
    t.after(() => (mgr.client as FerryClient).close());
    await ensureDefaultObjects(mgr, { log: silentLogger() }, { clusters: new KubeconfigClusters({ kubeconfigPath }) } as Edges);
    return mgr;
  };

  const mgr = await run(await kubeconfigFile(t, own, 'ferry'));
  assert.equal(await mgr.client.get<Cluster>('Cluster', 'default'), undefined, 'ferry\'s own API is no dev cluster');
  assert.ok(await mgr.client.get<Cluster>('Cluster', 'docker'));

  await run(await kubeconfigFile(t, 'https://127.0.0.1:1', 'kind-dev'));
  const def = await mgr.client.get<Cluster>('Cluster', 'default');
  assert.deepEqual(def?.spec, { connection: { kubernetes: { context: 'kind-dev' } } });
});
