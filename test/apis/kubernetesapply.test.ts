/**
 * The KubernetesApply kind: Tilt's validation as 422 field errors, objects as Tilt exports
 * them accepted unchanged, its names and its table through the API server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateObject } from '../../src/apis/validate.ts';
import { mustKind, resolveKind } from '../../src/apis/registry.ts';
import { crdFor } from '../../src/apis/crd.ts';
import { rawRequest, startTestApiServer, type TestApiServer } from '../support/apiserver.ts';

type Obj = Record<string, any>;

const kind = mustKind('KubernetesApply');

function check(spec: Obj) {
  const o: Obj = { apiVersion: 'tilt.dev/v1alpha1', kind: 'KubernetesApply', metadata: { name: 'x' }, spec: structuredClone(spec) };
  const result = validateObject(kind, o);
  return result.errors.map((e) => `${e.type} ${e.field}${e.detail ? `: ${e.detail}` : ''}`);
}

/** A KubernetesApply as Tilt writes it out: Go's JSON, nulls and empty fields included. */
const tiltExport = {
  apiVersion: 'tilt.dev/v1alpha1',
  kind: 'KubernetesApply',
  metadata: { name: 'web', annotations: { 'tilt.dev/resource': 'web' }, creationTimestamp: null },
  spec: {
    yaml: 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n',
    imageMaps: ['web-image'],
    imageLocators: [
      { objectSelector: { kindRegexp: '^UselessMachine$' }, path: '{.spec.image}' },
      { objectSelector: { apiVersionRegexp: '^tilt.dev/', kindRegexp: 'Env', nameRegexp: '.*', namespaceRegexp: '' }, path: '{.spec.runtime}', object: { repoField: 'repo', tagField: 'tag' } },
    ],
    timeout: '0s',
    kubernetesDiscoveryTemplateSpec: { extraSelectors: [{ matchLabels: { app: 'web' } }] },
    portForwardTemplateSpec: { forwards: [{ localPort: 8000, containerPort: 8080, host: '' }] },
    podLogStreamTemplateSpec: { sinceTime: null, onlyContainers: ['web'] },
    discoveryStrategy: 'selectors-only',
    disableSource: { configMap: { name: 'web-disable', key: 'isDisabled' } },
    restartOn: { uiButtons: ['web-restart'] },
    deleteCmd: { args: ['kubectl', 'delete', '-f', 'web.yaml'], dir: '/src', env: null },
    cluster: 'default',
  },
  status: {
    resultYAML: 'apiVersion: apps/v1\nkind: Deployment\n',
    lastApplyTime: '2024-01-02T03:04:05.123456Z',
    lastApplyStartTime: '2024-01-02T03:04:04.000000Z',
    appliedInputHash: 'abc=',
    conditions: [{ type: 'JobComplete', status: 'True', lastTransitionTime: null, reason: '', message: '' }],
  },
};

describe('KubernetesApply validation', () => {
  it('answers to its short names and Tilt\'s plural', () => {
    for (const n of ['ka', 'kapp', 'kubernetesapply', 'kubernetesapplys', 'KubernetesApply', 'kubernetesapplys.tilt.dev']) {
      assert.equal(resolveKind(n)?.kind, 'KubernetesApply', n);
    }
    assert.equal(kind.hasStatus, true);
    assert.deepEqual(crdFor(kind).spec.versions[0]!.subresources, { status: {} });
  });

  it('needs exactly one of yaml and applyCmd', () => {
    assert.deepEqual(check({}), ['Required spec.yaml: must specify exactly ONE of .spec.yaml or .spec.applyCmd']);
    assert.deepEqual(check({ yaml: 'a: b', applyCmd: { args: ['x'] } }), ['Invalid spec.applyCmd: must specify exactly ONE of .spec.yaml or .spec.applyCmd']);
    assert.deepEqual(check({ applyCmd: { args: [] } }), ['Required spec.applyCmd.args: args cannot be empty']);
    assert.deepEqual(check({ yaml: 'a: b' }), []);
    assert.deepEqual(check({ applyCmd: { args: ['./deploy.sh'], env: ['A=1'] }, deleteCmd: { args: ['./undeploy.sh'] } }), []);
  });

  it('supports the default and selectors-only discovery strategies', () => {
    for (const s of ['', 'default', 'selectors-only']) assert.deepEqual(check({ yaml: 'a: b', discoveryStrategy: s }), [], s);
    assert.deepEqual(check({ yaml: 'a: b', discoveryStrategy: 'owners' }), ['NotSupported spec.discoveryStrategy']);
  });

  it('reads the timeout as a duration', () => {
    assert.deepEqual(check({ yaml: 'a: b', timeout: '1m30s' }), []);
    assert.deepEqual(check({ yaml: 'a: b', timeout: 'soon' }), ['Invalid spec.timeout: must be a duration such as "30s" or "5m"']);
  });

  it('needs the path and object selector of an image locator, and both fields of an object locator', () => {
    assert.deepEqual(check({ yaml: 'a: b', imageLocators: [{ objectSelector: {} }] }), ['Required spec.imageLocators[0].path']);
    assert.deepEqual(check({ yaml: 'a: b', imageLocators: [{ objectSelector: {}, path: '{.spec.image}', object: { repoField: 'repo' } }] }), [
      'Required spec.imageLocators[0].object.tagField',
    ]);
  });
});

