/**
 * deploy/crds is generated from the API schemas and must not drift from them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { crdFiles } from '../../src/apis/crd.ts';
import { kinds } from '../../src/apis/registry.ts';

const dir = path.resolve(import.meta.dirname, '../../deploy/crds');

describe('CRDs', () => {
  it('match the schemas (run `npm run gen:crds` after changing src/apis)', () => {
    const onDisk = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
    const generated = crdFiles();
    assert.deepEqual(onDisk, [...generated.keys()].sort());
    for (const [name, text] of generated) assert.equal(fs.readFileSync(path.join(dir, name), 'utf8'), text, `${name} is stale`);
  });

  it('are structural, cluster-scoped, with a status subresource for every kind but ConfigMap', () => {
    for (const k of kinds) {
      const crd = YAML.parse(crdFiles().get(`tilt.dev_${k.plural}.yaml`)!);
      assert.equal(crd.spec.scope, 'Cluster');
      const v = crd.spec.versions[0];
      assert.equal(!!v.subresources?.status, k.hasStatus, k.kind);
      const walk = (s: Record<string, any>, at: string) => {
        assert.ok(s.type || s['x-kubernetes-int-or-string'] || s['x-kubernetes-preserve-unknown-fields'], `${k.kind} ${at} has a type`);
        for (const [n, sub] of Object.entries(s.properties ?? {})) walk(sub as Record<string, any>, `${at}.${n}`);
        if (s.items) walk(s.items, `${at}[]`);
      };
      walk(v.schema.openAPIV3Schema, k.kind);
    }
  });
});
