/**
 * DockerComposeLogStream and PodLogStream as `tilt get -o yaml` exports them: every Tilt field is
 * known (nothing pruned), Go's null times read as absent, and the kind rules name what is missing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { validateObject } from '../../src/apis/validate.ts';
import { mustKind } from '../../src/apis/registry.ts';

const dcls = `apiVersion: tilt.dev/v1alpha1
kind: DockerComposeLogStream
metadata:
  annotations:
    tilt.dev/resource: web
    tilt.dev/log-span-id: dc:web
  creationTimestamp: "2026-12-04T10:00:00Z"
  name: web
  ownerReferences:
  - apiVersion: tilt.dev/v1alpha1
    blockOwnerDeletion: true
    controller: true
    kind: DockerComposeService
    name: web
    uid: 3c1f0a7e-0000-4000-8000-000000000001
  resourceVersion: "12"
  uid: 3c1f0a7e-0000-4000-8000-000000000002
spec:
  project:
    configPaths:
    - /src/app/docker-compose.yml
    name: app
    projectPath: /src/app
    yaml: |
      services:
        web:
          image: nginx
  service: web
  sinceTime: "2026-12-04T10:00:00Z"
status:
  startedAt: "2026-12-04T10:00:01.123456Z"
`;

const pls = `apiVersion: tilt.dev/v1alpha1
kind: PodLogStream
metadata:
  annotations:
    tilt.dev/resource: api
    tilt.dev/log-span-id: pod:api:api-5d4f
  name: api-default-api-5d4f
  ownerReferences:
  - apiVersion: tilt.dev/v1alpha1
    controller: true
    kind: KubernetesDiscovery
    name: api
    uid: 3c1f0a7e-0000-4000-8000-000000000003
spec:
  cluster: default
  ignoreContainers: [istio-proxy]
  namespace: default
  pod: api-5d4f
  sinceTime: "2026-12-04T10:00:00Z"
status:
  containerStatuses:
  - active: true
    name: api
  - name: sidecar
    terminated: true
    error: ""
`;

describe('log stream kinds', () => {
  it('take a Tilt export as it is', () => {
    for (const text of [dcls, pls]) {
      const obj = parse(text);
      const want = structuredClone(obj);
      const r = validateObject(mustKind(obj.kind), obj);
      assert.deepEqual(r.errors, [], obj.kind);
      assert.deepEqual(r.unknownFields, [], obj.kind);
      assert.deepEqual(obj.spec, want.spec);
      assert.deepEqual(obj.status, want.status);
    }
  });

  it("read Go's null start time as absent", () => {
    const obj = parse(dcls);
    obj.status = { startedAt: null };
    const r = validateObject(mustKind('DockerComposeLogStream'), obj);
    assert.deepEqual(r.errors, []);
    assert.equal(obj.status.startedAt, undefined);
  });

  it('name the missing service or pod', () => {
    const noService = parse(dcls);
    delete noService.spec.service;
    assert.deepEqual(validateObject(mustKind('DockerComposeLogStream'), noService).errors.map((e) => `${e.type} ${e.field}`), ['Required spec.service']);
    const noPod = parse(pls);
    delete noPod.spec.pod;
    assert.deepEqual(validateObject(mustKind('PodLogStream'), noPod).errors.map((e) => `${e.type} ${e.field}`), ['Required spec.pod']);
  });
});
