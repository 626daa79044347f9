/**
 * OpenAPI v2 (Swagger 2.0) with the kinds' full schemas, as JSON and as the gnostic protobuf
 * `openapi.v2.Document` that client-go asks for. kubectl 1.20–1.26 reads it for `explain` and
 * client-side validation; newer kubectl reads v3 for those and v2 only for the patch type,
 * which it finds in paths: the document has none, so kubectl uses merge patch.
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

/** openAPIV2Document is the Swagger 2.0 document: every kind and list, no paths. */
export const openAPIV2Document = {
  swagger: '2.0',
  info: { title: 'ferry', version: 'v1alpha1' },
  paths: {},
  definitions: Object.fromEntries(Object.entries(openAPISchemas).map(([name, s]) => [name, toV2(s as Schema)])),
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
            Paths: { fields: { vendorExtension: { rule: 'repeated', type: 'NamedAny', id: 1 } } },
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
  const extensions = Object.entries(s).filter(([k]) => k.startsWith('x-'));
  if (extensions.length) out.vendorExtension = extensions.map(([name, v]) => ({ name, value: anyOf(v) }));
  return out;
}

const named = (m: Record<string, Schema>) => Object.entries(m).map(([name, value]) => ({ name, value: gnosticSchema(value) }));

/** encodeOpenAPIV2 encodes a Swagger 2.0 document (without paths) as a gnostic Document. */
export async function encodeOpenAPIV2(doc: { swagger: string; info: { title: string; version: string }; definitions: Record<string, Schema> }): Promise<Buffer> {
  const protobuf = (await import('protobufjs')).default;
  const Document: ProtoType = protobuf.Root.fromJSON(gnosticV2).lookupType('openapi.v2.Document');
  const message = Document.fromObject({ swagger: doc.swagger, info: doc.info, paths: {}, definitions: { additionalProperties: named(doc.definitions) } });
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
