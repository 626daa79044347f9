/**
 * Discovery and OpenAPI documents, generated from the kinds' schemas: what kubectl's
 * RESTMapper, `kubectl explain`, client-side apply and server-side validation rely on.
 */
import crypto from 'node:crypto';
import { kinds } from '../apis/registry.ts';
import { apiVersion, group, version, ObjectMetaSchema } from '../apis/meta.ts';
import { toOpenAPI } from '../apis/schema.ts';
import type { KindDef } from '../apis/kind.ts';
import { advertisedPatchTypes } from './patch.ts';

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
/** ObjectMeta's schema is the one every write is validated against. */
const objectMeta = toOpenAPI(ObjectMetaSchema);

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
          content: Object.fromEntries(advertisedPatchTypes.map((t) => [t, { schema: { type: 'object' } }])),
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
