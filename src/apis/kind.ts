/**
 * KindDef describes one kind of the tilt.dev/v1alpha1 group: its names, its schemas and
 * the rules the API server enforces beyond the schema's structure.
 */
import type { TSchema } from '@sinclair/typebox';
import type { FieldError } from './field-errors.ts';
import type { KubeObject } from './meta.ts';

export interface Column {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  /** JSONPath of the value, as a CRD's additionalPrinterColumns states it. */
  jsonPath: string;
  description: string;
  /** Columns with priority above 0 appear only with `-o wide`. */
  priority?: number;
  /** value computes the cell for the embedded server when jsonPath alone cannot. */
  value?: (obj: KubeObject) => string | number | boolean | undefined;
}

export interface KindDef {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  /** hasStatus is true for kinds with a status subresource (all but ConfigMap). */
  hasStatus: boolean;
  /** Schemas of the top-level fields besides apiVersion, kind and metadata (spec, status, data...). */
  fields: Record<string, TSchema>;
  /** Fields that a create must carry, e.g. spec. */
  requiredFields: string[];
  /** validate checks the rules the schema cannot state, returning field errors. */
  validate?: (obj: KubeObject<any, any>) => FieldError[];
  /** columns shown by `kubectl get` after Name, and before Age. */
  columns: Column[];
}

export function defineKind(def: KindDef): KindDef {
  return def;
}
