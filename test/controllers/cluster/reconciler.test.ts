import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Cluster } from '../../../src/apis/cluster.ts';
import { FakeClock } from '../../../src/util/clock.ts';
import type { Result } from '../../../src/runtime/reconciler.ts';
import { setupClusterController } from '../../../controllers/cluster/setup.ts';
import { noConnectionError } from '../../../controllers/cluster/status.ts';
import { ensureDefaultClusters } from '../../../controllers/cluster/defaults.ts';
import type { DockerEngineInfo, DockerPinger } from '../../../src/adapters/docker/index.ts';
import {
  ClientNodeKubernetesProber,
  KubeconfigClusters,
  parseLocalRegistryHosting,
  type KubernetesClusterInfo,
  type KubernetesProber,
} from '../../../src/adapters/kubernetes/index.ts';
import { ControllerHarness } from '../../support/controllers.ts';

/**
 * FakeDockerPinger answers with queued results (an Error is thrown), recording each host asked
 * once (the running controller pings again after each event, e.g. its own status write).
 */
class FakeDockerPinger implements DockerPinger {
  hosts: Array<string | undefined> = [];
  results: Array<DockerEngineInfo | Error> = [];
  async ping(host?: string): Promise<DockerEngineInfo> {
    if (!this.hosts.includes(host)) this.hosts.push(host);
    const r = this.results.length > 1 ? this.results.shift()! : this.results[0];
    if (!r) throw new Error('FakeDockerPinger: no result queued');
    if (r instanceof Error) throw r;
    return r;
  }
}

/** FakeKubernetesProber answers with `result`, recording each distinct question once. */
class FakeKubernetesProber implements KubernetesProber {
  asked: Array<{ context?: string }> = [];
  result: KubernetesClusterInfo | Error = new Error('unset');
  async probe(opts: { context?: string }): Promise<KubernetesClusterInfo> {
    if (!this.asked.some((a) => JSON.stringify(a) === JSON.stringify(opts))) this.asked.push(opts);
    if (this.result instanceof Error) throw this.result;
    return this.result;
  }
}

const engine: DockerEngineInfo = { host: 'unix:///var/run/docker.sock', version: '20.10.24', arch: 'amd64' };
const kind: KubernetesClusterInfo = {
  context: 'kind-kind',
  cluster: 'kind-kind',
  namespace: 'default',
  configPath: '/home/me/.kube/config',
  product: 'kind',
  version: 'v1.29.2',
  arch: 'arm64',
  registry: { host: 'localhost:5001', hostFromContainerRuntime: 'kind-registry:5000' },
};

/**
 * newFixture runs the Cluster controller (its real setup) on the controller test harness, with a
 * fake clock (a requeue waits until the test advances it) and fake Docker and Kubernetes probes.
 */
async function newFixture(t: TestContext) {
  const clock = new FakeClock(new Date('2024-03-04T05:06:07.123456Z'));
  const docker = new FakeDockerPinger();
  const kubernetes = new FakeKubernetesProber();
  const h = await ControllerHarness.start(t, { clock, setup: (mgr) => setupClusterController(mgr, { docker, kubernetes }) });
  return {
    client: h.client,
    clock,
    docker,
    kubernetes,
    /** create creates the Cluster and waits for the controller to have reconciled it. */
    async create(name: string, spec: Cluster['spec']) {
      const c = await h.create<Cluster>({ kind: 'Cluster', metadata: { name }, spec });
      await h.settle();
      return c;
    },
    /** reconcile has the controller reconcile the Cluster and resolves with what it returned. */
    reconcile: (name: string): Promise<Result | void> => h.reconcileResult('cluster', name),
    /** results lists what every reconcile of the Cluster returned so far, the controller's own included. */
    results: (name: string) => h.results('cluster', name),
    get: (name: string) => h.mustGet<Cluster>('Cluster', name),
  };
}

