/** The one kubeconfig resolution every kind shares: file, context and the Cluster object's say. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Cluster } from '../../../src/apis/cluster.ts';
import { KubeconfigClusters, kubeconfigPathFromEnv } from '../../../src/adapters/kubernetes/index.ts';

function kubeconfig(t: TestContext, current: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-kubeconfig-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config');
  fs.writeFileSync(
    file,
    `apiVersion: v1
kind: Config
current-context: ${current}
clusters:
- {name: a, cluster: {server: "https://a.example:6443"}}
- {name: b, cluster: {server: "https://b.example:6443"}}
users:
- {name: me, user: {token: t}}
contexts:
- {name: kind-a, context: {cluster: a, user: me}}
- {name: kind-b, context: {cluster: b, user: me, namespace: apps}}
`,
  );
  return file;
}

test('a context is selected from the given kubeconfig, else its current one', (t) => {
  const file = kubeconfig(t, 'kind-a');
  const clusters = new KubeconfigClusters({ kubeconfigPath: file, env: {} });
  const current = clusters.resolve();
  assert.deepEqual([current.context, current.configPath, current.kubeConfig.getCurrentCluster()?.server], ['kind-a', file, 'https://a.example:6443']);
  const b = clusters.resolve({ context: 'kind-b' });
  assert.equal(b.kubeConfig.getCurrentCluster()?.server, 'https://b.example:6443');
  assert.notEqual(b.key, current.key);
  assert.equal(clusters.currentContext(), 'kind-a');
  assert.throws(() => clusters.resolve({ context: 'nope' }), /context "nope" not found in kubeconfig/);
});

test('a Cluster resolves by its spec context, else the kubeconfig and context its status names', (t) => {
  const file = kubeconfig(t, 'kind-a');
  const other = kubeconfig(t, 'kind-b');
  const clusters = new KubeconfigClusters({ kubeconfigPath: file, env: {} });
  const bySpec: Cluster = { metadata: { name: 'default' }, spec: { connection: { kubernetes: { context: 'kind-b' } } } };
  assert.equal(clusters.forCluster(bySpec).context, 'kind-b');
  const byStatus: Cluster = { metadata: { name: 'default' }, status: { connection: { kubernetes: { configPath: other, context: 'kind-a' } } } };
  assert.deepEqual([clusters.forCluster(byStatus).configPath, clusters.forCluster(byStatus).context], [other, 'kind-a']);
});

test("a Cluster's spec namespace is the connection's default namespace, in place of the context's", (t) => {
  const file = kubeconfig(t, 'kind-b');
  const clusters = new KubeconfigClusters({ kubeconfigPath: file, env: {} });
  const ns = (c: Cluster) => {
    const conn = clusters.forCluster(c);
    return conn.kubeConfig.getContextObject(conn.context)?.namespace;
  };
  assert.equal(ns({ metadata: { name: 'default' }, spec: { connection: { kubernetes: {} } } }), 'apps');
  const own: Cluster = { metadata: { name: 'default' }, spec: { connection: { kubernetes: { namespace: 'ci-1' } } } };
  assert.equal(ns(own), 'ci-1');
  assert.equal(clusters.forCluster(own).key, clusters.resolve().key, 'the same cluster, reached the same way');
  assert.equal(clusters.resolve().kubeConfig.getContextObject('kind-b')?.namespace, 'apps', 'a later resolution reads the file again');
});

test('KUBECONFIG: the first existing entry, else the first named; nothing at all is an error fit for status', (t) => {
  const file = kubeconfig(t, 'kind-a');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-home-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  assert.equal(kubeconfigPathFromEnv({ KUBECONFIG: ['/missing/a', file].join(path.delimiter) }, home), file);
  assert.equal(kubeconfigPathFromEnv({ KUBECONFIG: '/missing/a' }, home), '/missing/a');
  assert.equal(kubeconfigPathFromEnv({}, home), undefined);
  assert.throws(() => new KubeconfigClusters({ env: {}, homeDir: home }).resolve(), /no kubeconfig found \(KUBECONFIG or ~\/.kube\/config\)/);
  assert.throws(() => new KubeconfigClusters({ env: { KUBECONFIG: '/missing/a' } }).resolve(), /reading kubeconfig \/missing\/a/);
  assert.equal(new KubeconfigClusters({ env: { KUBECONFIG: '/missing/a' } }).currentContext(), undefined);
});
