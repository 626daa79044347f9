/**
 * Object metadata shared by every kind, as the Kubernetes API defines it (meta/v1).
 * All ferry kinds are cluster-scoped, so `namespace` is always empty.
 */
import { Type } from '@sinclair/typebox';
import { Obj, Opt, Str, Bool, Int64, Time, StringMap } from './schema.ts';

// The names the command line needs without TypeBox live in names.ts.
import { resourceAnnotation } from './names.ts';
export { group, version, apiVersion, triggerQueueName, resourceName } from './names.ts';

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

/** ManagedFieldsEntrySchema is one record of field ownership; its field set is free-form. */
export const ManagedFieldsEntrySchema = Obj('ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource that the fieldset applies to.', {
  manager: Opt(Str('Manager is an identifier of the workflow managing these fields.')),
  operation: Opt(Str('Operation is the type of operation which lead to this ManagedFieldsEntry being created: Apply or Update.')),
  apiVersion: Opt(Str('APIVersion defines the version of this resource that this field set applies to.')),
  time: Opt(Time('Time is the timestamp of when the ManagedFields entry was added.')),
  fieldsType: Opt(Str('FieldsType is the discriminator for the different fields format and version. There is currently only one possible value: "FieldsV1".')),
  fieldsV1: Opt(Type.Unsafe<Record<string, unknown>>({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, description: 'FieldsV1 holds the first JSON version format as described in the "FieldsV1" type.' })),
  subresource: Opt(Str('Subresource is the name of the subresource used to update that object, or empty string if the object was updated through the main resource.')),
});

/**
 * ObjectMetaSchema is the schema of every object's metadata, as served in OpenAPI and as
 * enforced on every write (the rules beyond structure are in src/apiserver/metadata.ts).
 */
export const ObjectMetaSchema = Obj('ObjectMeta is metadata that all persisted resources must have.', {
  name: Opt(Str('Name must be unique within its kind. Required when creating, unless generateName is set. Cannot be updated.')),
  generateName: Opt(Str('GenerateName is an optional prefix used by the server to generate a unique name if name is not provided.')),
  namespace: Opt(Str('Always empty: every tilt.dev kind is cluster-scoped.')),
  selfLink: Opt(Str('Deprecated and never set; accepted for compatibility.')),
  uid: Opt(Str('UID is the unique in time and space value for this object, set by the server.')),
  resourceVersion: Opt(Str('An opaque value that represents the internal version of this object, for optimistic concurrency and watches.')),
  generation: Opt(Int64('A sequence number representing a specific generation of the desired state, set by the server.')),
  creationTimestamp: Opt(Time('When this object was created, set by the server.')),
  deletionTimestamp: Opt(Time('When this object will be deleted, once its finalizers are removed.')),
  deletionGracePeriodSeconds: Opt(Int64('Seconds allowed for graceful termination.')),
  labels: Opt(StringMap('Map of string keys and values that can be used to organize and select objects.')),
  annotations: Opt(StringMap('Unstructured key value map to store arbitrary metadata.')),
  finalizers: Opt(Type.Array(Type.String(), { description: 'Must be empty before the object is deleted from the registry.', 'x-kubernetes-list-type': 'set' })),
  ownerReferences: Opt(Type.Array(Obj('OwnerReference contains enough information to let you identify an owning object.', {
    apiVersion: Str('API version of the referent.'),
    kind: Str('Kind of the referent.'),
    name: Str('Name of the referent.'),
    uid: Str('UID of the referent.'),
    controller: Opt(Bool('If true, this reference points to the managing controller.')),
    blockOwnerDeletion: Opt(Bool('If true, the owner cannot be deleted in the foreground until this reference is removed.')),
  }), { description: 'Objects this object depends on; when all of them are deleted, this object is garbage collected.', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['uid'] })),
  managedFields: Opt(Type.Array(ManagedFieldsEntrySchema, { description: 'Field ownership records.' })),
});

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
  resource: resourceAnnotation,
  targetId: 'tilt.dev/target-id',
  managedBy: 'tilt.dev/managed-by',
  updateMode: 'tilt.dev/update-mode',
  imageMap: 'tilt.dev/image-map',
  logSpanId: 'tilt.dev/log-span-id',
} as const;

/** The annotation in which kubectl's client-side apply keeps the configuration it last applied. */
export const lastAppliedConfigAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

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
