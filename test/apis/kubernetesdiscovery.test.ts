/**
 * KubernetesDiscovery's podLogStreamTemplateSpec as Tilt has it: a Tilt export applies unchanged,
 * `kubectl explain` documents it, and a sinceTime the logs APIs cannot read (here, in a
 * PodLogStream or in a KubernetesApply's template) is a 422 Invalid naming the field.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { validateObject } from '../../src/apis/validate.ts';
import { mustKind } from '../../src/apis/registry.ts';
import { rawRequest, startTestApiServer, type TestApiServer } from '../support/apiserver.ts';

type Obj = Record<string, any>;

const run = promisify(execFile);

/** A KubernetesDiscovery as `tilt get -o yaml` writes it out. */
const tiltExport = `apiVersion: tilt.dev/v1alpha1
kind: KubernetesDiscovery
metadata:
  annotations:
    tilt.dev/resource: api
    tilt.dev/log-span-id: k8s:api
  name: api
  ownerReferences:
  - apiVersion: tilt.dev/v1alpha1
    controller: true
    kind: KubernetesApply
    name: api
    uid: 3c1f0a7e-0000-4000-8000-000000000004
spec:
  cluster: default
  extraSelectors:
  - matchLabels:
      app: api
  podLogStreamTemplateSpec:
    ignoreContainers:
    - istio-init
    - istio-proxy
    - linkerd-proxy
    - linkerd-init
    sinceTime: "2026-12-04T10:00:00Z"
  watches:
  - name: api
    namespace: default
    uid: 3c1f0a7e-0000-4000-8000-000000000005
`;

describe('KubernetesDiscovery podLogStreamTemplateSpec', () => {
  it('takes a Tilt export as it is', () => {
    const obj = parse(tiltExport);
    const want = structuredClone(obj.spec);
    const r = validateObject(mustKind('KubernetesDiscovery'), obj);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.unknownFields, []);
    assert.deepEqual(obj.spec, want);
  });

  it('reads onlyContainers and a sinceTime with a fraction and an offset', () => {
    const obj = parse(tiltExport);
    obj.spec.podLogStreamTemplateSpec = { onlyContainers: ['api'], sinceTime: '2026-12-04T11:00:00.5+01:00' };
    assert.deepEqual(validateObject(mustKind('KubernetesDiscovery'), obj).errors, []);
  });
});

describe('log stream times on the API server', () => {
  let api: TestApiServer;
  const server = () => ({ url: api.url, caCert: api.server.caCert, token: api.server.token });
  const post = (plural: string, body: Obj) => rawRequest(server(), { method: 'POST', path: `/apis/tilt.dev/v1alpha1/${plural}`, body: JSON.stringify(body) });
  const causes = (body: Obj) => body.details.causes.map((c: Obj) => `${c.reason} ${c.field}`);

  before(async () => {
    api = await startTestApiServer();
  });
  after(() => api.close());

  it('stores the template of a Tilt export', async () => {
    const res = await post('kubernetesdiscoveries', parse(tiltExport));
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.json().spec.podLogStreamTemplateSpec, parse(tiltExport).spec.podLogStreamTemplateSpec);
  });

  it('refuses a sinceTime that is not RFC 3339 with a 422 Invalid naming the field', async () => {
    const kd = (sinceTime: string) => ({ apiVersion: 'tilt.dev/v1alpha1', kind: 'KubernetesDiscovery', metadata: { name: 'bad' }, spec: { watches: [{ namespace: 'default' }], podLogStreamTemplateSpec: { sinceTime } } });
    for (const sinceTime of ['2026-12-04 10:00:00', '2026-12-04', 'yesterday']) {
      const res = await post('kubernetesdiscoveries', kd(sinceTime));
      assert.equal(res.status, 422, `${sinceTime}: ${res.text}`);
      const body = res.json();
      assert.equal(body.kind, 'Status');
      assert.equal(body.reason, 'Invalid');
      assert.equal(causes(body).length, 1, res.text);
      assert.match(causes(body)[0], /^FieldValue(Type)?Invalid spec\.podLogStreamTemplateSpec\.sinceTime$/);
    }
    const res = await post('kubernetesdiscoveries', kd('2026-12-04 10:00:00'));
    assert.match(res.json().message, /spec\.podLogStreamTemplateSpec\.sinceTime: Invalid value: "2026-12-04 10:00:00": must be an RFC 3339 time/);

    const pls = await post('podlogstreams', { apiVersion: 'tilt.dev/v1alpha1', kind: 'PodLogStream', metadata: { name: 'bad' }, spec: { pod: 'web', sinceTime: '2026-12-04' } });
    assert.equal(pls.status, 422, pls.text);
    assert.deepEqual(causes(pls.json()), ['FieldValueInvalid spec.sinceTime']);

    const ka = await post('kubernetesapplys', { apiVersion: 'tilt.dev/v1alpha1', kind: 'KubernetesApply', metadata: { name: 'bad' }, spec: { yaml: 'a: b', podLogStreamTemplateSpec: { sinceTime: '2026-12-04 10:00' } } });
    assert.equal(ka.status, 422, ka.text);
    assert.deepEqual(causes(ka.json()), ['FieldValueInvalid spec.podLogStreamTemplateSpec.sinceTime']);

    for (const plural of ['kubernetesdiscoveries', 'podlogstreams', 'kubernetesapplys']) {
      const list = await rawRequest(server(), { path: `/apis/tilt.dev/v1alpha1/${plural}` });
      assert.ok(!list.json().items.some((o: Obj) => o.metadata.name === 'bad'), `nothing stored in ${plural}`);
    }
  });

  it('is documented by kubectl explain', async () => {
    const { stdout } = await run('kubectl', ['--kubeconfig', api.kubeconfigPath, 'explain', 'kubernetesdiscovery.spec.podLogStreamTemplateSpec']);
    assert.match(stdout, /PodLogStreams this discovery sets up/);
    for (const field of ['ignoreContainers', 'onlyContainers', 'sinceTime']) assert.match(stdout, new RegExp(`^\\s+${field}\\s+<`, 'm'), field);
  });
});