describe('KubernetesApply on the API server', () => {
  let api: TestApiServer;
  const server = () => ({ url: api.url, caCert: api.server.caCert, token: api.server.token });
  const post = (body: Obj) => rawRequest(server(), { method: 'POST', path: '/apis/tilt.dev/v1alpha1/kubernetesapplys', body: JSON.stringify(body) });

  before(async () => {
    api = await startTestApiServer();
  });
  after(() => api.close());

  it('stores an object as Tilt exports it, status included', async () => {
    const res = await post(tiltExport);
    assert.equal(res.status, 201, res.text);
    const got = res.json();
    assert.deepEqual(got.spec.imageLocators, tiltExport.spec.imageLocators);
    assert.deepEqual(got.spec.portForwardTemplateSpec, tiltExport.spec.portForwardTemplateSpec);
    assert.deepEqual(got.spec.podLogStreamTemplateSpec, { onlyContainers: ['web'] });
    assert.deepEqual(got.spec.deleteCmd, { args: ['kubectl', 'delete', '-f', 'web.yaml'], dir: '/src' });
    assert.equal(got.spec.discoveryStrategy, 'selectors-only');
    assert.equal(got.spec.timeout, '0s');
    assert.equal(got.status?.lastApplyTime, undefined, 'create ignores the status subresource');

    const status = await rawRequest(server(), {
      method: 'PUT',
      path: '/apis/tilt.dev/v1alpha1/kubernetesapplys/web/status',
      body: JSON.stringify({ ...got, status: tiltExport.status }),
    });
    assert.equal(status.status, 200, status.text);
    assert.deepEqual(status.json().status.conditions, [{ type: 'JobComplete', status: 'True', reason: '', message: '' }]);
    assert.equal(status.json().status.appliedInputHash, 'abc=');
  });

  it('answers Tilt\'s validation errors with a 422 Invalid Status naming the field', async () => {
    const res = await post({ apiVersion: 'tilt.dev/v1alpha1', kind: 'KubernetesApply', metadata: { name: 'bad' }, spec: { discoveryStrategy: 'nope' } });
    assert.equal(res.status, 422, res.text);
    const body = res.json();
    assert.equal(body.kind, 'Status');
    assert.equal(body.reason, 'Invalid');
    assert.deepEqual(body.details.causes.map((c: Obj) => `${c.reason} ${c.field}`).sort(), [
      'FieldValueNotSupported spec.discoveryStrategy',
      'FieldValueRequired spec.yaml',
    ]);
    assert.match(body.message, /spec\.discoveryStrategy: Unsupported value: "nope": supported values: "default", "selectors-only"/);
  });

  it('prints its columns in a table', async () => {
    const res = await rawRequest(server(), {
      path: '/apis/tilt.dev/v1alpha1/kubernetesapplys',
      headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
    });
    assert.equal(res.status, 200, res.text);
    const table = res.json();
    assert.deepEqual(table.columnDefinitions.map((c: Obj) => c.name), ['Name', 'Cluster', 'Last Apply', 'Error', 'Image Maps', 'Age']);
    const row = table.rows.find((r: Obj) => r.cells[0] === 'web');
    assert.equal(row.cells[1], 'default');
    assert.equal(row.cells[4], 'web-image');
  });
});
