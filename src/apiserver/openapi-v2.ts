/**
 * OpenAPI v2 (Swagger 2.0) with the kinds' full schemas and their paths, as JSON and as the
 * gnostic protobuf `openapi.v2.Document` that client-go asks for. kubectl 1.20–1.26 reads it
 * for `explain` and client-side validation, and kubectl before 1.22 refuses `diff` and
 * `--dry-run=server` for a kind whose PATCH operation lacks the `dryRun` parameter.
 *
 * kubectl also reads the PATCH operation's `consumes` to choose the patch type of client-side
 * apply: it uses strategic merge patch only when that type is listed, and merge patch
 * otherwise (and kubectl before 1.27 uses merge patch for any kind it does not compile in).
 * The paths list JSON patch, merge patch and apply patch, as kube-apiserver does for custom
 * resources, so kubectl keeps sending merge patches.
 *
 * The definitions are the v3 component schemas rewritten in the forms kubectl's parser
 * (kube-openapi `pkg/util/proto`) reads the same way in every version: an object with
 * properties has no `type`, a free-form object has neither `type` nor properties, a map is
 * `type: object` with `additionalProperties`, int-or-string is a string of that format, and a
 * described reference (v3's `allOf` of one `$ref`) is a `$ref` beside its description.
 */
import crypto from 'node:crypto';
import YAML from 'yaml';
import type { Type as ProtoType } from 'protobufjs';
import { openAPISchemas } from './discovery.ts';
import { advertisedPatchTypes } from './patch.ts';
import { kinds } from '../apis/registry.ts';
import { apiVersion, group, version } from '../apis/meta.ts';
import type { KindDef } from '../apis/kind.ts';

export const openAPIV2ProtobufType = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

type Schema = Record<string, unknown>;

const v3Ref = '#/components/schemas/';

/** toV2 rewrites one v3 schema (and what it contains) in the v2 forms described above. */
export function toV2(s: Schema): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === '$ref') out.$ref = `#/definitions/${String(v).slice(v3Ref.length)}`;
    else if (k === 'properties') out.properties = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([n, p]) => [n, toV2(p)]));
    else if (k === 'items' || (k === 'additionalProperties' && typeof v === 'object')) out[k] = toV2(v as Schema);
    else if (k === 'allOf' && (v as Schema[]).length === 1 && (v as Schema[])[0].$ref) out.$ref = toV2((v as Schema[])[0]).$ref;
    else if (k !== 'anyOf') out[k] = v;
  }
  if (s['x-kubernetes-int-or-string']) {
    out.type = 'string';
    out.format = 'int-or-string';
  }
  if (out.type === 'object' && typeof out.additionalProperties !== 'object') delete out.type;
  return out;
}

// ---- paths ---------------------------------------------------------------------------------

