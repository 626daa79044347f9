import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RefSet, clusterRefFor, contentTag, escapeName, parseRef } from '../../../src/adapters/images/index.ts';

describe('registry rewriting', () => {
  it('escapes the familiar name under the registry host', () => {
    const refs = new RefSet(parseRef('gcr.io/foo/bar'), { host: 'localhost:1234' });
    assert.equal(refs.localRef.familiarString(), 'localhost:1234/gcr.io_foo_bar');
    assert.equal(refs.clusterRef.familiarString(), 'localhost:1234/gcr.io_foo_bar');
    assert.equal(escapeName('a/b:c@d'), 'a_b_c_d');
  });

  it('uses hostFromContainerRuntime for the cluster ref', () => {
    const refs = new RefSet(parseRef('foo'), { host: 'localhost:1234', hostFromContainerRuntime: 'registry:5000' });
    assert.equal(refs.localRef.familiarString(), 'localhost:1234/foo');
    assert.equal(refs.clusterRef.familiarString(), 'registry:5000/foo');
    const t = refs.tagged('t1');
    assert.equal(t.local.familiarString(), 'localhost:1234/foo:t1');
    assert.equal(t.cluster.familiarString(), 'registry:5000/foo:t1');
  });

  it('leaves a ref already under the registry unchanged', () => {
    const refs = new RefSet(parseRef('localhost:1234/foo:dev'), { host: 'localhost:1234', hostFromContainerRuntime: 'registry:5000' });
    assert.equal(refs.localRef.familiarString(), 'localhost:1234/foo');
    assert.equal(refs.clusterRef.familiarString(), 'registry:5000/foo');
  });

  it('folds the name into the tag with singleName', () => {
    const refs = new RefSet(parseRef('gcr.io/foo/bar'), { host: 'reg.example.com', singleName: 'dev-images' });
    assert.equal(refs.localRef.familiarString(), 'reg.example.com/dev-images');
    assert.equal(refs.tagged('tilt-123').local.familiarString(), 'reg.example.com/dev-images:gcr.io_foo_bar-tilt-123');
  });

  it('without a registry the refs are the configured name without tag', () => {
    const refs = new RefSet(parseRef('foo:dev'));
    assert.equal(refs.hasRegistry, false);
    assert.equal(refs.localRef.familiarString(), 'foo');
    assert.equal(refs.tagged('x').cluster.familiarString(), 'foo:x');
    assert.equal(new RefSet(parseRef('foo'), { host: 'h:1' }).withoutRegistry().localRef.familiarString(), 'foo');
  });

  it('swaps the host of a local ref for the cluster', () => {
    const reg = { host: 'localhost:1234', hostFromContainerRuntime: 'registry:5000' };
    assert.equal(clusterRefFor(parseRef('localhost:1234/foo:1'), reg).familiarString(), 'registry:5000/foo:1');
    assert.equal(clusterRefFor(parseRef('other/foo:1'), reg).familiarString(), 'other/foo:1');
    assert.equal(clusterRefFor(parseRef('localhost:1234/foo:1')).familiarString(), 'localhost:1234/foo:1');
  });
});

describe('contentTag', () => {
  it('is tilt- and the first 16 hex digits of the id', () => {
    assert.equal(contentTag('sha256:0123456789abcdef0123456789abcdef'), 'tilt-0123456789abcdef');
  });
  it('rejects a short digest', () => {
    assert.throws(() => contentTag('sha256:0123'), /Digest too short/);
  });
});
