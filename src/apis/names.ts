/**
 * The API's names that code outside the daemon needs without the schemas: the group and
 * version, the resource annotation and the trigger queue. Loading this module loads nothing else,
 * so the command line can use it; src/apis/meta.ts, which loads TypeBox, re-exports them.
 */
import type { KubeObject } from './meta.ts';

export const group = 'tilt.dev';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;

/** resourceAnnotation names the resource an object belongs to. */
export const resourceAnnotation = 'tilt.dev/resource';

/** The ConfigMap through which a resource is triggered (Tilt's trigger queue). */
export const triggerQueueName = 'tilt-trigger-queue';

/** resourceName is the resource an object belongs to: its `tilt.dev/resource` annotation, else its own name. */
export function resourceName(obj: KubeObject): string {
  return obj.metadata.annotations?.[resourceAnnotation] || obj.metadata.name || '';
}
