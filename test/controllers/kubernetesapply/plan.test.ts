import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImageMap, KubernetesApply, KubernetesApplySpec } from '../../../src/apis/index.ts';
import {
  applyCmdEnv,
  applyReason,
  danglingObjects,
  deletableObjects,
  objectLogFields,
  discoverySpec,
  imageMapWait,
  inputHash,
  parseYamlObjects,
  sortForApply,
} from '../../../controllers/kubernetesapply/plan.ts';
import { lastRestartEventUs } from '../../../src/tilt/index.ts';
import { clientSideApplyPatch, lastAppliedAnnotation, withLastApplied, type KubeResource } from '../../../src/adapters/kubernetes/index.ts';

const deployment = (name: string, extra: Record<string, unknown> = {}): KubeResource => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, ...extra } });

test('parseYamlObjects reads every document in order, skips empty ones and opens Lists', () => {
  const objs = parseYamlObjects(`
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
---
apiVersion: v1
kind: List
items:
- {apiVersion: apps/v1, kind: Deployment, metadata: {name: b}}
- {apiVersion: v1, kind: Service, metadata: {name: c, namespace: x}}
`);
  assert.deepEqual(objs.map((o) => `${o.kind}/${o.metadata?.name}`), ['ConfigMap/a', 'Deployment/b', 'Service/c']);
});

test('parseYamlObjects rejects what is not YAML or not an object, with the document number', () => {
  assert.throws(() => parseYamlObjects('kind: [unclosed'), /parsing YAML document 1/);
  assert.throws(() => parseYamlObjects('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n- 1\n- 2\n'), /YAML document 2 is not a Kubernetes object/);
  assert.throws(() => parseYamlObjects('metadata: {name: a}\n'), /'Kind' or 'apiVersion' is missing/);
  assert.throws(() => parseYamlObjects('apiVersion: v1\nkind: ConfigMap\n'), /has no metadata.name/);
});

const im = (name: string, image: string, buildStartTime?: string): ImageMap => ({
  metadata: { name },
  spec: { selector: 'web' },
  status: { image, imageFromCluster: image, imageFromLocal: image, ...(buildStartTime ? { buildStartTime } : {}) },
});

test('inputHash ignores buildStartTime and key order, and follows the spec and the images', () => {
  const spec: KubernetesApplySpec = { yaml: 'a', imageMaps: ['web'] };
  const h = inputHash(spec, [im('web', 'web:1', '2026-01-01T00:00:00.000000Z')]);
  assert.equal(inputHash(spec, [im('web', 'web:1', '2026-01-02T00:00:00.000000Z')]), h);
  assert.equal(inputHash({ imageMaps: ['web'], yaml: 'a' }, [im('web', 'web:1')]), h);
  assert.notEqual(inputHash(spec, [im('web', 'web:2')]), h);
  assert.notEqual(inputHash({ ...spec, yaml: 'b' }, [im('web', 'web:1')]), h);
});

test('imageMapWait names the first ImageMap that is missing or has no image', () => {
  assert.equal(imageMapWait(['a', 'b'], [im('a', 'a:1'), undefined])?.message, 'waiting for ImageMap "b" to exist');
  assert.equal(imageMapWait(['a'], [{ metadata: { name: 'a' }, spec: { selector: 'a' } }])?.message, 'waiting for ImageMap "a" to have an image');
  assert.equal(imageMapWait(['a'], [im('a', 'a:1')]), undefined);
});

test('applyReason: first apply, changed inputs, restartOn events and triggers; a failure is not retried until something changes', () => {
  const applied = { lastApplyTime: '2026-01-01T00:00:10.000000Z', appliedInputHash: 'h1' };
  assert.equal(applyReason({ hash: 'h1', status: {}, restartEventUs: NaN, triggered: false }), 'FirstApply');
  // A status stored by an earlier process: the same inputs are not applied again.
  assert.equal(applyReason({ hash: 'h1', status: applied, restartEventUs: NaN, triggered: false }), undefined);
  assert.equal(applyReason({ hash: 'h2', status: applied, restartEventUs: NaN, triggered: false }), 'InputsChanged');
  assert.equal(applyReason({ hash: 'h1', attemptedHash: 'h1', status: { ...applied, appliedInputHash: undefined, error: 'boom' }, restartEventUs: NaN, triggered: false }), undefined);
  assert.equal(applyReason({ hash: 'h2', attemptedHash: 'h1', status: { error: 'boom' }, restartEventUs: NaN, triggered: false }), 'InputsChanged');
  const t = Date.parse('2026-01-01T00:00:10Z') * 1000;
  assert.equal(applyReason({ hash: 'h1', attemptedHash: 'h1', status: applied, restartEventUs: t + 1, triggered: false }), 'RestartOn');
  assert.equal(applyReason({ hash: 'h1', attemptedHash: 'h1', status: applied, restartEventUs: t - 1, triggered: false }), undefined);
  assert.equal(applyReason({ hash: 'h1', attemptedHash: 'h1', status: applied, restartEventUs: NaN, triggered: true }), 'Trigger');
});

