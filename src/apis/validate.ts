/**
 * Structural validation of an object against its kind's schema, in the manner of a CRD's
 * structural schema: wrong types, missing required fields and values outside an enum are
 * field errors; fields the schema does not know are reported (for fieldValidation=Strict
 * or Warn) and pruned. The kind's own rules run once the structure is sound.
 *
 * Every value is checked where it sits, whatever its container: an item of an array and a
 * value of a map must have the schema's type (`null` included: `[null]` is a type error),
 * every string and map key must be well-formed Unicode (it is stored and served as UTF-8),
 * and integers must fit their format. A `null` object field means the field is absent, as
 * it does for a typed Kubernetes server (Go clients send `creationTimestamp: null`) and in
 * a merge patch: it is removed, and reported only when the field is required.
 *
 * A value that cannot be stored as its schema's type is a TypeInvalid error: a wrong JSON
 * type, a string that is not well-formed, a date-time that is not one, an integer out of
 * its format's range (kube-apiserver fails to decode these). The API server refuses those
 * before it looks further at the object; the other errors come with its own checks.
 *
 * The walk follows the schema, never the value: nesting the schema does not describe is
 * pruned (unknown fields), refused (a type error) or scanned without recursion (free-form
 * values), so a deeply nested body cannot exhaust the stack here.
 */
import type { TSchema } from '@sinclair/typebox';
import type { KindDef } from './kind.ts';
import { ObjectMetaSchema, type KubeObject } from './meta.ts';
import { required, notSupported, type FieldError } from './field-errors.ts';
import { isObject } from './json.ts';

export interface ValidationResult {
  errors: FieldError[];
  /** Paths of fields the schema does not know, e.g. `spec.foo`. They were removed from the object. */
  unknownFields: string[];
}

/**
 * validateObject checks obj (and prunes its unknown fields and null fields in place):
 * metadata against ObjectMeta's schema, every other top-level field against the kind's.
 * The kind's own rules (def.validate) then see an object whose every present field has
 * its schema's type; only required fields may be missing. With `structureOnly` they do not
 * run: the caller wants the schema's verdict alone (the API server's decoding step, whose
 * kind rules run later on the object to be stored).
 */
export function validateObject(def: KindDef, obj: Record<string, unknown>, opts: { structureOnly?: boolean } = {}): ValidationResult {
  const v = new Walker();
  for (const key of Object.keys(obj)) {
    if (key === 'apiVersion' || key === 'kind') continue;
    const schema = key === 'metadata' ? ObjectMetaSchema : own(def.fields, key);
    if (!schema) {
      v.unknown.push(printable(key));
      delete obj[key];
      continue;
    }
    if (obj[key] === null) {
      delete obj[key];
      continue;
    }
    v.walk(schema, obj[key], key);
  }
  for (const key of def.requiredFields) {
    if (obj[key] === undefined) v.errors.push(required(key));
  }
  let errors = v.errors;
  if (def.validate && !opts.structureOnly && !errors.some((e) => e.type !== 'Required')) {
    // The kind's rules explain a missing field better than the schema does: theirs win.
    const ruled = def.validate(obj as unknown as KubeObject);
    const fields = new Set(ruled.map((e) => e.field));
    errors = [...errors.filter((e) => !fields.has(e.field)), ...ruled];
  }
  return { errors, unknownFields: v.unknown };
}

/** isWellFormed is true when s has no unpaired UTF-16 surrogate, so it survives a round trip through UTF-8. */
export function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** illFormedDetail is the message of the field error for a string that is not well-formed Unicode. */
export const illFormedDetail = 'must be valid Unicode: it contains an unpaired UTF-16 surrogate, which UTF-8 cannot encode';

/** undecodable is the TypeInvalid error of a value of the right JSON type that the type cannot hold. */
function undecodable(field: string, value: unknown, detail: string): FieldError {
  return { type: 'TypeInvalid', field, value, detail };
}

/** printable shows a key in a field path: as is, or JSON-escaped when it is not well-formed. */
function printable(key: string): string {
  return isWellFormed(key) ? key : JSON.stringify(key).slice(1, -1);
}

