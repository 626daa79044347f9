/** What both clients (client-node's and the command line's light one) ask of an object they write. */
import { apiVersion } from '../apis/names.ts';
import type { KubeObject } from '../apis/meta.ts';

/** kindOf is the object's kind; an object without one cannot be written. */
export function kindOf(obj: KubeObject): string {
  if (!obj.kind) throw new Error('object has no kind');
  return obj.kind;
}

/** nameOf is the object's metadata.name; an object without one cannot be written. */
export function nameOf(obj: KubeObject): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error(`${obj.kind} has no metadata.name`);
  return name;
}

/** withApiVersion fills in tilt.dev/v1alpha1 when the object names no apiVersion. */
export function withApiVersion<T extends KubeObject>(obj: T): T {
  return obj.apiVersion ? obj : { ...obj, apiVersion };
}
