/**
 * `ferry ci` on the test cluster fixture: a KubernetesApply whose pod gets ready exits 0, one
 * whose image cannot be pulled exits 1 with the pod's reason; what was applied is deleted, with
 * the run's own namespace.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import * as http from 'node:http';
import * as net from 'node:net';
import path from 'node:path';
import { runCi } from '../../src/cli/ci.ts';
import { silentLogger } from '../../src/log.ts';
import { KubeCluster } from '../fixtures/kube-cluster/index.ts';
import { cleanupContainers, requireDocker, testImages } from '../support/docker.ts';
import { waitFor } from '../support/wait.ts';

after(cleanupContainers);

const manifest = (name: string, image: string) => `apiVersion: tilt.dev/v1alpha1
kind: KubernetesApply
metadata: {name: ${name}}
spec:
  yaml: |
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: ${name}
    spec:
      selector:
        matchLabels: {app: ${name}}
      template:
        metadata:
          labels: {app: ${name}}
        spec:
          containers:
          - name: main
            image: ${image}
            command: [sleep, "3600"]
`;

test('ferry ci waits for a KubernetesApply pod to be ready, fails on ErrImagePull, and deletes what it applied', async (t) => {
  const docker = await requireDocker(t);
  if (!docker) return;
  const kube = await KubeCluster.start({ docker });
  t.after(() => kube.stop());
  const kubeconfig = await kube.writeKubeconfig();
  const saved = process.env.KUBECONFIG;
  process.env.KUBECONFIG = kubeconfig;
  t.after(() => {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-ci-k8s-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = async (name: string, image: string, namespace?: string) => {
    const file = path.join(dir, `${name}.yaml`);
    fs.writeFileSync(file, manifest(name, image));
    const lines: string[] = [];
    const code = await runCi({ files: [file], timeoutMs: 60_000, out: (l) => lines.push(l), log: silentLogger(), cwd: dir, namespace });
    return { code, text: lines.join('\n') };
  };

  const ok = await run('web', testImages.busybox);
  assert.equal(ok.code, 0, ok.text);
  assert.match(ok.text, /web:runtime\s+server\s+ready/);
  assert.match(ok.text, /web:update\s+job\s+done/);
  const ns = /namespace\/(ferry-ci-[0-9a-f]+) created/.exec(ok.text)?.[1];
  assert.ok(ns, `the run has a namespace of its own:\n${ok.text}`);
  assert.equal(kube.store.get('namespaces', undefined, ns), undefined, 'deleted after the run, with the Deployment in it');
  assert.equal(kube.store.get('deployments', ns, 'web'), undefined);
  assert.equal(kube.store.get('deployments', 'default', 'web'), undefined, 'nothing went to the context namespace');

  // --namespace names one that exists: the run uses it and leaves it, deleting only what it applied.
  kube.ensureNamespace('team');
  const bad = await run('broken', '127.0.0.1:5000/ferry-test/no-such-image:nope', 'team');
  assert.equal(bad.code, 1, bad.text);
  // The pull fails as ErrImagePull, then backs off as ImagePullBackOff: either is the pod's reason when ci gives up.
  assert.match(bad.text, /Error: Pod broken-[\w-]+ in error state due to container main: (ErrImagePull|ImagePullBackOff)/);
  assert.doesNotMatch(bad.text, /namespace\/team (created|deleted)/);
  assert.ok(kube.store.get('namespaces', undefined, 'team'), 'a namespace the run did not create is left');
  assert.equal(kube.store.get('deployments', 'team', 'broken'), undefined, 'what the run applied in it is deleted');
  await waitFor(() => kube.listPods('team').length === 0, { timeoutMs: 30_000, message: 'its pod goes with the Deployment' });
});

test('ferry ci fails at once, saying why, when it cannot make its namespace in the dev cluster', async (t) => {
  const docker = await requireDocker(t);
  if (!docker) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-ci-k8s-down-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // A cluster that refuses connections: a port nothing listens on.
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  const kubeconfig = path.join(dir, 'kubeconfig');
  fs.writeFileSync(kubeconfig, `apiVersion: v1
kind: Config
current-context: down
clusters: [{name: down, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]
users: [{name: me, user: {token: t}}]
contexts: [{name: down, context: {cluster: down, user: me}}]
`);
  const file = path.join(dir, 'web.yaml');
  fs.writeFileSync(file, manifest('web', testImages.busybox));
  const lines: string[] = [];
  await assert.rejects(
    runCi({ files: [file], timeoutMs: 60_000, out: (l) => lines.push(l), log: silentLogger(), cwd: dir, clusterKubeconfig: kubeconfig }),
    /^Error: ferry ci: creating namespace ferry-ci-[0-9a-f]+ in the dev cluster: .*ECONNREFUSED/,
  );
  assert.doesNotMatch(lines.join('\n'), /created/, 'nothing was applied');
});

test('ferry ci stops waiting for a namespace that is not deleted, and says so', async (t) => {
  const docker = await requireDocker(t);
  if (!docker) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-ci-k8s-stuck-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // A cluster whose namespaces never go away (as with a finalizer nobody removes).
  const namespaces = new Set<string>();
  const deletes: string[] = [];
  const server = http.createServer((req, res) => {
    const url = req.url!.split('?')[0]!;
    const reply = (code: number, body: object) => {
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const notFound = () => reply(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const ns = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(url)?.[1];
      if (url === '/version') return reply(200, { gitVersion: 'v1.32.0', platform: 'linux/amd64' });
      if (url === '/api/v1') {
        return reply(200, { kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'namespaces', namespaced: false, kind: 'Namespace', verbs: ['get', 'create', 'delete'] }] });
      }
      if (req.method === 'POST' && url === '/api/v1/namespaces') {
        const obj = JSON.parse(body);
        namespaces.add(obj.metadata.name);
        return reply(201, { ...obj, metadata: { ...obj.metadata, uid: 'u1' } });
      }
      if (ns && namespaces.has(ns)) {
        if (req.method === 'DELETE') deletes.push(ns);
        return reply(200, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, uid: 'u1' }, status: { phase: deletes.includes(ns) ? 'Terminating' : 'Active' } });
      }
      notFound();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const kubeconfig = path.join(dir, 'kubeconfig');
  fs.writeFileSync(kubeconfig, `apiVersion: v1
kind: Config
current-context: stuck
clusters: [{name: stuck, cluster: {server: "http://127.0.0.1:${(server.address() as net.AddressInfo).port}", insecure-skip-tls-verify: true}}]
users: [{name: me, user: {token: t}}]
contexts: [{name: stuck, context: {cluster: stuck, user: me}}]
`);
  // YAML that does not parse: the apply fails at once, so the run ends and cleans up.
  const file = path.join(dir, 'bad.yaml');
  fs.writeFileSync(file, 'apiVersion: tilt.dev/v1alpha1\nkind: KubernetesApply\nmetadata: {name: bad}\nspec:\n  yaml: "kind: ConfigMap\\nmetadata: {name: x\\n"\n');
  const lines: string[] = [];
  const code = await runCi({ files: [file], timeoutMs: 60_000, out: (l) => lines.push(l), log: silentLogger(), cwd: dir, clusterKubeconfig: kubeconfig, namespaceDeleteTimeoutMs: 1_000 });
  const text = lines.join('\n');
  assert.equal(code, 1, text);
  const ns = /namespace\/(ferry-ci-[0-9a-f]+) created/.exec(text)?.[1];
  assert.ok(ns, text);
  assert.deepEqual(deletes, [ns], 'the run deleted its namespace');
  assert.match(text, new RegExp(`^warning: namespace ${ns} is still being deleted after 1s; see kubectl get namespace ${ns}$`, 'm'));
});