/** own reads a property that the record itself has (never one of Object.prototype's: `toString`, `constructor`). */
function own<T>(record: Record<string, T> | undefined, key: string): T | undefined {
  return record && Object.hasOwn(record, key) ? record[key] : undefined;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

const int32Range = [-(2 ** 31), 2 ** 31 - 1] as const;

class Walker {
  errors: FieldError[] = [];
  unknown: string[] = [];

  /** walk checks a present value (null included) against its schema. */
  walk(schema: TSchema, value: unknown, path: string): void {
    if (schema.anyOf) {
      const ok = (schema.anyOf as TSchema[]).some((s) => typeMatches(s.type as string, value));
      if (!ok) this.typeError(path, (schema.anyOf as TSchema[]).map((s) => s.type).join(' or '), value);
      else if (typeof value === 'string') this.checkString(schema, value, path);
      else if (typeof value === 'number') this.checkInteger(schema, value, path);
      return;
    }
    const type = schema.type as string | undefined;
    if (!type) {
      this.scanFreeForm(value, path);
      return;
    }
    if (!typeMatches(type, value)) {
      this.typeError(path, type, value);
      return;
    }
    switch (type) {
      case 'string':
        this.checkString(schema, value as string, path);
        break;
      case 'integer':
        this.checkInteger(schema, value as number, path);
        break;
      case 'array':
        if (!schema.items) this.scanFreeForm(value, path);
        else (value as unknown[]).forEach((item, i) => this.walk(schema.items as TSchema, item, `${path}[${i}]`));
        break;
      case 'object':
        this.walkObject(schema, value as Record<string, unknown>, path);
        break;
    }
  }

  private walkObject(schema: TSchema, value: Record<string, unknown>, path: string): void {
    const props = schema.properties as Record<string, TSchema> | undefined;
    const additional = schema.additionalProperties as TSchema | boolean | undefined;
    if (!props && typeof additional !== 'object') {
      // Free-form (x-kubernetes-preserve-unknown-fields): any JSON, but only well-formed strings.
      this.scanFreeForm(value, path);
      return;
    }
    for (const key of Object.keys(value)) {
      const sub = own(props, key);
      if (sub) {
        if (value[key] === null) delete value[key];
        else this.walk(sub, value[key], `${path}.${key}`);
      } else if (typeof additional === 'object') {
        const at = `${path}[${printable(key)}]`;
        if (!isWellFormed(key)) this.errors.push(undecodable(at, key, illFormedDetail));
        this.walk(additional, value[key], at);
      } else {
        this.unknown.push(`${path}.${printable(key)}`);
        delete value[key];
      }
    }
    for (const key of (schema.required as string[] | undefined) ?? []) {
      if (value[key] === undefined) this.errors.push(required(`${path}.${key}`));
    }
  }

  private checkString(schema: TSchema, value: string, path: string): void {
    if (!isWellFormed(value)) {
      this.errors.push(undecodable(path, value, illFormedDetail));
      return;
    }
    if (schema.enum && !(schema.enum as string[]).includes(value)) {
      this.errors.push(notSupported(path, value, (schema.enum as string[]).filter((e) => e !== '')));
    }
    if (schema.format === 'date-time' && value !== '' && Number.isNaN(Date.parse(value))) {
      this.errors.push(undecodable(path, value, `${path} in body must be of type date-time: ${JSON.stringify(value)}`));
    }
  }

  private checkInteger(schema: TSchema, value: number, path: string): void {
    if (schema.format === 'int32' && (value < int32Range[0] || value > int32Range[1])) {
      this.errors.push(undecodable(path, value, `must be a 32-bit integer, between ${int32Range[0]} and ${int32Range[1]}`));
    } else if (!Number.isSafeInteger(value)) {
      this.errors.push(undecodable(path, value, `must be an integer between ${-Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`));
    }
  }

  /**
   * scanFreeForm accepts any JSON value where the schema allows one, checking only that its
   * strings and keys are well-formed. It keeps its own stack: depth costs no recursion.
   */
  private scanFreeForm(root: unknown, rootPath: string): void {
    const stack: Array<[unknown, string]> = [[root, rootPath]];
    while (stack.length) {
      const [value, path] = stack.pop()!;
      if (typeof value === 'string') {
        if (!isWellFormed(value)) return void this.errors.push(undecodable(path, value, illFormedDetail));
      } else if (Array.isArray(value)) {
        value.forEach((item, i) => stack.push([item, `${path}[${i}]`]));
      } else if (isObject(value)) {
        for (const [k, item] of Object.entries(value)) {
          const at = `${path}.${printable(k)}`;
          if (!isWellFormed(k)) return void this.errors.push(undecodable(at, k, illFormedDetail));
          stack.push([item, at]);
        }
      }
    }
  }

  private typeError(path: string, expected: string, value: unknown): void {
    const actual = typeName(value);
    this.errors.push({
      type: 'TypeInvalid',
      field: path,
      value: actual,
      detail: `${path} in body must be of type ${expected}: ${JSON.stringify(actual)}`,
    });
  }
}

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isObject(value);
    default:
      return true;
  }
}
