/**
 * Schema building blocks. Every kind's spec and status is declared once with TypeBox;
 * from that one declaration come the TypeScript types (Static), the server's structural
 * validation, the OpenAPI documents and the CustomResourceDefinitions in deploy/crds.
 */
import { Type, type TSchema, type TUnsafe, type ObjectOptions, type TProperties } from '@sinclair/typebox';

export { Type };
export type { Static, TSchema } from '@sinclair/typebox';

/** Str is a string field with a description (shown by `kubectl explain`). */
export const Str = (description: string, extra: Record<string, unknown> = {}) => Type.String({ description, ...extra });
export const Bool = (description: string) => Type.Boolean({ description });
export const Int32 = (description: string) => Type.Integer({ description, format: 'int32' });
export const Int64 = (description: string) => Type.Integer({ description, format: 'int64' });
export const StrList = (description: string) => Type.Array(Type.String(), { description });

/** MicroTime is a timestamp with microsecond precision, RFC 3339. */
export const MicroTime = (description: string) => Type.String({ description, format: 'date-time' });
/** Time is a timestamp with second precision, RFC 3339. */
export const Time = (description: string) => Type.String({ description, format: 'date-time' });

/** StringMap is an object with arbitrary string keys and string values. */
export const StringMap = (description: string): TUnsafe<Record<string, string>> =>
  Type.Unsafe<Record<string, string>>({ type: 'object', description, additionalProperties: { type: 'string' } });

/** Obj declares an object with the given properties; unknown properties are not allowed. */
export const Obj = <T extends TProperties>(description: string, props: T, options: ObjectOptions = {}) =>
  Type.Object(props, { description, ...options });

export const Opt = Type.Optional;

/** Enum is a string restricted to a closed set. An empty string is allowed when `allowEmpty`. */
export const Enum = <const V extends readonly string[]>(description: string, values: V) =>
  Type.Unsafe<V[number]>({ type: 'string', description, enum: [...values] });

/** OpenAPI schema as served and written to CRDs (JSON, no TypeBox symbols). */
export type OpenAPISchema = Record<string, unknown>;

/** toOpenAPI turns a TypeBox schema into a plain structural OpenAPI v3 schema. */
export function toOpenAPI(schema: TSchema): OpenAPISchema {
  const out: OpenAPISchema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === '$id' || k === 'additionalProperties' && v === false) continue;
    if (k === 'properties') {
      const props: Record<string, OpenAPISchema> = {};
      for (const [name, sub] of Object.entries(v as Record<string, TSchema>)) props[name] = toOpenAPI(sub);
      out.properties = props;
    } else if (k === 'items' || (k === 'additionalProperties' && typeof v === 'object')) {
      out[k] = toOpenAPI(v as TSchema);
    } else if (k === 'required') {
      if ((v as string[]).length > 0) out.required = v;
    } else {
      out[k] = v;
    }
  }
  return out;
}
