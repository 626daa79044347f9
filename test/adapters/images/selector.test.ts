import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRef, parseSelector, selectorMatches } from '../../../src/adapters/images/index.ts';

describe('selectorMatches', () => {
  const digest = 'sha256:' + 'c'.repeat(64);

  it('matches by name by default', () => {
    const spec = { selector: 'nginx' };
    assert.equal(selectorMatches(spec, 'nginx:1.2'), true);
    assert.equal(selectorMatches(spec, `docker.io/library/nginx@${digest}`), true);
    assert.equal(selectorMatches(spec, 'library/nginx'), true);
    assert.equal(selectorMatches(spec, 'myreg/nginx'), false);
    assert.equal(selectorMatches({ selector: 'nginx:1.0' }, 'nginx:2.0'), true);
  });

  it('matches exactly with matchExact, without an implicit latest', () => {
    assert.equal(selectorMatches({ selector: 'foo', matchExact: true }, 'foo'), true);
    assert.equal(selectorMatches({ selector: 'foo', matchExact: true }, 'foo:latest'), false);
    assert.equal(selectorMatches({ selector: 'foo:1', matchExact: true }, 'docker.io/library/foo:1'), true);
    assert.equal(selectorMatches({ selector: 'foo:1', matchExact: true }, 'foo:2'), false);
    assert.equal(selectorMatches({ selector: 'foo:1', matchExact: true }, `foo:1@${digest}`), false);
  });

  it('matches nothing when either side is not a reference', () => {
    assert.equal(selectorMatches({ selector: 'Bad' }, 'bad'), false);
    assert.equal(selectorMatches({ selector: 'bad' }, 'Bad'), false);
  });

  it('accepts parsed references', () => {
    assert.equal(parseSelector({ selector: 'gcr.io/a/b' }).matches(parseRef('gcr.io/a/b:x')), true);
  });
});