const query = (name: string, type: string, description: string) => ({ name, in: 'query', type, uniqueItems: true, description });
const param = {
  pretty: query('pretty', 'string', "If 'true', then the output is pretty printed."),
  dryRun: query('dryRun', 'string', 'When present, indicates that modifications should not be persisted. Valid values are: All (all dry run stages are processed).'),
  fieldManager: query('fieldManager', 'string', 'fieldManager is a name associated with the actor or entity that is making these changes. It is required for apply requests.'),
  fieldValidation: query('fieldValidation', 'string', 'What to do with unknown fields in the request: Ignore, Warn (the default) or Strict.'),
  force: query('force', 'boolean', 'Force is going to "force" Apply requests: the request takes the fields other managers own. Only for apply patches.'),
  labelSelector: query('labelSelector', 'string', 'A selector to restrict the list of returned objects by their labels.'),
  fieldSelector: query('fieldSelector', 'string', 'A selector to restrict the list of returned objects by their fields.'),
  limit: query('limit', 'integer', 'limit is a maximum number of responses to return for a list call.'),
  continue: query('continue', 'string', 'The continue option should be set when retrieving more results from the server.'),
  resourceVersion: query('resourceVersion', 'string', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
  resourceVersionMatch: query('resourceVersionMatch', 'string', 'resourceVersionMatch determines how resourceVersion is applied to list calls.'),
  timeoutSeconds: query('timeoutSeconds', 'integer', 'Timeout for the list/watch call.'),
  watch: query('watch', 'boolean', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.'),
  allowWatchBookmarks: query('allowWatchBookmarks', 'boolean', 'allowWatchBookmarks requests watch events with type "BOOKMARK".'),
  gracePeriodSeconds: query('gracePeriodSeconds', 'integer', 'The duration in seconds before the object should be deleted.'),
  orphanDependents: query('orphanDependents', 'boolean', 'Deprecated: please use the PropagationPolicy.'),
  propagationPolicy: query('propagationPolicy', 'string', "Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'."),
  name: { name: 'name', in: 'path', required: true, type: 'string', uniqueItems: true, description: 'name of the object' },
};
const body = (schema: Schema) => ({ name: 'body', in: 'body', required: true, schema });
const listParams = [param.allowWatchBookmarks, param.continue, param.fieldSelector, param.labelSelector, param.limit, param.resourceVersion, param.resourceVersionMatch, param.timeoutSeconds, param.watch];
const writeParams = [param.dryRun, param.fieldManager, param.fieldValidation];
const deleteParams = [param.dryRun, param.gracePeriodSeconds, param.orphanDependents, param.propagationPolicy];
const status = { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Status' };

/** paths are the REST operations of every kind, its status subresource included, in kube's form for custom resources. */
function pathsOf(k: KindDef): Record<string, Schema> {
  const gvk = { group, version, kind: k.kind };
  const object = { $ref: `#/definitions/dev.tilt.core.v1alpha1.${k.kind}` };
  const ok = (schema: Schema, ...codes: string[]) => Object.fromEntries([...codes, '200'].sort().map((c) => [c, { description: c === '201' ? 'Created' : c === '202' ? 'Accepted' : 'OK', schema }]));
  const op = (action: string, operationId: string, parameters: Schema[], responses: Schema, consumes: readonly string[] = ['*/*']) => ({
    tags: ['tiltDev_v1alpha1'],
    description: `${action} ${k.kind}`,
    operationId,
    consumes,
    produces: ['application/json', 'application/yaml'],
    schemes: ['https'],
    parameters,
    responses: { ...responses, '401': { description: 'Unauthorized' } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
  });
  const item = (sub: string) => ({
    get: op('get', `read${k.kind}${sub}`, [param.resourceVersion], ok(object)),
    put: op('put', `replace${k.kind}${sub}`, [body(object), ...writeParams], ok(object, '201')),
    patch: op('patch', `patch${k.kind}${sub}`, [body({ type: 'object' }), ...writeParams, param.force], ok(object, '201'), advertisedPatchTypes),
    parameters: [param.name, param.pretty],
  });
  const base = `/apis/${apiVersion}/${k.plural}`;
  const paths: Record<string, Schema> = {
    [base]: {
      get: op('list', `list${k.kind}`, listParams, ok({ $ref: `#/definitions/dev.tilt.core.v1alpha1.${k.kind}List` })),
      post: op('post', `create${k.kind}`, [body(object), ...writeParams], ok(object, '201', '202')),
      delete: op('deletecollection', `deletecollection${k.kind}`, [...deleteParams, ...listParams], ok(status)),
      parameters: [param.pretty],
    },
    [`${base}/{name}`]: { ...item(''), delete: op('delete', `delete${k.kind}`, deleteParams, ok(status, '202')) },
  };
  if (k.hasStatus) paths[`${base}/{name}/status`] = item('Status');
  return paths;
}

const statusSchema: Schema = {
  description: 'Status is a return value for calls that do not return other objects.',
  properties: {
    apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
    kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
    status: { type: 'string', description: 'Status of the operation: "Success" or "Failure".' },
    message: { type: 'string', description: 'A human-readable description of the status of this operation.' },
    reason: { type: 'string', description: 'A machine-readable description of why this operation is in the "Failure" status.' },
    code: { type: 'integer', format: 'int32', description: 'Suggested HTTP return code for this status, 0 if not set.' },
    details: { description: 'Extended data associated with the reason.' },
    metadata: { description: 'Standard list metadata.' },
  },
};

/** openAPIV2Document is the Swagger 2.0 document: every kind and list, and their paths. */
export const openAPIV2Document = {
  swagger: '2.0',
  info: { title: 'ferry', version: 'v1alpha1' },
  paths: Object.assign({}, ...kinds.map(pathsOf)) as Record<string, Schema>,
  definitions: {
    ...Object.fromEntries(Object.entries(openAPISchemas).map(([name, s]) => [name, toV2(s as Schema)])),
    'io.k8s.apimachinery.pkg.apis.meta.v1.Status': statusSchema,
  } as Record<string, Schema>,
};

export const openAPIV2JSON = JSON.stringify(openAPIV2Document);
export const openAPIV2ETag = `"${crypto.createHash('sha512').update(openAPIV2JSON).digest('hex').slice(0, 32).toUpperCase()}"`;

// ---- gnostic protobuf ------------------------------------------------------------------------

/**
 * The messages of gnostic's `openapiv2/OpenAPIv2.proto` this document uses, with their field
 * numbers; protobufjs does the wire encoding.
 */
const gnosticV2 = {
  nested: {
    openapi: {
      nested: {
        v2: {
          nested: {
            Document: { fields: { swagger: { type: 'string', id: 1 }, info: { type: 'Info', id: 2 }, paths: { type: 'Paths', id: 8 }, definitions: { type: 'Definitions', id: 9 } } },
            Info: { fields: { title: { type: 'string', id: 1 }, version: { type: 'string', id: 2 } } },
            Paths: { fields: { vendorExtension: { rule: 'repeated', type: 'NamedAny', id: 1 }, path: { rule: 'repeated', type: 'NamedPathItem', id: 2 } } },
            NamedPathItem: { fields: { name: { type: 'string', id: 1 }, value: { type: 'PathItem', id: 2 } } },
            PathItem: {
              fields: {
                get: { type: 'Operation', id: 2 },
                put: { type: 'Operation', id: 3 },
                post: { type: 'Operation', id: 4 },
                delete: { type: 'Operation', id: 5 },
                patch: { type: 'Operation', id: 8 },
                parameters: { rule: 'repeated', type: 'ParametersItem', id: 9 },
              },
            },
            Operation: {
              fields: {
                tags: { rule: 'repeated', type: 'string', id: 1 },
                description: { type: 'string', id: 3 },
                operationId: { type: 'string', id: 5 },
                produces: { rule: 'repeated', type: 'string', id: 6 },
                consumes: { rule: 'repeated', type: 'string', id: 7 },
                parameters: { rule: 'repeated', type: 'ParametersItem', id: 8 },
                responses: { type: 'Responses', id: 9 },
                schemes: { rule: 'repeated', type: 'string', id: 10 },
                vendorExtension: { rule: 'repeated', type: 'NamedAny', id: 13 },
              },
            },
            ParametersItem: { oneofs: { oneof: { oneof: ['parameter'] } }, fields: { parameter: { type: 'Parameter', id: 1 } } },
            Parameter: { oneofs: { oneof: { oneof: ['bodyParameter', 'nonBodyParameter'] } }, fields: { bodyParameter: { type: 'BodyParameter', id: 1 }, nonBodyParameter: { type: 'NonBodyParameter', id: 2 } } },
            BodyParameter: { fields: { description: { type: 'string', id: 1 }, name: { type: 'string', id: 2 }, in: { type: 'string', id: 3 }, required: { type: 'bool', id: 4 }, schema: { type: 'Schema', id: 5 } } },
            NonBodyParameter: {
              oneofs: { oneof: { oneof: ['queryParameterSubSchema', 'pathParameterSubSchema'] } },
              fields: { queryParameterSubSchema: { type: 'QueryParameterSubSchema', id: 3 }, pathParameterSubSchema: { type: 'PathParameterSubSchema', id: 4 } },
            },
            QueryParameterSubSchema: {
              fields: { required: { type: 'bool', id: 1 }, in: { type: 'string', id: 2 }, description: { type: 'string', id: 3 }, name: { type: 'string', id: 4 }, type: { type: 'string', id: 6 }, uniqueItems: { type: 'bool', id: 20 } },
            },
            PathParameterSubSchema: {
              fields: { required: { type: 'bool', id: 1 }, in: { type: 'string', id: 2 }, description: { type: 'string', id: 3 }, name: { type: 'string', id: 4 }, type: { type: 'string', id: 5 }, uniqueItems: { type: 'bool', id: 19 } },
            },
            Responses: { fields: { responseCode: { rule: 'repeated', type: 'NamedResponseValue', id: 1 } } },
            NamedResponseValue: { fields: { name: { type: 'string', id: 1 }, value: { type: 'ResponseValue', id: 2 } } },
            ResponseValue: { oneofs: { oneof: { oneof: ['response'] } }, fields: { response: { type: 'Response', id: 1 } } },
            Response: { fields: { description: { type: 'string', id: 1 }, schema: { type: 'SchemaItem', id: 2 } } },
            SchemaItem: { oneofs: { oneof: { oneof: ['schema'] } }, fields: { schema: { type: 'Schema', id: 1 } } },
            Definitions: { fields: { additionalProperties: { rule: 'repeated', type: 'NamedSchema', id: 1 } } },
            Properties: { fields: { additionalProperties: { rule: 'repeated', type: 'NamedSchema', id: 1 } } },
            NamedSchema: { fields: { name: { type: 'string', id: 1 }, value: { type: 'Schema', id: 2 } } },
            NamedAny: { fields: { name: { type: 'string', id: 1 }, value: { type: 'Any', id: 2 } } },
            Any: { fields: { yaml: { type: 'string', id: 2 } } },
            TypeItem: { fields: { value: { rule: 'repeated', type: 'string', id: 1 } } },
            ItemsItem: { fields: { schema: { rule: 'repeated', type: 'Schema', id: 1 } } },
            AdditionalPropertiesItem: { oneofs: { oneof: { oneof: ['schema', 'boolean'] } }, fields: { schema: { type: 'Schema', id: 1 }, boolean: { type: 'bool', id: 2 } } },
            Schema: {
              fields: {
                ref: { type: 'string', id: 1 },
                format: { type: 'string', id: 2 },
                title: { type: 'string', id: 3 },
                description: { type: 'string', id: 4 },
                default: { type: 'Any', id: 5 },
                maximum: { type: 'double', id: 7 },
                minimum: { type: 'double', id: 9 },
                maxLength: { type: 'int64', id: 11 },
                minLength: { type: 'int64', id: 12 },
                pattern: { type: 'string', id: 13 },
                maxItems: { type: 'int64', id: 14 },
                minItems: { type: 'int64', id: 15 },
                required: { rule: 'repeated', type: 'string', id: 19 },
                enum: { rule: 'repeated', type: 'Any', id: 20 },
                additionalProperties: { type: 'AdditionalPropertiesItem', id: 21 },
                type: { type: 'TypeItem', id: 22 },
                items: { type: 'ItemsItem', id: 23 },
                properties: { type: 'Properties', id: 25 },
                vendorExtension: { rule: 'repeated', type: 'NamedAny', id: 31 },
              },
            },
          },
        },
      },
    },
  },
};

/** A YAML-valued gnostic Any, the form gnostic gives defaults, enums and vendor extensions. */
const anyOf = (v: unknown) => ({ yaml: YAML.stringify(v) });

const scalarFields = ['format', 'title', 'description', 'pattern', 'maximum', 'minimum', 'maxLength', 'minLength', 'maxItems', 'minItems'];

/** gnosticSchema turns a v2 JSON schema into the plain object of a gnostic Schema message. */
function gnosticSchema(s: Schema): Schema {
  const out: Schema = {};
  if (s.$ref) out.ref = s.$ref;
  for (const f of scalarFields) if (s[f] !== undefined) out[f] = s[f];
  if (s.default !== undefined) out.default = anyOf(s.default);
  if (Array.isArray(s.required) && s.required.length) out.required = s.required;
  if (Array.isArray(s.enum)) out.enum = s.enum.map(anyOf);
  if (typeof s.type === 'string') out.type = { value: [s.type] };
  if (s.items) out.items = { schema: [gnosticSchema(s.items as Schema)] };
  if (typeof s.additionalProperties === 'object') out.additionalProperties = { schema: gnosticSchema(s.additionalProperties as Schema) };
  else if (typeof s.additionalProperties === 'boolean') out.additionalProperties = { boolean: s.additionalProperties };
  if (s.properties) out.properties = { additionalProperties: named(s.properties as Record<string, Schema>) };
  const extensions = extensionsOf(s);
  if (extensions.length) out.vendorExtension = extensions;
  return out;
}

const named = (m: Record<string, Schema>) => Object.entries(m).map(([name, value]) => ({ name, value: gnosticSchema(value) }));

const extensionsOf = (o: Schema) => Object.entries(o).filter(([k]) => k.startsWith('x-')).map(([name, v]) => ({ name, value: anyOf(v) }));

/** gnosticParameter turns a Swagger parameter into a gnostic ParametersItem. */
function gnosticParameter(p: Schema): Schema {
  if (p.in === 'body') return { parameter: { bodyParameter: { name: p.name, in: p.in, required: p.required, schema: gnosticSchema(p.schema as Schema) } } };
  const sub = { required: p.required, in: p.in, description: p.description, name: p.name, type: p.type, uniqueItems: p.uniqueItems };
  return { parameter: { nonBodyParameter: p.in === 'path' ? { pathParameterSubSchema: sub } : { queryParameterSubSchema: sub } } };
}

function gnosticOperation(o: Schema): Schema {
  const responses = Object.entries(o.responses as Record<string, Schema>).map(([name, r]) => ({
    name,
    value: { response: { description: r.description, ...(r.schema ? { schema: { schema: gnosticSchema(r.schema as Schema) } } : {}) } },
  }));
  return {
    tags: o.tags,
    description: o.description,
    operationId: o.operationId,
    produces: o.produces,
    consumes: o.consumes,
    parameters: (o.parameters as Schema[]).map(gnosticParameter),
    responses: { responseCode: responses },
    schemes: o.schemes,
    vendorExtension: extensionsOf(o),
  };
}

/** gnosticPaths turns Swagger paths into the plain object of a gnostic Paths message. */
function gnosticPaths(paths: Record<string, Schema>): Schema {
  return {
    path: Object.entries(paths).map(([name, item]) => {
      const value: Schema = {};
      for (const method of ['get', 'put', 'post', 'delete', 'patch']) if (item[method]) value[method] = gnosticOperation(item[method] as Schema);
      if (item.parameters) value.parameters = (item.parameters as Schema[]).map(gnosticParameter);
      return { name, value };
    }),
  };
}

/** encodeOpenAPIV2 encodes a Swagger 2.0 document as a gnostic Document. */
export async function encodeOpenAPIV2(doc: { swagger: string; info: { title: string; version: string }; paths?: Record<string, Schema>; definitions: Record<string, Schema> }): Promise<Buffer> {
  const protobuf = (await import('protobufjs')).default;
  const Document: ProtoType = protobuf.Root.fromJSON(gnosticV2).lookupType('openapi.v2.Document');
  const message = Document.fromObject({ swagger: doc.swagger, info: doc.info, paths: gnosticPaths(doc.paths ?? {}), definitions: { additionalProperties: named(doc.definitions) } });
  return Buffer.from(Document.encode(message).finish());
}

let protobufDoc: Promise<Buffer> | undefined;

/** openAPIV2Protobuf is the served document in protobuf, encoded on first use. */
export function openAPIV2Protobuf(): Promise<Buffer> {
  protobufDoc ??= encodeOpenAPIV2(openAPIV2Document);
  return protobufDoc;
}

/** openAPIV2Form picks the form an Accept header asks for: protobuf, JSON, or none (406). */
export function openAPIV2Form(accept: string | undefined): 'protobuf' | 'json' | undefined {
  if (!accept) return 'json';
  if (accept.includes('com.github.proto-openapi.spec.v2')) return 'protobuf';
  if (/application\/json|application\/\*|\*\/\*/.test(accept)) return 'json';
  return undefined;
}
