/**
 * Bad input gets the right Status, and the server keeps serving.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiServer, rawRequest, type TestApiServer } from '../support/apiserver.ts';

const path = '/apis/tilt.dev/v1alpha1/filewatches';
const good = { apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'ok' }, spec: { watchedPaths: ['/tmp'] } };

describe('bad input', () => {
  let s: TestApiServer;
  before(async () => {
    s = await startTestApiServer();
  });
  after(() => s.close());

  const post = (body: string | object, opts: { query?: string; headers?: Record<string, string>; token?: string | null } = {}) =>
    rawRequest(s.server, { method: 'POST', path: path + (opts.query ?? ''), body: typeof body === 'string' ? body : JSON.stringify(body), headers: opts.headers, token: opts.token });

  async function expectStatus(p: Promise<{ status: number; json(): any }>, code: number, reason: string, message?: RegExp) {
    const r = await p;
    assert.equal(r.status, code);
    const body = r.json();
    assert.equal(body.kind, 'Status');
    assert.equal(body.code, code);
    assert.equal(body.reason, reason);
    if (message) assert.match(body.message, message);
    return body;
  }

  it('rejects malformed JSON and YAML', async () => {
    await expectStatus(post('{"apiVersion": '), 400, 'BadRequest', /could not be decoded/);
    await expectStatus(post('kind: [unclosed', { headers: { 'Content-Type': 'application/yaml' } }), 400, 'BadRequest');
    await expectStatus(post('[1,2]'), 400, 'BadRequest');
  });

  it('rejects wrong types and missing required fields with field causes', async () => {
    const t = await expectStatus(post({ ...good, spec: { watchedPaths: 'not-a-list' } }), 422, 'Invalid');
    assert.deepEqual(t.details.causes, [{ reason: 'FieldValueTypeInvalid', message: 'Invalid value: "string": spec.watchedPaths in body must be of type array: "string"', field: 'spec.watchedPaths' }]);
    const m = await expectStatus(post({ ...good, spec: {} }), 422, 'Invalid', /spec.watchedPaths: Required value/);
    assert.equal(m.details.kind, 'FileWatch');
    await expectStatus(post({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'nospec' } }), 422, 'Invalid', /spec: Required value/);
    const lu = await expectStatus(
      rawRequest(s.server, { method: 'POST', path: '/apis/tilt.dev/v1alpha1/liveupdates', body: JSON.stringify({ apiVersion: 'tilt.dev/v1alpha1', kind: 'LiveUpdate', metadata: { name: 'lu' }, spec: { basePath: '/b', selector: { kubernetes: { discoveryName: 'd', image: 'a', containerName: 'b' } }, syncs: [{ localPath: '.', containerPath: 'rel' }] } }) }),
      422, 'Invalid',
    );
    assert.deepEqual(lu.details.causes.map((c: { field: string }) => c.field).sort(), ['spec.selector.kubernetes.containerName', 'spec.selector.kubernetes.image', 'spec.syncs[0]']);
  });

  it('rejects unknown fields under Strict, warns by default', async () => {
    await expectStatus(post({ ...good, metadata: { name: 'strict' }, spec: { watchedPaths: ['/t'], bogus: 1 } }, { query: '?fieldValidation=Strict' }), 400, 'BadRequest', /strict decoding error: unknown field "spec.bogus"/);
    const warned = await post({ ...good, metadata: { name: 'warned' }, spec: { watchedPaths: ['/t'], bogus: 1 } });
    assert.equal(warned.status, 201);
    assert.match(String(warned.headers.warning), /unknown field \\"spec.bogus\\"/);
    assert.equal(warned.json().spec.bogus, undefined);
  });

  it('rejects bad names, kinds and API versions', async () => {
    await expectStatus(post({ ...good, metadata: { name: 'a b' } }), 422, 'Invalid', /metadata.name/);
    await expectStatus(post({ ...good, metadata: { name: '..' } }), 422, 'Invalid', /may not be '..'/);
    await expectStatus(post({ ...good, metadata: { name: 'x'.repeat(254) } }), 422, 'Invalid', /253/);
    await expectStatus(post({ ...good, metadata: {} }), 422, 'Invalid', /name or generateName is required/);
    await expectStatus(post({ ...good, apiVersion: 'v1' }), 400, 'BadRequest', /does not match the expected API version/);
    await expectStatus(post({ ...good, kind: 'LiveUpdate' }), 400, 'BadRequest', /does not match the expected kind/);
    await expectStatus(post({ ...good, metadata: { name: 'lbl', labels: { 'bad key!': 'x' } } }), 422, 'Invalid', /metadata.labels/);
  });

  it('answers 413 for a body over the limit', async () => {
    const huge = JSON.stringify({ ...good, metadata: { name: 'huge' }, spec: { watchedPaths: ['x'.repeat(4 * 1024 * 1024)] } });
    await expectStatus(post(huge), 413, 'RequestEntityTooLarge');
  });

  it('answers Conflict for a stale resourceVersion and 400 for a bad label selector', async () => {
    const created = (await post({ ...good, metadata: { name: 'stale' } })).json();
    const put = (rv: string) => rawRequest(s.server, { method: 'PUT', path: `${path}/stale`, body: JSON.stringify({ ...created, metadata: { ...created.metadata, resourceVersion: rv }, spec: { watchedPaths: ['/new'] } }) });
    assert.equal((await put(created.metadata.resourceVersion)).status, 200);
    await expectStatus(put(created.metadata.resourceVersion), 409, 'Conflict');
    await expectStatus(rawRequest(s.server, { path: `${path}?labelSelector=${encodeURIComponent('a in (b')}` }), 400, 'BadRequest', /unable to parse requirement/);
    await expectStatus(rawRequest(s.server, { path: `${path}?resourceVersionMatch=Exact` }), 422, 'Invalid', /resourceVersionMatch/);
  });

  it('refuses requests without the token, with a wrong one, and from browsers', async () => {
    await expectStatus(rawRequest(s.server, { path, token: null }), 401, 'Unauthorized');
    await expectStatus(rawRequest(s.server, { path, token: 'wrong' }), 401, 'Unauthorized');
    await expectStatus(rawRequest(s.server, { path: '/apis', token: null }), 401, 'Unauthorized');
    await expectStatus(rawRequest(s.server, { path, headers: { Origin: 'https://evil.example' } }), 403, 'Forbidden');
    await expectStatus(rawRequest(s.server, { method: 'OPTIONS', path }), 403, 'Forbidden');
    const health = await rawRequest(s.server, { path: '/healthz', token: null });
    assert.equal(health.status, 200);
  });

  it('answers 404 and 405 for what does not exist', async () => {
    await expectStatus(rawRequest(s.server, { path: '/apis/tilt.dev/v1alpha1/nopes' }), 404, 'NotFound');
    await expectStatus(rawRequest(s.server, { path: '/apis/tilt.dev/v1alpha1/configmaps/x/status' }), 404, 'NotFound');
    await expectStatus(rawRequest(s.server, { path: `${path}/missing` }), 404, 'NotFound', /filewatches.tilt.dev "missing" not found/);
    await expectStatus(rawRequest(s.server, { method: 'POST', path: `${path}/ok/status`, body: '{}' }), 405, 'MethodNotAllowed');
  });

  it('is still serving after all that', async () => {
    const r = await post({ ...good, metadata: { name: 'after' } });
    assert.equal(r.status, 201);
  });
});