test('lastRestartEventUs is the newest event of the enabled restartOn FileWatches', () => {
  const fws: Record<string, { status: { lastEventTime?: string; disableStatus?: { disabled: boolean } } }> = {
    a: { status: { lastEventTime: '2026-01-01T00:00:01.000000Z' } },
    b: { status: { lastEventTime: '2026-01-01T00:00:05.000000Z', disableStatus: { disabled: true } } },
  };
  const get = (n: string) => fws[n] as never;
  assert.equal(lastRestartEventUs(['a', 'b', 'missing'], get), Date.parse('2026-01-01T00:00:01Z') * 1000);
  assert.ok(Number.isNaN(lastRestartEventUs(undefined, get)));
});

test('danglingObjects: what the last apply had and this one has not, newest first, except down-policy keep', () => {
  const before = [deployment('a', { namespace: 'n' }), deployment('b', { namespace: 'n' }), deployment('c', { namespace: 'n', annotations: { 'tilt.dev/down-policy': 'keep' } }), deployment('d', { namespace: 'n' })];
  const now = [{ ...deployment('a', { namespace: 'n' }), apiVersion: 'apps/v1beta1' }];
  assert.deepEqual(danglingObjects(before, now).map((r) => r.name), ['d', 'b']);
  const all = deletableObjects([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } }, deployment('a', { namespace: 'n' })]);
  assert.deepEqual(all.map((r) => `${r.kind}/${r.name}`), ['Deployment/a']);
});

test('applyCmdEnv layers the spec env, the image maps and KUBECONFIG over the base', () => {
  const env = applyCmdEnv({ PATH: '/bin', KUBECONFIG: '/old' }, ['A=1', 'B=x=y'], [{ name: 'web', imageFromCluster: 'reg/web:abc' }, { name: 'api', imageFromCluster: 'reg/api:def' }], '/kube');
  assert.deepEqual(env, { PATH: '/bin', KUBECONFIG: '/kube', A: '1', B: 'x=y', TILT_IMAGE_MAP_0: 'web', TILT_IMAGE_0: 'reg/web:abc', TILT_IMAGE_MAP_1: 'api', TILT_IMAGE_1: 'reg/api:def' });
});

const ka = (spec: KubernetesApplySpec): KubernetesApply => ({ metadata: { name: 'ka', uid: 'ka-uid' }, spec });

test('discoverySpec watches the applied uids, the other namespaces of the YAML and the extra selectors', () => {
  const yaml = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: svc, namespace: other}\n';
  const applied = [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'dev', uid: 'u1' } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'other', uid: 'u2' } },
  ];
  const selectors = [{ matchLabels: { app: 'web' } }];
  assert.deepEqual(discoverySpec(ka({ yaml, cluster: 'c', kubernetesDiscoveryTemplateSpec: { extraSelectors: selectors } }), applied, 'dev'), {
    watches: [
      { uid: 'u1', namespace: 'dev', name: 'web' },
      { uid: 'u2', namespace: 'other', name: 'svc' },
    ],
    extraSelectors: selectors,
    cluster: 'c',
  });
  assert.deepEqual(discoverySpec(ka({ yaml, discoveryStrategy: 'selectors-only', kubernetesDiscoveryTemplateSpec: { extraSelectors: selectors } }), applied, 'dev'), {
    watches: [{ namespace: 'dev' }, { namespace: 'other' }],
    extraSelectors: selectors,
  });
});

test('a client-side apply patch sets the new configuration and removes what the last apply set and this one does not', () => {
  const last = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', labels: { x: '1', y: '2' } }, data: { k: 'v', old: 'o' } };
  const next = withLastApplied({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', labels: { x: '1' } }, data: { k: 'v2' } });
  const patch = clientSideApplyPatch(last, next) as { metadata: { labels: Record<string, unknown>; annotations: Record<string, string> }; data: Record<string, unknown> };
  assert.deepEqual(patch.data, { k: 'v2', old: null });
  assert.deepEqual(patch.metadata.labels, { x: '1', y: null });
  assert.deepEqual(JSON.parse(patch.metadata.annotations[lastAppliedAnnotation]!), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', labels: { x: '1' } }, data: { k: 'v2' } });
});

test('sortForApply puts namespaces and configuration before workloads, keeping the YAML order within a kind', () => {
  const objs = ['Deployment/a', 'Widget/w', 'Service/s', 'Namespace/n', 'ConfigMap/c', 'Deployment/b'].map((k) => ({ kind: k.split('/')[0], name: k.split('/')[1] }));
  assert.deepEqual(sortForApply(objs).map((o) => `${o.kind}/${o.name}`), ['Namespace/n', 'ConfigMap/c', 'Service/s', 'Deployment/a', 'Deployment/b', 'Widget/w']);
});

test('objectLogFields names the namespace only of an object that has one', () => {
  assert.deepEqual(objectLogFields({ apiVersion: 'v1', kind: 'Namespace', name: 'n' }), { object: 'Namespace/n' });
  assert.deepEqual(objectLogFields({ apiVersion: 'v1', kind: 'Namespace', name: 'n', namespace: '' }), { object: 'Namespace/n' });
  assert.deepEqual(objectLogFields({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'a', namespace: 'n' }), { object: 'Deployment/a', namespace: 'n' });
});