test('a reachable Docker Engine: version, arch, host, connectedAt and the default registry; checked again later', async (t) => {
  const f = await newFixture(t);
  f.docker.results = [engine];
  await f.create('docker', { connection: { docker: {} }, defaultRegistry: { host: 'localhost:5000' } });
  const result = await f.reconcile('docker');
  assert.deepEqual(result, { requeueAfterMs: 30_000 });
  const c = await f.get('docker');
  assert.deepEqual(c.status, {
    arch: 'amd64',
    version: '20.10.24',
    connection: { docker: { host: 'unix:///var/run/docker.sock' } },
    registry: { host: 'localhost:5000' },
    connectedAt: '2024-03-04T05:06:07.123000Z',
  });
  assert.deepEqual(f.docker.hosts, [undefined]);

  // Steady state: time passes, the next check writes nothing.
  await f.clock.advance(30_000);
  await f.reconcile('docker');
  assert.equal((await f.get('docker')).metadata.resourceVersion, c.metadata.resourceVersion);
});

test('an unreachable Engine sets error, is retried with a doubling delay, and clears when it answers', async (t) => {
  const f = await newFixture(t);
  f.docker.results = [new Error('Cannot connect to the Docker daemon at unix:///tmp/nope.sock. Is the docker daemon running?')];
  await f.create('docker', { connection: { docker: { host: 'unix:///tmp/nope.sock' } } });
  // The controller reconciled on the create and on its own status write: those count.
  while ((await f.results('docker')).length < 7) await f.reconcile('docker');
  const delays = (await f.results('docker')).map((r) => (r as Result).requeueAfterMs);
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  const down = await f.get('docker');
  assert.deepEqual(down.status, {
    error: 'Cannot connect to the Docker daemon at unix:///tmp/nope.sock. Is the docker daemon running?',
    connection: { docker: { host: 'unix:///tmp/nope.sock' } },
  });
  assert.deepEqual(f.docker.hosts.slice(0, 1), ['unix:///tmp/nope.sock']);

  f.docker.results = [{ ...engine, host: 'unix:///tmp/nope.sock' }];
  await f.clock.advance(1000);
  assert.deepEqual(await f.reconcile('docker'), { requeueAfterMs: 30_000 });
  const up = await f.get('docker');
  assert.equal(up.status?.error, undefined);
  assert.equal(up.status?.connectedAt, '2024-03-04T05:06:08.123000Z');

  // Down again: the backoff starts over from 1 s.
  f.docker.results = [new Error('gone again')];
  assert.deepEqual(await f.reconcile('docker'), { requeueAfterMs: 1000 });
});

test('a Kubernetes cluster: its KEP-1755 registry wins over the default one', async (t) => {
  const f = await newFixture(t);
  f.kubernetes.result = kind;
  await f.create('default', { connection: { kubernetes: { context: 'kind-kind' } }, defaultRegistry: { host: 'gcr.io/me' } });
  await f.reconcile('default');
  const c = await f.get('default');
  assert.deepEqual(f.kubernetes.asked, [{ context: 'kind-kind' }]);
  assert.deepEqual(c.status?.registry, { host: 'localhost:5001', hostFromContainerRuntime: 'kind-registry:5000' });
  assert.deepEqual(c.status?.connection, {
    kubernetes: { product: 'kind', context: 'kind-kind', namespace: 'default', cluster: 'kind-kind', configPath: '/home/me/.kube/config' },
  });
  assert.equal(c.status?.version, 'v1.29.2');
  assert.equal(c.status?.arch, 'arm64');

  f.kubernetes.result = { ...kind, registry: undefined };
  await f.reconcile('default');
  assert.deepEqual((await f.get('default')).status?.registry, { host: 'gcr.io/me' });
  await f.reconcile('default');

  f.kubernetes.result = new Error('reading the version of cluster kind-kind (context kind-kind): connect ECONNREFUSED');
  assert.deepEqual(await f.reconcile('default'), { requeueAfterMs: 1000 });
  const down = await f.get('default');
  assert.equal(down.status?.error, 'reading the version of cluster kind-kind (context kind-kind): connect ECONNREFUSED');
  assert.equal(down.status?.registry, undefined);
});

test('a Cluster with no connection gets an error and no retry; a missing one is ignored', async (t) => {
  const f = await newFixture(t);
  await f.create('odd', {});
  assert.equal(await f.reconcile('odd'), undefined);
  assert.equal((await f.get('odd')).status?.error, noConnectionError);
  assert.equal(await f.reconcile('missing'), undefined);
});

