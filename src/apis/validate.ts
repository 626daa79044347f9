/**
 * Structural validation of an object against its kind's schema, in the manner of a CRD's
 * structural schema: wrong types, missing required fields and values outside an enum are
 * field errors; fields the schema does not know are reported (for fieldValidation=Strict
 * or Warn) and pruned. The kind's own rules run once the structure is sound.
 */
import type { TSchema } from '@sinclair/typebox';
import type { KindDef } from './kind.ts';
import type { KubeObject } from './meta.ts';
import { required, notSupported, type FieldError } from './field-errors.ts';

export interface ValidationResult {
  errors: FieldError[];
  /** Paths of fields the schema does not know, e.g. `spec.foo`. They were removed from the object. */
  unknownFields: string[];
}

const topLevel = new Set(['apiVersion', 'kind', 'metadata']);

/** validateObject checks obj (and prunes its unknown fields in place). */
export function validateObject(def: KindDef, obj: Record<string, unknown>): ValidationResult {
  const v = new Walker();
  for (const key of Object.keys(obj)) {
    if (topLevel.has(key)) continue;
    const schema = def.fields[key];
    if (!schema) {
      v.unknown.push(key);
      delete obj[key];
      continue;
    }
    v.walk(schema, obj[key], key);
  }
  for (const key of def.requiredFields) {
    if (obj[key] === undefined || obj[key] === null) v.errors.push(required(key));
  }
  let errors = v.errors;
  if (def.validate && !errors.some((e) => e.type !== 'Required')) {
    // The kind's rules explain a missing field better than the schema does: theirs win.
    const ruled = def.validate(obj as unknown as KubeObject);
    const fields = new Set(ruled.map((e) => e.field));
    errors = [...errors.filter((e) => !fields.has(e.field)), ...ruled];
  }
  return { errors, unknownFields: v.unknown };
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Walker {
  errors: FieldError[] = [];
  unknown: string[] = [];

  walk(schema: TSchema, value: unknown, path: string): void {
    if (value === undefined || value === null) return;
    if (schema.anyOf) {
      const ok = (schema.anyOf as TSchema[]).some((s) => typeMatches(s.type as string, value));
      if (!ok) this.typeError(path, (schema.anyOf as TSchema[]).map((s) => s.type).join(' or '), value);
      return;
    }
    const type = schema.type as string | undefined;
    if (!type) return;
    if (!typeMatches(type, value)) {
      this.typeError(path, type, value);
      return;
    }
    if (type === 'string' && schema.enum && !(schema.enum as string[]).includes(value as string)) {
      this.errors.push(notSupported(path, value, (schema.enum as string[]).filter((e) => e !== '')));
    }
    if (type === 'string' && schema.format === 'date-time' && value !== '' && Number.isNaN(Date.parse(value as string))) {
      this.errors.push({ type: 'Invalid', field: path, value, detail: `${path} in body must be of type date-time: ${JSON.stringify(value)}` });
    }
    if (type === 'array') {
      (value as unknown[]).forEach((item, i) => this.walk(schema.items as TSchema, item, `${path}[${i}]`));
    }
    if (type === 'object') this.walkObject(schema, value as Record<string, unknown>, path);
  }

  private walkObject(schema: TSchema, value: Record<string, unknown>, path: string): void {
    const props = schema.properties as Record<string, TSchema> | undefined;
    const additional = schema.additionalProperties as TSchema | boolean | undefined;
    for (const key of Object.keys(value)) {
      const sub = props?.[key];
      if (sub) this.walk(sub, value[key], `${path}.${key}`);
      else if (typeof additional === 'object') this.walk(additional, value[key], `${path}[${key}]`);
      else if (props) {
        this.unknown.push(`${path}.${key}`);
        delete value[key];
      }
    }
    for (const key of (schema.required as string[] | undefined) ?? []) {
      if (value[key] === undefined || value[key] === null) this.errors.push(required(`${path}.${key}`));
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
      return typeof value === 'number';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isPlainObject(value);
    default:
      return true;
  }
}
