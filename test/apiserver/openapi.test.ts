/**
 * /openapi/v2 serves the kinds' full schemas as JSON and as gnostic protobuf (what client-go
 * asks for); kubectl's own use of it is covered in kubectl.test.ts, with kubectl 1.20.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { kinds } from '../../src/apis/registry.ts';
import { startTestApiServer, rawRequest, type TestApiServer } from '../support/apiserver.ts';

const protobufType = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** fields reads the top-level fields of a protobuf message: number → values (bytes for length-delimited). */
function fields(buf: Uint8Array): Map<number, Array<Uint8Array | number>> {
  const r = protobuf.Reader.create(buf);
  const out = new Map<number, Array<Uint8Array | number>>();
  while (r.pos < r.len) {
    const tag = r.uint32();
    const value = (tag & 7) === 2 ? r.bytes() : (tag & 7) === 0 ? r.uint32() : (r.skipType(tag & 7), NaN);
    out.set(tag >>> 3, [...(out.get(tag >>> 3) ?? []), value]);
  }
  return out;
}
const text = (b: Uint8Array | number) => Buffer.from(b as Uint8Array).toString('utf8');

describe('OpenAPI v2', () => {
  let s: TestApiServer;
  before(async () => {
    s = await startTestApiServer();
  });
  after(() => s.close());
  const get = (accept?: string, headers: Record<string, string> = {}) =>
    rawRequest(s.server, { path: '/openapi/v2', headers: { ...(accept ? { Accept: accept } : {}), ...headers } });

  it('serves every kind as JSON, in the forms kubectl parses', async () => {
    const r = await get('application/json');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    const doc = r.json();
    assert.equal(doc.swagger, '2.0');
    for (const k of kinds) {
      const d = doc.definitions[`dev.tilt.core.v1alpha1.${k.kind}`];
      assert.deepEqual(d['x-kubernetes-group-version-kind'], [{ group: 'tilt.dev', version: 'v1alpha1', kind: k.kind }], k.kind);
      assert.equal(d.type, undefined, `${k.kind}: an object with properties carries no type`);
      assert.deepEqual(d.properties.metadata, { description: "Standard object's metadata.", $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' });
    }
    const json = JSON.stringify(doc);
    assert.doesNotMatch(json, /#\/components\/|"anyOf"|"allOf"/);
    const port = doc.definitions['dev.tilt.core.v1alpha1.Cmd'].properties.spec.properties.readinessProbe.properties.handler.properties.httpGet.properties.port;
    assert.equal(port.type, 'string');
    assert.equal(port.format, 'int-or-string');
    const labels = doc.definitions['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'].properties.labels;
    assert.deepEqual({ type: labels.type, additionalProperties: labels.additionalProperties }, { type: 'object', additionalProperties: { type: 'string' } });
  });

  it('serves the same document as a gnostic protobuf Document', async () => {
    const [jsonDoc, r] = [(await get('application/json')).json(), await get('application/com.github.proto-openapi.spec.v2@v1.0+protobuf')];
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], protobufType);
    assert.equal(r.headers.vary, 'Accept');
    const doc = fields(r.body);
    assert.equal(text(doc.get(1)![0]), '2.0'); // swagger
    const info = fields(doc.get(2)![0] as Uint8Array);
    assert.deepEqual([text(info.get(1)![0]), text(info.get(2)![0])], ['ferry', 'v1alpha1']);
    // paths (8): one NamedPathItem (2) per path, in the JSON document's order.
    const paths = fields(doc.get(8)![0] as Uint8Array).get(2)!.map((p) => fields(p as Uint8Array));
    assert.deepEqual(paths.map((p) => text(p.get(1)![0])), Object.keys(jsonDoc.paths));
    const named = fields(doc.get(9)![0] as Uint8Array).get(1)!.map((n) => fields(n as Uint8Array));
    assert.deepEqual(named.map((n) => text(n.get(1)![0])), Object.keys(jsonDoc.definitions));
    // A kind's schema: its description (4), properties (25) and the group-version-kind extension (31) as YAML.
    const fileWatch = named.find((n) => text(n.get(1)![0]) === 'dev.tilt.core.v1alpha1.FileWatch')!;
    const schema = fields(fileWatch.get(2)![0] as Uint8Array);
    assert.equal(text(schema.get(4)![0]), jsonDoc.definitions['dev.tilt.core.v1alpha1.FileWatch'].description);
    assert.deepEqual(fields(schema.get(25)![0] as Uint8Array).get(1)!.map((p) => text(fields(p as Uint8Array).get(1)![0])), ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    const ext = fields(schema.get(31)![0] as Uint8Array);
    assert.equal(text(ext.get(1)![0]), 'x-kubernetes-group-version-kind');
    assert.equal(text(fields(ext.get(2)![0] as Uint8Array).get(2)![0]), '- group: tilt.dev\n  version: v1alpha1\n  kind: FileWatch\n');
  });

  it('serves the paths of every kind, with dryRun on PATCH and no strategic merge patch', async () => {
    const doc = (await get('application/json')).json();
    for (const k of kinds) {
      const base = `/apis/tilt.dev/v1alpha1/${k.plural}`;
      const gvk = { group: 'tilt.dev', version: 'v1alpha1', kind: k.kind };
      assert.deepEqual(Object.keys(doc.paths[base]).filter((m) => m !== 'parameters'), ['get', 'post', 'delete'], k.kind);
      assert.deepEqual(Object.keys(doc.paths[`${base}/{name}`]).filter((m) => m !== 'parameters').sort(), ['delete', 'get', 'patch', 'put'], k.kind);
      assert.equal(doc.paths[`${base}/{name}/status`] !== undefined, k.hasStatus, k.kind);
      for (const path of [`${base}/{name}`, ...(k.hasStatus ? [`${base}/{name}/status`] : [])]) {
        const patch = doc.paths[path].patch;
        assert.deepEqual(patch['x-kubernetes-group-version-kind'], gvk);
        assert.deepEqual(patch.consumes, ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml']);
        const query = patch.parameters.filter((p: { in: string }) => p.in === 'query').map((p: { name: string }) => p.name);
        assert.deepEqual(query, ['dryRun', 'fieldManager', 'fieldValidation', 'force']);
        assert.ok(doc.paths[path].put.parameters.some((p: { name: string }) => p.name === 'dryRun'));
      }
      assert.equal(doc.paths[base].get.responses['200'].schema.$ref, `#/definitions/dev.tilt.core.v1alpha1.${k.kind}List`);
      assert.ok(doc.paths[base].post.parameters.some((p: { name: string }) => p.name === 'dryRun'));
    }
    // Every reference resolves.
    for (const [, ref] of JSON.stringify(doc).matchAll(/"\$ref":"#\/definitions\/([^"]+)"/g)) assert.ok(doc.definitions[ref], ref);
  });

  it('encodes a PATCH operation as client-go reads it: group-version-kind, consumes and the dryRun query parameter', async () => {
    const doc = fields((await get(protobufType)).body);
    const paths = fields(doc.get(8)![0] as Uint8Array).get(2)!.map((p) => fields(p as Uint8Array));
    const item = paths.find((p) => text(p.get(1)![0]) === '/apis/tilt.dev/v1alpha1/filewatches/{name}')!;
    const patch = fields(fields(item.get(2)![0] as Uint8Array).get(8)![0] as Uint8Array); // PathItem.patch
    assert.deepEqual(patch.get(7)!.map(text), ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml']); // consumes
    const ext = patch.get(13)!.map((e) => fields(e as Uint8Array)).find((e) => text(e.get(1)![0]) === 'x-kubernetes-group-version-kind')!;
    assert.equal(text(fields(ext.get(2)![0] as Uint8Array).get(2)![0]), 'group: tilt.dev\nversion: v1alpha1\nkind: FileWatch\n');
    // parameters (8) → Parameter (1) → NonBodyParameter (2) → QueryParameterSubSchema (3) → name (4)
    const queryNames = patch.get(8)!.flatMap((item) => {
      const nonBody = fields(fields(item as Uint8Array).get(1)![0] as Uint8Array).get(2);
      if (!nonBody) return [];
      const q = fields(nonBody[0] as Uint8Array).get(3);
      return q ? [text(fields(q[0] as Uint8Array).get(4)![0])] : [];
    });
    assert.deepEqual(queryNames, ['dryRun', 'fieldManager', 'fieldValidation', 'force']);
  });

  it('answers 304 to a matching If-None-Match and 406 to a type it does not serve', async () => {
    const first = await get(protobufType);
    const etag = String(first.headers.etag);
    assert.match(etag, /^"[0-9A-F]+"$/);
    const again = await get(protobufType, { 'If-None-Match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    const html = await get('text/html');
    assert.equal(html.status, 406);
    assert.equal(html.json().reason, 'NotAcceptable');
  });
});
