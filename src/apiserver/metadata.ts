/**
 * ObjectMeta validation, with apimachinery's field paths and wording.
 *
 * Names follow Tilt's rules, which are wider than DNS subdomains because Tilt itself names
 * objects `Tiltfile` and `image:app`: a name must be a valid path segment (not `.` or
 * `..`, no `/` or `%`), at most 253 characters, without whitespace or control characters.
 */
import { forbidden, invalid, required, type FieldError } from '../apis/field-errors.ts';
import { ObjectMetaSchema, type ObjectMeta } from '../apis/meta.ts';
import { isObject } from '../apis/json.ts';

const knownMetaFields = new Set(Object.keys(ObjectMetaSchema.properties));

const qualifiedNamePart = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const maxAnnotationBytes = 256 * 1024;

/** nameProblems returns why a name is not acceptable, empty when it is. */
export function nameProblems(name: string): string[] {
  const out: string[] = [];
  if (name === '.' || name === '..') out.push(`may not be '${name}'`);
  if (name.includes('/')) out.push(`may not contain '/'`);
  if (name.includes('%')) out.push(`may not contain '%'`);
  if (/[\s\x00-\x1f\x7f]/.test(name)) out.push('may not contain whitespace or control characters');
  if (name.length > 253) out.push('must be no more than 253 characters');
  return out;
}

function qualifiedNameErrors(field: string, key: string): FieldError[] {
  const parts = key.split('/');
  let name = key;
  if (parts.length === 2) {
    const [prefix, n] = parts;
    name = n;
    if (!prefix || prefix.length > 253 || !dnsSubdomain.test(prefix)) {
      return [invalid(field, key, "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")];
    }
  } else if (parts.length > 2) {
    return [invalid(field, key, "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character with an optional DNS subdomain prefix and '/'")];
  }
  if (!name || name.length > 63 || !qualifiedNamePart.test(name)) {
    return [invalid(field, key, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character")];
  }
  return [];
}

/** unknownMetaFields prunes metadata fields ObjectMeta does not have, returning their paths. */
export function pruneUnknownMeta(meta: Record<string, unknown>): string[] {
  const unknown: string[] = [];
  for (const k of Object.keys(meta)) {
    if (!knownMetaFields.has(k)) {
      unknown.push(`metadata.${k}`);
      delete meta[k];
    }
  }
  return unknown;
}

/**
 * validateMeta checks the rules of an object's metadata beyond its structure, as a create or
 * update will store it. Types (and well-formed Unicode) are checked with the rest of the
 * object against ObjectMetaSchema by validateObject; values of a wrong type are skipped here.
 */
export function validateMeta(meta: ObjectMeta, opts: { creating: boolean }): FieldError[] {
  const errs: FieldError[] = [];
  const isString = (v: unknown): v is string => typeof v === 'string';
  if (meta.name === undefined || meta.name === '') {
    if (opts.creating && !meta.generateName) errs.push(required('metadata.name', 'name or generateName is required'));
  } else if (isString(meta.name)) {
    for (const p of nameProblems(meta.name)) errs.push(invalid('metadata.name', meta.name, p));
  }
  if (isString(meta.generateName) && !meta.name) {
    for (const p of nameProblems(meta.generateName)) errs.push(invalid('metadata.generateName', meta.generateName, p));
  }
  if (isObject(meta.labels)) {
    for (const [k, v] of Object.entries(meta.labels)) {
      errs.push(...qualifiedNameErrors('metadata.labels', k));
      if (isString(v) && (v.length > 63 || !labelValue.test(v))) {
        errs.push(invalid('metadata.labels', v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
      }
    }
  }
  if (isObject(meta.annotations)) {
    let size = 0;
    for (const [k, v] of Object.entries(meta.annotations)) {
      errs.push(...qualifiedNameErrors('metadata.annotations', k.toLowerCase()));
      if (isString(v)) size += k.length + Buffer.byteLength(v);
    }
    if (size > maxAnnotationBytes) errs.push({ type: 'TooLong', field: 'metadata.annotations', detail: `must have at most ${maxAnnotationBytes} bytes` });
  }
  if (Array.isArray(meta.finalizers)) {
    meta.finalizers.forEach((f, i) => {
      if (isString(f)) errs.push(...qualifiedNameErrors(`metadata.finalizers[${i}]`, f));
    });
  }
  if (Array.isArray(meta.ownerReferences)) {
    let controllers = 0;
    meta.ownerReferences.forEach((r, i) => {
      if (!isObject(r)) return;
      for (const f of ['apiVersion', 'kind', 'name', 'uid'] as const) {
        if (r[f] === '') errs.push(required(`metadata.ownerReferences[${i}].${f}`));
      }
      if (r.controller === true) controllers++;
    });
    if (controllers > 1) errs.push(invalid('metadata.ownerReferences', meta.ownerReferences.length, 'Only one reference can have Controller set to true'));
  }
  return errs;
}

export { forbidden };