test('ensureDefaultClusters creates docker and default once, and leaves existing ones alone', async (t) => {
  const f = await newFixture(t);
  assert.deepEqual(await ensureDefaultClusters(f.client), ['docker']);
  assert.equal(await f.client.get('Cluster', 'default'), undefined);
  await f.client.patch('Cluster', 'docker', { spec: { defaultRegistry: { host: 'mine:5000' } } });
  assert.deepEqual(await ensureDefaultClusters(f.client, { kubeContext: 'kind-kind' }), ['default']);
  assert.deepEqual(await ensureDefaultClusters(f.client, { kubeContext: 'kind-kind' }), []);
  assert.deepEqual((await f.get('docker')).spec, { connection: { docker: {} }, defaultRegistry: { host: 'mine:5000' } });
  assert.deepEqual((await f.get('default')).spec, { connection: { kubernetes: { context: 'kind-kind' } } });
});

test('the local-registry-hosting YAML of KEP-1755', () => {
  assert.deepEqual(
    parseLocalRegistryHosting('host: "localhost:5001"\nhostFromContainerRuntime: kind-registry:5000\nhostFromClusterNetwork: "kind-registry:5000"\nhelp: "https://kind.sigs.k8s.io/docs/user/local-registry/"\n'),
    {
      host: 'localhost:5001',
      hostFromContainerRuntime: 'kind-registry:5000',
      hostFromClusterNetwork: 'kind-registry:5000',
      help: 'https://kind.sigs.k8s.io/docs/user/local-registry/',
    },
  );
  assert.equal(parseLocalRegistryHosting('help: "no host"\n'), undefined);
  assert.throws(() => parseLocalRegistryHosting('host: [unclosed'));
});

/** fakeKubeApi serves /version and, optionally, the local-registry-hosting ConfigMap, as a kube-apiserver would. */
async function fakeKubeApi(t: TestContext, registryYaml?: string) {
  const srv = http.createServer((req, res) => {
    if (req.url === '/version') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ major: '1', minor: '29', gitVersion: 'v1.29.2', platform: 'linux/amd64' }));
    } else if (req.url === '/api/v1/namespaces/kube-public/configmaps/local-registry-hosting' && registryYaml) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'local-registry-hosting', namespace: 'kube-public' }, data: { 'localRegistryHosting.v1': registryYaml } }));
    } else {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
    }
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => srv.close(() => r())));
  const port = (srv.address() as AddressInfo).port;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-kubeconfig-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config');
  fs.writeFileSync(
    file,
    `apiVersion: v1
kind: Config
current-context: kind-dev
clusters:
- name: kind-dev
  cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}
- name: nowhere
  cluster: {server: "http://127.0.0.1:1", insecure-skip-tls-verify: true}
users:
- name: me
  user: {token: abc}
contexts:
- name: kind-dev
  context: {cluster: kind-dev, user: me, namespace: apps}
- name: broken
  context: {cluster: nowhere, user: me}
`,
  );
  return file;
}

test('the client-node prober reads /version and the KEP-1755 ConfigMap of a kubeconfig context', async (t) => {
  const file = await fakeKubeApi(t, 'host: "localhost:5001"\nhostFromContainerRuntime: "kind-registry:5000"\n');
  assert.equal(new KubeconfigClusters({ kubeconfigPath: file }).currentContext(), 'kind-dev');
  const prober = new ClientNodeKubernetesProber({ kubeconfigPath: file });
  assert.deepEqual(await prober.probe({}), {
    context: 'kind-dev',
    cluster: 'kind-dev',
    namespace: 'apps',
    configPath: file,
    product: 'kind',
    version: 'v1.29.2',
    arch: 'amd64',
    registry: { host: 'localhost:5001', hostFromContainerRuntime: 'kind-registry:5000' },
  });
  await assert.rejects(prober.probe({ context: 'nope' }), /context "nope" not found/);
  await assert.rejects(prober.probe({ context: 'broken' }), /reading the version of cluster nowhere \(context broken\)/);
});

test('the client-node prober: a cluster without the registry ConfigMap has no registry', async (t) => {
  const file = await fakeKubeApi(t);
  const info = await new ClientNodeKubernetesProber({ kubeconfigPath: file }).probe({ namespace: 'other' });
  assert.equal(info.registry, undefined);
  assert.equal(info.namespace, 'other');
});
