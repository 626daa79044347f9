/**
 * The four patch types kubectl and client-node send. JSON merge patch (RFC 7386) and
 * JSON patch (RFC 6902) come from their libraries; strategic merge patch is merge patch
 * plus ObjectMeta's list strategies and the `$patch` directives, which is all a Tilt kind
 * declares. Apply patches are merged with field ownership, in managed-fields.ts.
 */
import jsonMergePatch from 'json-merge-patch';
import jsonPatch from 'fast-json-patch';
import { isObject } from '../apis/json.ts';
import { mediaType, parseJSON, parseYAML } from './decode.ts';
import { ApiError, badRequest, unsupportedMediaType } from './errors.ts';

export const patchTypes = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;
export type PatchType = keyof typeof patchTypes;

/**
 * advertisedPatchTypes are the patch media types the OpenAPI documents list for a patch, as
 * kube lists them for custom resources: strategic merge patch is accepted, not advertised.
 */
export const advertisedPatchTypes: readonly string[] = [patchTypes.json, patchTypes.merge, patchTypes.apply];

const acceptedPatchTypes = Object.values(patchTypes);

/** patchTypeOf maps a Content-Type header to a patch type, or answers 415. */
export function patchTypeOf(contentType: string | undefined): PatchType {
  const media = mediaType(contentType);
  for (const [k, v] of Object.entries(patchTypes)) if (v === media) return k as PatchType;
  throw unsupportedMediaType(media, acceptedPatchTypes);
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/**
 * parsePatchBody decodes a patch body: JSON for all types, YAML too for apply, with the
 * nesting and size bounds of decode.ts; failures are a 400.
 */
export function parsePatchBody(type: PatchType, raw: string): Json {
  const what = 'error decoding patch';
  return (type === 'apply' ? parseYAML(raw, what) : parseJSON(raw, what)) as Json;
}

const opNames = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** applyPatch returns a patched copy of target (apply patches go through managed-fields.ts). */
export function applyPatch(type: Exclude<PatchType, 'apply'>, target: JsonObject, patch: Json): JsonObject {
  const doc = structuredClone(target);
  switch (type) {
    case 'merge': {
      if (!isObject(patch)) throw badRequest('the patch must be a JSON object');
      return jsonMergePatch.apply(doc, patch) as JsonObject;
    }
    case 'json': {
      if (!Array.isArray(patch)) throw badRequest('the JSON patch must be an array of operations');
      if (patch.length > 10000) throw new ApiError(422, 'Invalid', `The request is invalid: the allowed maximum operations in a JSON patch is 10000, got ${patch.length}`);
      for (const op of patch) {
        if (!isObject(op) || typeof op.op !== 'string' || !opNames.has(op.op) || typeof op.path !== 'string') {
          throw badRequest(`invalid JSON patch operation: ${JSON.stringify(op)}`);
        }
      }
      try {
        return jsonPatch.applyPatch(doc, patch as unknown as jsonPatch.Operation[], true, true).newDocument as JsonObject;
      } catch (err) {
        throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    case 'strategic': {
      if (!isObject(patch)) throw badRequest('the patch must be a JSON object');
      return strategicMerge(doc, patch, []) as JsonObject;
    }
  }
}

function strategicMerge(target: Json | undefined, patch: JsonObject, path: string[]): Json | undefined {
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  if (directive === 'replace') {
    const { $patch: _, ...rest } = patch;
    return stripDirectives(rest);
  }
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const drop = new Set((Array.isArray(value) ? value : []).map(String));
      if (Array.isArray(out[field])) out[field] = (out[field] as Json[]).filter((v) => !drop.has(String(v)));
      continue;
    }
    const here = [...path, key];
    const inMeta = path.length === 1 && path[0] === 'metadata';
    if (value === null) {
      delete out[key];
    } else if (inMeta && key === 'finalizers' && Array.isArray(value)) {
      const current = Array.isArray(out[key]) ? (out[key] as Json[]) : [];
      out[key] = [...current, ...value.filter((v) => !current.includes(v))];
    } else if (inMeta && key === 'ownerReferences' && Array.isArray(value)) {
      out[key] = mergeByKey(Array.isArray(out[key]) ? (out[key] as Json[]) : [], value, 'uid');
    } else if (isObject(value)) {
      const merged = strategicMerge(out[key], value, here);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    } else {
      out[key] = stripDirectives(value);
    }
  }
  return out;
}

function mergeByKey(current: Json[], patch: Json[], key: string): Json[] {
  const out = current.map((c) => (isObject(c) ? { ...c } : c));
  for (const p of patch) {
    if (!isObject(p)) continue;
    const idx = out.findIndex((c) => isObject(c) && c[key] === p[key]);
    if (p.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
    } else if (idx >= 0) {
      out[idx] = strategicMerge(out[idx], p, []) as Json;
    } else {
      out.push(stripDirectives(p));
    }
  }
  return out;
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
  return out;
}
