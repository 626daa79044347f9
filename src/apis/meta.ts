/**
 * Object metadata shared by every kind, as the Kubernetes API defines it (meta/v1).
 * All ferry kinds are cluster-scoped, so `namespace` is always empty.
 */
export const group = 'tilt.dev';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
}

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

/** KubeObject is the shape every stored object has: typed spec and status per kind. */
export interface KubeObject<Spec = unknown, Status = unknown> {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
}

export interface KubeList<T> {
  apiVersion: string;
  kind: string;
  metadata: ListMeta;
  items: T[];
}

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** Status is the body of every error the API server answers (meta/v1 Status). */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never> | ListMeta;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** Well-known annotations of the Tilt API. */
export const annotations = {
  resource: 'tilt.dev/resource',
  targetId: 'tilt.dev/target-id',
  managedBy: 'tilt.dev/managed-by',
  updateMode: 'tilt.dev/update-mode',
  imageMap: 'tilt.dev/image-map',
  logSpanId: 'tilt.dev/log-span-id',
} as const;

/** The ConfigMap through which a resource is triggered (Tilt's trigger queue). */
export const triggerQueueName = 'tilt-trigger-queue';

/** toMicroTime formats a Date as an RFC 3339 MicroTime string (microsecond precision, UTC). */
export function toMicroTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** microTimeString formats microseconds since the epoch as a MicroTime (RFC 3339, six digits, UTC). */
export function microTimeString(us: number): string {
  const ms = Math.floor(us / 1000);
  const frac = String(Math.floor(us - ms * 1000)).padStart(3, '0');
  return new Date(ms).toISOString().replace(/Z$/, `${frac}Z`);
}

/** toTime formats a Time (second precision, UTC). */
export function toTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** resourceName is the resource an object belongs to: its `tilt.dev/resource` annotation, else its own name. */
export function resourceName(obj: KubeObject): string {
  return obj.metadata.annotations?.[annotations.resource] || obj.metadata.name || '';
}

/**
 * microTimeValue parses a Time or MicroTime string into microseconds since the epoch,
 * keeping the microsecond digits that Date drops. NaN when the string is not a time.
 */
export function microTimeValue(s: string | undefined): number {
  if (!s) return NaN;
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return NaN;
  const seconds = Date.parse(m[1] + m[3]);
  if (Number.isNaN(seconds)) return NaN;
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  return seconds * 1000 + Number(frac);
}
