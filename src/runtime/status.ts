import type { KubeObject } from '../apis/meta.ts';
import type { Client } from '../client/client.ts';
import { isConflict, isNotFound } from '../client/errors.ts';

/**
 * jsonEqual compares two values as their JSON forms would compare: object key order does not
 * matter and properties whose value is undefined count as absent.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    return false;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i] ?? null, bb[i] ?? null)) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  let count = 0;
  for (const k of Object.keys(ao)) {
    if (ao[k] === undefined) continue;
    count++;
    if (!jsonEqual(ao[k], bo[k])) return false;
  }
  for (const k of Object.keys(bo)) if (bo[k] !== undefined) count--;
  return count === 0;
}

/** How many times updateStatusIfChanged and setFinalizer re-read the object after a Conflict before giving up. */
const maxConflictRetries = 5;

/**
 * updateStatusIfChanged writes `status` to obj's status subresource unless it already equals it
 * (jsonEqual), so an unchanged status makes no write and no event. On Conflict it re-reads the
 * object and tries again (up to 5 times). Resolves with the object as stored (the one passed in
 * when nothing was written), or undefined when the object no longer exists. Other errors are
 * thrown as they came (an ApiError keeps its reason).
 */
export async function updateStatusIfChanged<T extends KubeObject>(
  client: Client,
  obj: T,
  status: T['status'],
): Promise<T | undefined> {
  const kind = obj.kind;
  const name = obj.metadata.name;
  if (!kind || !name) throw new Error('updateStatusIfChanged needs an object with kind and metadata.name');
  let current: T = obj;
  for (let attempt = 0; ; attempt++) {
    if (jsonEqual(current.status, status)) return current;
    try {
      return await client.updateStatus<T>({ ...current, status });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (!isConflict(err) || attempt >= maxConflictRetries) throw err;
      const latest = await client.get<T>(kind, name);
      if (!latest) return undefined;
      current = latest;
    }
  }
}

/**
 * setFinalizer adds (present) or removes the finalizer `name` on obj with an update, re-reading
 * the object on a Conflict (up to 5 times). Resolves with the object as stored (obj itself, or
 * the latest read, when it already is as asked), or undefined when the object no longer exists.
 * Callers name the kind (`setFinalizer<KubernetesApply>(…)`), which the RBAC check of the
 * deploy manifests reads.
 */
export async function setFinalizer<T extends KubeObject>(client: Client, obj: T, name: string, present: boolean): Promise<T | undefined> {
  const kind = obj.kind;
  const objName = obj.metadata.name;
  if (!kind || !objName) throw new Error('setFinalizer needs an object with kind and metadata.name');
  let current: T | undefined = obj;
  for (let attempt = 0; current; attempt++) {
    const finalizers = current.metadata.finalizers ?? [];
    if (finalizers.includes(name) === present) return current;
    const next = present ? [...finalizers, name] : finalizers.filter((f) => f !== name);
    try {
      return await client.update({ ...current, kind, metadata: { ...current.metadata, finalizers: next } });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (!isConflict(err) || attempt >= maxConflictRetries) throw err;
      current = await client.get<T>(kind, objName);
    }
  }
  return undefined;
}
