/**
 * deploy/kubernetes: every manifest is well-formed, the RBAC rules grant what the code calls,
 * and kubectl accepts the directory (`apply --dry-run=client`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { kinds } from '../../src/apis/index.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const dir = path.join(repo, 'deploy/kubernetes');

interface Manifest {
  file: string;
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  [k: string]: unknown;
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

function manifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(dir, file), 'utf8'))) {
      assert.deepEqual(doc.errors, [], `${file} parses as YAML`);
      const obj = doc.toJS() as Manifest | null;
      if (obj) out.push({ ...obj, file });
    }
  }
  return out;
}

/** sources returns the text of every .ts file under the given repository folders. */
function sources(...folders: string[]): string {
  const texts: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) texts.push(fs.readFileSync(p, 'utf8'));
    }
  };
  for (const f of folders) walk(path.join(repo, f));
  return texts.join('\n');
}

/** grants says whether some rule gives verb on resource in group (and, if given, namespace). */
function grants(rules: Rule[], group: string, resource: string, verb: string): boolean {
  return rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
}

describe('deploy/kubernetes', () => {
  it('holds manifests with apiVersion, kind and metadata.name', () => {
    const all = manifests();
    assert.ok(all.length >= 5);
    for (const m of all) {
      assert.ok(m.apiVersion, `${m.file}: apiVersion`);
      assert.ok(m.kind, `${m.file}: kind`);
      assert.ok(m.metadata?.name, `${m.file}: ${m.kind} metadata.name`);
    }
    const kindsFound = new Set(all.map((m) => m.kind));
    for (const k of ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Deployment']) assert.ok(kindsFound.has(k), k);
  });

  it('runs the Deployment in external mode, as non-root, with probes', () => {
    const dep = manifests().find((m) => m.kind === 'Deployment') as unknown as {
      spec: { template: { spec: { serviceAccountName: string; securityContext: { runAsNonRoot: boolean }; containers: Array<Record<string, unknown> & { args: string[] }> } } };
    };
    const pod = dep.spec.template.spec;
    assert.equal(pod.serviceAccountName, 'ferry');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    const c = pod.containers[0];
    assert.equal(c.args[0], 'serve');
    assert.ok(c.args.includes('--kubeconfig'), 'external mode');
    assert.ok(c.livenessProbe && c.readinessProbe);
    const kubeconfigMap = manifests().find((m) => m.kind === 'ConfigMap' && m.metadata?.name === 'ferry-kubeconfig') as unknown as { data: { kubeconfig: string } };
    assert.match(kubeconfigMap.data.kubeconfig, /serviceaccount\/token/);
  });

  it('grants what the controllers call, and deletes only what KubernetesApply owns', () => {
    const all = manifests();
    const clusterRules = all.filter((m) => m.kind === 'ClusterRole').flatMap((m) => m.rules as Rule[]);
    const kubePublicRules = all.filter((m) => m.kind === 'Role' && m.metadata?.namespace === 'kube-public').flatMap((m) => m.rules as Rule[]);
    const code = sources('controllers', 'src/runtime', 'src/tilt') + fs.readFileSync(path.join(repo, 'src/controllers.ts'), 'utf8');

    // Informers and reconcilers read every kind; reconcilers write every status.
    for (const k of kinds) {
      for (const verb of ['get', 'list', 'watch']) assert.ok(grants(clusterRules, 'tilt.dev', k.plural, verb), `${verb} ${k.plural}`);
      if (k.kind !== 'ConfigMap') assert.ok(grants(clusterRules, 'tilt.dev', `${k.plural}/status`, 'update'), `update ${k.plural}/status`);
    }
    // Writes through the tilt.dev client, by the kind the call names or the file it is in.
    // addToTriggerQueue belongs to the `ferry trigger` command, run with the user's credentials.
    const daemonCode = code.replace(/export async function addToTriggerQueue[\s\S]*?\n}\n/, '');
    assert.doesNotMatch(daemonCode, /addToTriggerQueue\(/);
    const plural = (kind: string) => kinds.find((k) => k.kind === kind)!.plural;
    for (const m of daemonCode.matchAll(/client\.(create|update|patch|delete)<(\w+)>\(/g)) {
      assert.ok(grants(clusterRules, 'tilt.dev', plural(m[2]), m[1]), `${m[1]} ${plural(m[2])}`);
    }
    for (const m of daemonCode.matchAll(/setFinalizer<(\w+)>\(/g)) assert.ok(grants(clusterRules, 'tilt.dev', plural(m[1]), 'update'), `update ${plural(m[1])} (finalizer)`);
    assert.match(code, /client\.create\(newImageMap/);
    assert.ok(grants(clusterRules, 'tilt.dev', 'imagemaps', 'create'), 'CmdImage creates ImageMaps');
    assert.ok(grants(clusterRules, 'tilt.dev', 'clusters', 'create'), 'default Clusters');
    assert.ok(grants(clusterRules, 'tilt.dev', 'sessions', 'create'), 'default Session');
    if (/client\.(updateStatus)\b/.test(code)) assert.ok(clusterRules.some((r) => r.resources.every((x) => x.endsWith('/status')) && r.verbs.includes('update')));
    assert.ok(!clusterRules.some((r) => r.verbs.includes('*') || r.resources.includes('*')), 'least privilege');
    // Deletes: only the KubernetesDiscoveries KubernetesApply owns, the PodLogStreams of pods gone, and what KubernetesApply applied to the dev cluster.
    for (const r of clusterRules.filter((r) => r.verbs.includes('delete'))) {
      if (r.apiGroups.includes('tilt.dev')) assert.ok(['kubernetesdiscoveries', 'podlogstreams'].includes(r.resources.join()), `tilt.dev deletes: ${r.resources}`);
      else assert.ok(/KubernetesApply/.test(code) && r.resources.includes('deployments'), 'dev cluster deletes are KubernetesApply\'s');
    }
    if (/new ClientNodeObjects|kubernetesTargets\(/.test(code)) {
      for (const verb of ['get', 'create', 'patch', 'delete']) assert.ok(grants(clusterRules, 'apps', 'deployments', verb), `${verb} deployments (KubernetesApply)`);
    }

    // The dev cluster: pods, exec, owners, the registry ConfigMap.
    if (/makeInformer<V1Pod>|listNamespacedPod/.test(code)) {
      for (const verb of ['list', 'watch']) assert.ok(grants(clusterRules, '', 'pods', verb), `${verb} pods`);
    }
    if (/new Exec\(|\bExec\b/.test(sources('src/adapters/containers'))) assert.ok(grants(clusterRules, '', 'pods/exec', 'create'), 'create pods/exec');
    if (/KubernetesObjectApi/.test(code)) {
      assert.ok(grants(clusterRules, 'apps', 'replicasets', 'get'), 'owner chain: replicasets');
      assert.ok(grants(clusterRules, 'apps', 'deployments', 'get'), 'owner chain: deployments');
    }
    if (/readNamespacedConfigMap/.test(code)) {
      assert.ok(grants(kubePublicRules, '', 'configmaps', 'get'), 'get kube-public configmaps');
      assert.deepEqual(kubePublicRules.find((r) => r.resources.includes('configmaps'))?.resourceNames, ['local-registry-hosting']);
    }
  });

  it('comments every RBAC rule with the feature that needs it', () => {
    const text = fs.readFileSync(path.join(dir, '02-rbac.yaml'), 'utf8').split('\n');
    text.forEach((line, i) => {
      if (/^\s*- apiGroups:/.test(line)) assert.match(text[i - 1], /^\s*#/, `line ${i + 1} of 02-rbac.yaml has a comment above it`);
    });
  });

  it('is accepted by `kubectl apply --dry-run=client`', async (t) => {
    const kubectl = await new Promise<boolean>((resolve) => execFile('kubectl', ['version', '--client'], (err) => resolve(!err)));
    if (!kubectl) return t.skip('kubectl is not installed');
    // kubectl maps kinds to resources through discovery even for a client-side dry run, so it
    // gets a server that only answers discovery (and 404 for the objects, which are "created").
    const server = await discoveryServer();
    const kubeconfig = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-kubectl-')), 'config');
    fs.writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config',
      `clusters: [{name: d, cluster: {server: "http://127.0.0.1:${(server.address() as AddressInfo).port}"}}]`,
      'users: [{name: d, user: {}}]',
      'contexts: [{name: d, context: {cluster: d, user: d}}]',
      'current-context: d', '',
    ].join('\n'));
    try {
      const res = await new Promise<{ err: Error | null; stdout: string; stderr: string }>((resolve) =>
        execFile('kubectl', ['--kubeconfig', kubeconfig, 'apply', '--dry-run=client', '--validate=false', '-f', dir],
          { env: { ...process.env, KUBECACHEDIR: path.join(path.dirname(kubeconfig), 'cache') } },
          (err, stdout, stderr) => resolve({ err, stdout, stderr })));
      assert.equal(res.err, null, res.stderr);
      const lines = res.stdout.trim().split('\n');
      assert.equal(lines.length, manifests().length, res.stdout);
      for (const line of lines) assert.match(line, /created \(dry run\)$/);
    } finally {
      server.close();
      fs.rmSync(path.dirname(kubeconfig), { recursive: true, force: true });
    }
  });
});

/** discoveryServer answers Kubernetes discovery for the kinds deploy/kubernetes uses. */
async function discoveryServer(): Promise<http.Server> {
  const res = (name: string, kind: string, namespaced: boolean) => ({ name, singularName: kind.toLowerCase(), namespaced, kind, verbs: ['create', 'get', 'list', 'patch', 'update', 'delete'] });
  const groups: Record<string, { resources: ReturnType<typeof res>[] }> = {
    '/api/v1': { resources: [res('namespaces', 'Namespace', false), res('serviceaccounts', 'ServiceAccount', true), res('configmaps', 'ConfigMap', true)] },
    '/apis/rbac.authorization.k8s.io/v1': {
      resources: [res('clusterroles', 'ClusterRole', false), res('clusterrolebindings', 'ClusterRoleBinding', false), res('roles', 'Role', true), res('rolebindings', 'RoleBinding', true)],
    },
    '/apis/apps/v1': { resources: [res('deployments', 'Deployment', true)] },
  };
  const server = http.createServer((req, rsp) => {
    const url = (req.url ?? '').split('?')[0];
    const send = (code: number, body: object) => {
      rsp.writeHead(code, { 'content-type': 'application/json' });
      rsp.end(JSON.stringify(body));
    };
    if (url === '/api') return send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    if (url === '/apis') {
      return send(200, {
        kind: 'APIGroupList', apiVersion: 'v1',
        groups: ['rbac.authorization.k8s.io', 'apps'].map((name) => ({ name, versions: [{ groupVersion: `${name}/v1`, version: 'v1' }], preferredVersion: { groupVersion: `${name}/v1`, version: 'v1' } })),
      });
    }
    const g = groups[url];
    if (g) return send(200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: url.replace(/^\/apis?\//, ''), resources: g.resources });
    send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
