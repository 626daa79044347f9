/** The command line's copy of the group and version, and kind name resolution from discovery. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import * as meta from '../../src/apis/meta.ts';
import { kinds } from '../../src/apis/registry.ts';
import { apiVersion, fromDiscovery, group, resolveKindName, version } from '../../src/client/kinds.ts';
import * as names from '../../src/apis/names.ts';
import { lastAppliedAnnotation } from '../../src/cli/apply.ts';

it('agrees with src/apis on the group and version', () => {
  assert.deepEqual([group, version, apiVersion], [meta.group, meta.version, meta.apiVersion]);
  assert.equal(lastAppliedAnnotation, meta.lastAppliedConfigAnnotation);
  assert.equal(names.triggerQueueName, meta.triggerQueueName);
  assert.equal(names.resourceAnnotation, meta.annotations.resource);
  const obj = { metadata: { name: 'n', annotations: { [meta.annotations.resource]: 'r' } } };
  assert.equal(names.resourceName(obj), meta.resourceName(obj));
  assert.equal(names.resourceName({ metadata: { name: 'n' } }), 'n');
});

it('resolves every name of every kind as the registry does', () => {
  const names = fromDiscovery({
    resources: kinds.flatMap((k) => [
      { name: k.plural, singularName: k.singular, shortNames: [...k.shortNames], kind: k.kind },
      { name: `${k.plural}/status`, singularName: '', kind: k.kind },
    ]),
  });
  assert.equal(names.length, kinds.length, 'subresources are not kinds');
  for (const k of kinds) {
    for (const n of [k.kind, k.plural, k.singular, ...k.shortNames, `${k.plural}.tilt.dev`, k.kind.toUpperCase()]) {
      assert.equal(resolveKindName(names, n)?.kind, k.kind, n);
    }
  }
  assert.equal(resolveKindName(names, 'pods'), undefined);
});
