import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JSONPath, JSONPathError } from '../../../src/adapters/images/index.ts';

const doc = {
  spec: {
    image: 'a',
    containers: [{ name: 'app', image: 'b' }, { name: 'side', image: 'c' }],
    'dotted.key': { image: 'd' },
    empty: [],
  },
};

const values = (path: string, obj: unknown = doc) => JSONPath.parse(path).find(obj).map((p) => p.value);

describe('JSONPath', () => {
  it('follows fields, indexes, wildcards, quoted keys and equality filters', () => {
    assert.deepEqual(values('{.spec.image}'), ['a']);
    assert.deepEqual(values('.spec.image'), ['a']);
    assert.deepEqual(values('{$.spec.image}'), ['a']);
    assert.deepEqual(values('{.spec.containers[*].image}'), ['b', 'c']);
    assert.deepEqual(values('{.spec.containers[1].image}'), ['c']);
    assert.deepEqual(values('{.spec.containers[-1].image}'), ['c']);
    assert.deepEqual(values("{.spec['dotted.key'].image}"), ['d']);
    assert.deepEqual(values('{.spec.containers[?(@.name=="app")].image}'), ['b']);
    assert.deepEqual(values("{.spec.containers[?(@.name != 'app')].image}"), ['c']);
    assert.deepEqual(values('{.spec.empty[*].image}'), [], 'nothing to look in is not an error');
  });

  it('writes through the places it finds', () => {
    const obj = structuredClone(doc);
    for (const p of JSONPath.parse('{.spec.containers[*].image}').find(obj)) p.set(`${p.value}!`);
    assert.deepEqual(obj.spec.containers.map((c) => c.image), ['b!', 'c!']);
  });

  it('reports a missing field and an index out of range, as kubectl does', () => {
    assert.throws(() => values('{.spec.nope}'), { name: 'JSONPathError', message: 'nope is not found' });
    assert.throws(() => values('{.spec.containers[5]}'), { message: 'array index out of bounds: index 5, length 2' });
  });

  it('refuses what it does not support when parsing', () => {
    for (const p of ['{..image}', '{.spec.containers[0:1]}', '{range .items[*]}{.x}{end}', '{}', '{.spec.image)}']) {
      assert.throws(() => JSONPath.parse(p), JSONPathError, p);
    }
  });
});
