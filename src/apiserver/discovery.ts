/**
 * Discovery and OpenAPI documents, generated from the kinds' schemas: what kubectl's
 * RESTMapper, `kubectl explain`, client-side apply and server-side validation rely on.
 */
import crypto from 'node:crypto';
import { kinds } from '../apis/registry.ts';
import { apiVersion, group, version } from '../apis/meta.ts';
import { toOpenAPI } from '../apis/schema.ts';
import type { KindDef } from '../apis/kind.ts';

const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function versionInfo(ferryVersion: string) {
  return {
    major: '1',
    minor: '31',
    gitVersion: 'v1.31.0',
    gitCommit: `ferry-${ferryVersion}`,
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'ferry',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

const groupVersion = { groupVersion: apiVersion, version };

export const apiGroup = { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: [groupVersion], preferredVersion: groupVersion };
export const apiGroupList = { kind: 'APIGroupList', apiVersion: 'v1', groups: [{ name: group, versions: [groupVersion], preferredVersion: groupVersion }] };

export const apiResourceList = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: apiVersion,
  resources: kinds.flatMap((k) => {
    const main: Record<string, unknown> = { name: k.plural, singularName: k.singular, namespaced: false, kind: k.kind, verbs };
    if (k.shortNames.length) main.shortNames = k.shortNames;
    const status = { name: `${k.plural}/status`, singularName: '', namespaced: false, kind: k.kind, verbs: ['get', 'patch', 'update'] };
    return k.hasStatus ? [main, status] : [main];
  }),
};

const str = (description: string) => ({ type: 'string', description });
const objectMeta = {
  description: 'ObjectMeta is metadata that all persisted resources must have.',
  type: 'object',
  properties: {
    name: str('Name must be unique within its kind. Required when creating, unless generateName is set. Cannot be updated.'),
    generateName: str('GenerateName is an optional prefix used by the server to generate a unique name if name is not provided.'),
    namespace: str('Always empty: every tilt.dev kind is cluster-scoped.'),
    uid: str('UID is the unique in time and space value for this object, set by the server.'),
    resourceVersion: str('An opaque value that represents the internal version of this object, for optimistic concurrency and watches.'),
    generation: { type: 'integer', format: 'int64', description: 'A sequence number representing a specific generation of the desired state, set by the server.' },
    creationTimestamp: { type: 'string', format: 'date-time', description: 'When this object was created, set by the server.' },
    deletionTimestamp: { type: 'string', format: 'date-time', description: 'When this object will be deleted, once its finalizers are removed.' },
    deletionGracePeriodSeconds: { type: 'integer', format: 'int64', description: 'Seconds allowed for graceful termination.' },
    labels: { type: 'object', additionalProperties: { type: 'string' }, description: 'Map of string keys and values that can be used to organize and select objects.' },
    annotations: { type: 'object', additionalProperties: { type: 'string' }, description: 'Unstructured key value map to store arbitrary metadata.' },
    finalizers: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set', description: 'Must be empty before the object is deleted from the registry.' },
    ownerReferences: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['uid'],
      description: 'Objects this object depends on; when all of them are deleted, this object is garbage collected.',
      items: {
        type: 'object',
        required: ['apiVersion', 'kind', 'name', 'uid'],
        properties: {
          apiVersion: str('API version of the referent.'),
          kind: str('Kind of the referent.'),
          name: str('Name of the referent.'),
          uid: str('UID of the referent.'),
          controller: { type: 'boolean', description: 'If true, this reference points to the managing controller.' },
          blockOwnerDeletion: { type: 'boolean', description: 'If true, the owner cannot be deleted in the foreground until this reference is removed.' },
        },
      },
    },
    managedFields: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, description: 'Field ownership records.' },
  },
};

const schemaName = (k: KindDef) => `dev.tilt.core.v1alpha1.${k.kind}`;

/** kindSchema is the OpenAPI schema of one kind, as served and as written into its CRD. */
export function kindSchema(
  k: KindDef,
  metadata: unknown = { description: "Standard object's metadata.", allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }] },
) {
  const properties: Record<string, unknown> = {
    apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
    kind: str('Kind is a string value representing the REST resource this object represents.'),
    metadata,
  };
  for (const [name, s] of Object.entries(k.fields)) properties[name] = toOpenAPI(s);
  return {
    description: k.description,
    type: 'object',
    required: k.requiredFields.length ? k.requiredFields : undefined,
    properties,
  };
}

