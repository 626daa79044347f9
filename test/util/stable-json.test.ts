import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stableStringify } from '../../src/util/stable-json.ts';
import { inputHash } from '../../controllers/kubernetesapply/plan.ts';
import type { ImageMap, KubernetesApplySpec } from '../../src/apis/index.ts';

test('stableStringify sorts keys at every depth and leaves out undefined properties', () => {
  const a = { b: [1, { d: 2, c: undefined }], a: 'x', é: null };
  const b = { é: null, a: 'x', b: [1, { d: 2 }] };
  assert.equal(stableStringify(a), '{"a":"x","b":[1,{"d":2}],"é":null}');
  assert.equal(stableStringify(a), stableStringify(b));
  assert.equal(stableStringify([undefined]), '[null]');
  assert.equal(stableStringify('s'), '"s"');
});

test('the apply input hash stays what it was (stored as appliedInputHash)', () => {
  const spec = { yaml: 'kind: X\n', imageMaps: ['im'], restartOn: { fileWatches: ['a'] } } as KubernetesApplySpec;
  const im = { kind: 'ImageMap', metadata: { name: 'im' }, spec: { selector: 'web', matchInEnvVars: true }, status: { image: 'web:1', imageFromCluster: 'web:1', buildStartTime: 'x' } } as ImageMap;
  assert.equal(inputHash(spec, [im]), 'Sy5MzN8PqiJf7gPYxK2ZkZtlkpw');
});
