/**
 * validateObject: every item and map value is checked where it sits, metadata against
 * ObjectMeta's schema, and strings must be well-formed Unicode.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateObject } from '../../src/apis/validate.ts';
import { mustKind } from '../../src/apis/registry.ts';

type Obj = Record<string, any>;

function check(kind: string, obj: Obj, clone = true) {
  const o: Obj = { apiVersion: 'tilt.dev/v1alpha1', kind, metadata: { name: 'x' }, ...(clone ? structuredClone(obj) : obj) };
  const result = validateObject(mustKind(kind), o);
  return { ...result, obj: o, fields: result.errors.map((e) => `${e.type} ${e.field}`) };
}

const fw = { spec: { watchedPaths: ['/src'] } };
const lu = { spec: { basePath: '/b', selector: { dockerCompose: { service: 's' } }, syncs: [{ localPath: '.', containerPath: '/app' }] } };

describe('validateObject', () => {
  it('refuses null items in every array, before the kind rules read them', () => {
    const cases: Array<[string, Obj, string]> = [
      ['FileWatch', { spec: { ...fw.spec, ignores: [null] } }, 'spec.ignores[0]'],
      ['FileWatch', { spec: { watchedPaths: [null] } }, 'spec.watchedPaths[0]'],
      ['FileWatch', { spec: { ...fw.spec, ignores: [{ basePath: '/b', patterns: [null] }] } }, 'spec.ignores[0].patterns[0]'],
      ['LiveUpdate', { spec: { ...lu.spec, syncs: [null] } }, 'spec.syncs[0]'],
      ['LiveUpdate', { spec: { ...lu.spec, execs: [null] } }, 'spec.execs[0]'],
      ['LiveUpdate', { spec: { ...lu.spec, execs: [{ args: [null] }] } }, 'spec.execs[0].args[0]'],
      ['LiveUpdate', { spec: { ...lu.spec, sources: [null] } }, 'spec.sources[0]'],
      ['LiveUpdate', { spec: { ...lu.spec, stopPaths: [null] } }, 'spec.stopPaths[0]'],
      ['KubernetesDiscovery', { spec: { watches: [null] } }, 'spec.watches[0]'],
      ['Cmd', { spec: { args: ['true'], env: [null] } }, 'spec.env[0]'],
      ['Cmd', { spec: { args: [null] } }, 'spec.args[0]'],
      ['Session', { spec: { tiltfilePath: '/T', exitCondition: 'ci' }, status: { pid: 1, startTime: '2026-01-01T00:00:00Z', done: false, targets: [null] } }, 'status.targets[0]'],
      ['FileWatch', { ...fw, metadata: { name: 'x', finalizers: [null] } }, 'metadata.finalizers[0]'],
      ['FileWatch', { ...fw, metadata: { name: 'x', ownerReferences: [null] } }, 'metadata.ownerReferences[0]'],
    ];
    for (const [kind, obj, field] of cases) {
      const r = check(kind, obj);
      assert.deepEqual(r.fields, [`TypeInvalid ${field}`], `${kind} ${field}`);
      assert.match(r.errors[0].detail!, /must be of type (string|object): "null"/);
    }
  });

  it('refuses null and wrong-typed values in every map', () => {
    assert.deepEqual(check('ConfigMap', { data: { a: null } }).fields, ['TypeInvalid data[a]']);
    assert.deepEqual(check('ConfigMap', { data: { a: 1 } }).fields, ['TypeInvalid data[a]']);
    const sel = { spec: { watches: [{ namespace: 'n' }], extraSelectors: [{ matchLabels: { app: null } }] } };
    assert.deepEqual(check('KubernetesDiscovery', sel).fields, ['TypeInvalid spec.extraSelectors[0].matchLabels[app]']);
    assert.deepEqual(check('FileWatch', { ...fw, metadata: { name: 'x', labels: { a: 1 } } }).fields, ['TypeInvalid metadata.labels[a]']);
    assert.deepEqual(check('FileWatch', { ...fw, metadata: { name: 'x', annotations: { a: { deep: 'x' } } } }).fields, ['TypeInvalid metadata.annotations[a]']);
  });

  it('treats a null object field as absent: removed, an error only when required', () => {
    const r = check('FileWatch', { spec: { ...fw.spec, ignores: null, disableSource: null }, metadata: { name: 'x', labels: null, creationTimestamp: null } });
    assert.deepEqual(r.fields, []);
    assert.deepEqual(r.obj.spec, fw.spec);
    assert.deepEqual(r.obj.metadata, { name: 'x' });
    assert.ok(check('FileWatch', { spec: null }).fields.includes('Required spec'));
    assert.deepEqual(check('LiveUpdate', { spec: { ...lu.spec, syncs: [{ localPath: '.', containerPath: null }] } }).fields.includes('Required spec.syncs[0].containerPath'), true);
  });

  it('checks metadata fields against the ObjectMeta schema', () => {
    const meta = (m: Obj) => check('FileWatch', { ...fw, metadata: { name: 'x', ...m } }).fields;
    assert.deepEqual(meta({ generateName: 5 }), ['TypeInvalid metadata.generateName']);
    assert.deepEqual(meta({ generateName: { a: 1 } }), ['TypeInvalid metadata.generateName']);
    assert.deepEqual(meta({ finalizers: [1] }), ['TypeInvalid metadata.finalizers[0]']);
    assert.deepEqual(meta({ ownerReferences: ['x'] }), ['TypeInvalid metadata.ownerReferences[0]']);
    assert.deepEqual(meta({ ownerReferences: [{ apiVersion: 1, kind: 'K', name: 'n', uid: 'u', controller: 'yes' }] }), [
      'TypeInvalid metadata.ownerReferences[0].apiVersion',
      'TypeInvalid metadata.ownerReferences[0].controller',
    ]);
    assert.deepEqual(meta({ ownerReferences: [{ kind: 'K' }] }).sort(), ['Required metadata.ownerReferences[0].apiVersion', 'Required metadata.ownerReferences[0].name', 'Required metadata.ownerReferences[0].uid']);
    assert.deepEqual(meta({ generation: '1' }), ['TypeInvalid metadata.generation']);
    assert.deepEqual(meta({ resourceVersion: 7 }), ['TypeInvalid metadata.resourceVersion']);
    const unknown = check('FileWatch', { ...fw, metadata: { name: 'x', ownerReferences: [{ apiVersion: 'v1', kind: 'K', name: 'n', uid: 'u', bogus: 1 }] } });
    assert.deepEqual(unknown.unknownFields, ['metadata.ownerReferences[0].bogus']);
  });

  it('refuses strings and keys that are not well-formed Unicode, anywhere', () => {
    const bad = 'a\ud800';
    const cases: Array<[string, Obj, string]> = [
      ['FileWatch', { ...fw, metadata: { name: bad } }, 'metadata.name'],
      ['FileWatch', { ...fw, metadata: { name: 'x', generateName: bad } }, 'metadata.generateName'],
      ['FileWatch', { ...fw, metadata: { name: 'x', labels: { a: bad } } }, 'metadata.labels[a]'],
      ['FileWatch', { ...fw, metadata: { name: 'x', annotations: { [bad]: 'v' } } }, 'metadata.annotations[a\\ud800]'],
      ['FileWatch', { ...fw, metadata: { name: 'x', finalizers: ['\udc00'] } }, 'metadata.finalizers[0]'],
      ['FileWatch', { spec: { watchedPaths: [bad] } }, 'spec.watchedPaths[0]'],
      ['ConfigMap', { data: { [bad]: 'v' } }, 'data[a\\ud800]'],
      ['ConfigMap', { data: { k: `x${bad}` } }, 'data[k]'],
      ['Cmd', { spec: { args: ['true'], readinessProbe: { handler: { httpGet: { port: bad } } } } }, 'spec.readinessProbe.handler.httpGet.port'],
      ['FileWatch', { ...fw, metadata: { name: 'x', managedFields: [{ fieldsV1: { 'f:spec': { [bad]: {} } } }] } }, 'metadata.managedFields[0].fieldsV1.f:spec.a\\ud800'],
    ];
    for (const [kind, obj, field] of cases) {
      const r = check(kind, obj);
      assert.deepEqual(r.fields, [`TypeInvalid ${field}`], `${kind} ${field}`);
      assert.match(r.errors[0].detail!, /unpaired UTF-16 surrogate/);
    }
    assert.deepEqual(check('FileWatch', { spec: { watchedPaths: ['emoji \ud83d\ude00 ok'] } }).fields, [], 'a surrogate pair is fine');
  });

  it('knows only its own fields: Object.prototype names are unknown', () => {
    const r = check('FileWatch', { spec: { ...fw.spec, toString: 1, constructor: 'x' }, hasOwnProperty: 2 });
    assert.deepEqual(r.fields, []);
    assert.deepEqual(r.unknownFields.sort(), ['hasOwnProperty', 'spec.constructor', 'spec.toString']);
    assert.deepEqual(r.obj.spec, fw.spec);
  });

  it('refuses dates that are not dates', () => {
    assert.deepEqual(check('FileWatch', { ...fw, metadata: { name: 'x', creationTimestamp: 'yesterday' } }).fields, ['TypeInvalid metadata.creationTimestamp']);
  });

  it('keeps integers within their format', () => {
    const exec = (timeoutSeconds: number) => check('LiveUpdate', { spec: { ...lu.spec, execs: [{ args: ['x'], timeoutSeconds }] } }).fields;
    assert.deepEqual(exec(60), []);
    assert.deepEqual(exec(2 ** 31), ['TypeInvalid spec.execs[0].timeoutSeconds']);
    assert.deepEqual(exec(1.5), ['TypeInvalid spec.execs[0].timeoutSeconds']);
    assert.deepEqual(check('FileWatch', { ...fw, metadata: { name: 'x', generation: 2 ** 60 } }).fields, ['TypeInvalid metadata.generation']);
    assert.deepEqual(check('Cmd', { spec: { args: ['x'], readinessProbe: { handler: { httpGet: { port: 1e300 } } } } }).fields, ['TypeInvalid spec.readinessProbe.handler.httpGet.port']);
  });

  it('does not recurse into values deeper than the schema', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = i % 2 ? [deep] : { a: deep };
    assert.deepEqual(check('FileWatch', { spec: { watchedPaths: [deep] } }, false).fields, ['TypeInvalid spec.watchedPaths[0]']);
    const free = check('FileWatch', { ...fw, metadata: { name: 'x', managedFields: [{ fieldsV1: { a: deep } }] } }, false);
    assert.deepEqual(free.fields, [], 'free-form content may nest: it is scanned without recursion');
  });
});
