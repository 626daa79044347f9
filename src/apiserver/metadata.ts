/**
 * ObjectMeta validation, with apimachinery's field paths and wording.
 *
 * Names follow Tilt's rules, which are wider than DNS subdomains because Tilt itself names
 * objects `Tiltfile` and `image:app`: a name must be a valid path segment (not `.` or
 * `..`, no `/` or `%`), at most 253 characters, without whitespace or control characters.
 */
import { forbidden, invalid, required, type FieldError } from '../apis/field-errors.ts';
import type { ObjectMeta } from '../apis/meta.ts';

const knownMetaFields = new Set([
  'name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences',
  'finalizers', 'managedFields', 'selfLink',
]);

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

/** validateMeta checks an object's metadata as a create or update will store it. */
export function validateMeta(meta: ObjectMeta, opts: { creating: boolean }): FieldError[] {
  const errs: FieldError[] = [];
  const typeErr = (field: string, expected: string, v: unknown) =>
    errs.push({ type: 'TypeInvalid', field, value: Array.isArray(v) ? 'array' : typeof v, detail: `${field} in body must be of type ${expected}` });
  if (meta.name === undefined || meta.name === '') {
    if (opts.creating && !meta.generateName) errs.push(required('metadata.name', 'name or generateName is required'));
  } else if (typeof meta.name !== 'string') {
    typeErr('metadata.name', 'string', meta.name);
  } else {
    for (const p of nameProblems(meta.name)) errs.push(invalid('metadata.name', meta.name, p));
  }
  if (meta.generateName !== undefined && typeof meta.generateName === 'string' && !meta.name) {
    for (const p of nameProblems(meta.generateName)) errs.push(invalid('metadata.generateName', meta.generateName, p));
  }
  if (meta.labels !== undefined) {
    if (typeof meta.labels !== 'object' || meta.labels === null || Array.isArray(meta.labels)) typeErr('metadata.labels', 'object', meta.labels);
    else {
      for (const [k, v] of Object.entries(meta.labels)) {
        errs.push(...qualifiedNameErrors('metadata.labels', k));
        if (typeof v !== 'string') typeErr(`metadata.labels[${k}]`, 'string', v);
        else if (v.length > 63 || !labelValue.test(v)) {
          errs.push(invalid('metadata.labels', v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
        }
      }
    }
  }
  if (meta.annotations !== undefined) {
    if (typeof meta.annotations !== 'object' || meta.annotations === null || Array.isArray(meta.annotations)) typeErr('metadata.annotations', 'object', meta.annotations);
    else {
      let size = 0;
      for (const [k, v] of Object.entries(meta.annotations)) {
        errs.push(...qualifiedNameErrors('metadata.annotations', k.toLowerCase()));
        if (typeof v !== 'string') typeErr(`metadata.annotations[${k}]`, 'string', v);
        else size += k.length + Buffer.byteLength(v);
      }
      if (size > maxAnnotationBytes) errs.push({ type: 'TooLong', field: 'metadata.annotations', detail: `must have at most ${maxAnnotationBytes} bytes` });
    }
  }
  if (meta.finalizers !== undefined) {
    if (!Array.isArray(meta.finalizers)) typeErr('metadata.finalizers', 'array', meta.finalizers);
    else meta.finalizers.forEach((f, i) => {
      if (typeof f !== 'string') typeErr(`metadata.finalizers[${i}]`, 'string', f);
      else errs.push(...qualifiedNameErrors(`metadata.finalizers[${i}]`, f));
    });
  }
  if (meta.ownerReferences !== undefined) {
    if (!Array.isArray(meta.ownerReferences)) typeErr('metadata.ownerReferences', 'array', meta.ownerReferences);
    else {
      let controllers = 0;
      meta.ownerReferences.forEach((r, i) => {
        for (const f of ['apiVersion', 'kind', 'name', 'uid'] as const) {
          if (!r || typeof r[f] !== 'string' || !r[f]) errs.push(required(`metadata.ownerReferences[${i}].${f}`));
        }
        if (r?.controller) controllers++;
      });
      if (controllers > 1) errs.push(invalid('metadata.ownerReferences', meta.ownerReferences.length, 'Only one reference can have Controller set to true'));
    }
  }
  return errs;
}

export { forbidden };
