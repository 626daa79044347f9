/**
 * A KubernetesApply's podLogStreamTemplateSpec reaches the KubernetesDiscovery it owns, as in
 * Tilt, so that the discovery's streams get it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubernetesApply } from '../../../src/apis/index.ts';
import { discoverySpec } from '../../../controllers/kubernetesapply/plan.ts';

test('discoverySpec carries the pod log stream template', () => {
  const template = { sinceTime: '2026-12-04T10:00:00Z', ignoreContainers: ['istio-proxy'] };
  const ka: KubernetesApply = { metadata: { name: 'ka', uid: 'ka-uid' }, spec: { yaml: 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n', podLogStreamTemplateSpec: template } };
  const applied = [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default', uid: 'u1' } }];
  assert.deepEqual(discoverySpec(ka, applied, 'default'), { watches: [{ uid: 'u1', namespace: 'default', name: 'web' }], podLogStreamTemplateSpec: template });
  delete ka.spec!.podLogStreamTemplateSpec;
  assert.equal(discoverySpec(ka, applied, 'default')?.podLogStreamTemplateSpec, undefined, 'no template, none on the discovery');
});
