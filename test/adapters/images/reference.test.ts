import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  RefError,
  familiarName,
  familiarString,
  parseNamedTagged,
  parseRef,
  refNamesEqual,
  tryParseRef,
} from '../../../src/adapters/images/index.ts';

describe('parseRef', () => {
  it('normalises Docker Hub names', () => {
    assert.equal(parseRef('foo').toString(), 'docker.io/library/foo');
    assert.equal(parseRef('user/foo:1').toString(), 'docker.io/user/foo:1');
    assert.equal(parseRef('index.docker.io/foo').toString(), 'docker.io/library/foo');
    assert.equal(parseRef('library/nginx').name, 'docker.io/library/nginx');
  });

  it('keeps registries with a dot, a port or localhost', () => {
    const r = parseRef('localhost:5000/foo/bar:dev');
    assert.equal(r.domain, 'localhost:5000');
    assert.equal(r.path, 'foo/bar');
    assert.equal(r.tag, 'dev');
    assert.equal(parseRef('gcr.io/foo/bar').domain, 'gcr.io');
    assert.equal(parseRef('localhost/foo').domain, 'localhost');
    assert.equal(parseRef('127.0.0.1:5000/x').domain, '127.0.0.1:5000');
  });

  it('parses digests, with and without a tag', () => {
    const digest = 'sha256:' + 'a'.repeat(64);
    const r = parseRef(`nginx:1.2@${digest}`);
    assert.equal(r.tag, '1.2');
    assert.equal(r.digest, digest);
    assert.equal(r.familiarString(), `nginx:1.2@${digest}`);
  });

  it('reads a bare host:port as a name with a tag, as docker does', () => {
    const r = parseRef('localhost:5000');
    assert.equal(r.toString(), 'docker.io/library/localhost:5000');
  });

  it('rejects invalid references', () => {
    for (const bad of ['', 'Foo', 'foo/Bar', 'foo:bad tag', 'foo@sha256:xyz', ':tag', 'a'.repeat(64), 'foo//bar', '-foo']) {
      assert.throws(() => parseRef(bad), RefError, bad);
    }
    assert.throws(() => parseRef('foo/Bar'), /must be lowercase/);
    assert.throws(() => parseRef('a'.repeat(64)), /cannot specify 64-byte hexadecimal strings/);
    assert.equal(tryParseRef('Foo'), undefined);
  });

  it('gives familiar forms', () => {
    assert.equal(familiarName('docker.io/library/nginx:1'), 'nginx');
    assert.equal(familiarString('docker.io/library/nginx:1'), 'nginx:1');
    assert.equal(familiarString('docker.io/user/app'), 'user/app');
    assert.equal(familiarString('docker.io/library/a/b'), 'library/a/b');
    assert.equal(familiarName('localhost:1234/foo_bar:tilt-1'), 'localhost:1234/foo_bar');
  });

  it('requires a tag where one is expected, with Tilt\'s message', () => {
    assert.equal(parseNamedTagged('foo:1').tag, '1');
    assert.throws(() => parseNamedTagged('999'), { message: 'Expected reference "999" to contain a tag' });
  });

  it('withTag replaces tag and digest', () => {
    const digest = 'sha256:' + 'b'.repeat(64);
    assert.equal(parseRef(`foo:1@${digest}`).withTag('2').familiarString(), 'foo:2');
    assert.throws(() => parseRef('foo').withTag('bad tag'), RefError);
  });
});

describe('refNamesEqual', () => {
  it('compares names, not tags', () => {
    assert.equal(refNamesEqual('nginx', 'docker.io/library/nginx:1.2'), true);
    assert.equal(refNamesEqual('nginx', 'library/nginx'), true);
    assert.equal(refNamesEqual('nginx', 'myreg/nginx'), false);
    assert.equal(refNamesEqual('nginx', 'Not A Ref'), false);
  });
});