const gvk = (k: KindDef) => ({ group, version, kind: k.kind });
const ref = (k: KindDef) => ({ $ref: `#/components/schemas/${schemaName(k)}` });

/** openAPISchemas are the schemas of every kind and its list, by name, in OpenAPI v3 form. */
export const openAPISchemas: Record<string, unknown> = { 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': objectMeta };
for (const k of kinds) {
  openAPISchemas[schemaName(k)] = { ...kindSchema(k), 'x-kubernetes-group-version-kind': [gvk(k)] };
  openAPISchemas[`${schemaName(k)}List`] = {
    type: 'object',
    required: ['items'],
    properties: { apiVersion: str('APIVersion'), kind: str('Kind'), metadata: { type: 'object' }, items: { type: 'array', items: ref(k) } },
    'x-kubernetes-group-version-kind': [{ ...gvk(k), kind: `${k.kind}List` }],
  };
}

function buildV3() {
  const paths: Record<string, unknown> = {};
  const json = (k: KindDef) => ({ 'application/json': { schema: ref(k) } });
  const queryParams = ['dryRun', 'fieldManager', 'fieldValidation', 'pretty'].map((name) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } }));
  for (const k of kinds) {
    const item = (sub: string) => ({
      parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
      get: { operationId: `read${k.kind}${sub}`, responses: { 200: { description: 'OK', content: json(k) } }, 'x-kubernetes-action': 'get', 'x-kubernetes-group-version-kind': gvk(k) },
      put: { operationId: `replace${k.kind}${sub}`, parameters: queryParams, requestBody: { content: json(k), required: true }, responses: { 200: { description: 'OK', content: json(k) } }, 'x-kubernetes-action': 'put', 'x-kubernetes-group-version-kind': gvk(k) },
      patch: {
        operationId: `patch${k.kind}${sub}`,
        parameters: [...queryParams, { name: 'force', in: 'query', schema: { type: 'boolean' } }],
        requestBody: {
          content: {
            'application/json-patch+json': { schema: { type: 'object' } },
            'application/merge-patch+json': { schema: { type: 'object' } },
            'application/apply-patch+yaml': { schema: { type: 'object' } },
          },
          required: true,
        },
        responses: { 200: { description: 'OK', content: json(k) } },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk(k),
      },
      ...(sub ? {} : { delete: { operationId: `delete${k.kind}`, responses: { 200: { description: 'OK' } }, 'x-kubernetes-action': 'delete', 'x-kubernetes-group-version-kind': gvk(k) } }),
    });
    paths[`/apis/${apiVersion}/${k.plural}`] = {
      get: { operationId: `list${k.kind}`, responses: { 200: { description: 'OK', content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName(k)}List` } } } } }, 'x-kubernetes-action': 'list', 'x-kubernetes-group-version-kind': gvk(k) },
      post: { operationId: `create${k.kind}`, parameters: queryParams, requestBody: { content: json(k), required: true }, responses: { 201: { description: 'Created', content: json(k) } }, 'x-kubernetes-action': 'post', 'x-kubernetes-group-version-kind': gvk(k) },
    };
    paths[`/apis/${apiVersion}/${k.plural}/{name}`] = item('');
    if (k.hasStatus) paths[`/apis/${apiVersion}/${k.plural}/{name}/status`] = item('Status');
  }
  return { openapi: '3.0.0', info: { title: 'ferry', version: 'v1alpha1' }, paths, components: { schemas: openAPISchemas } };
}

export const openAPIV3Document = JSON.stringify(buildV3());
export const openAPIV3Hash = crypto.createHash('sha512').update(openAPIV3Document).digest('hex').slice(0, 64).toUpperCase();
export const openAPIV3Root = {
  paths: { [`apis/${apiVersion}`]: { serverRelativeURL: `/openapi/v3/apis/${apiVersion}?hash=${openAPIV3Hash}` } },
};
