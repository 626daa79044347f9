import { defineKind } from './kind.ts';
import { Obj, Opt, Str, StrList, Bool, Time, Type, type Static } from './schema.ts';
import { invalid, required, type FieldError } from './field-errors.ts';
import type { KubeObject } from './meta.ts';

export const PodLogStreamSpec = Obj('PodLogStreamSpec defines the desired state of PodLogStream: a pod log query to a Kubernetes cluster.', {
  pod: Opt(Str('The name of the pod to watch. Required.')),
  namespace: Opt(Str('The namespace of the pod to watch. Defaults to the kubecontext default namespace.')),
  sinceTime: Opt(Time('An RFC3339 timestamp from which to show logs. If this value precedes the time a pod was started, only logs since the pod start will be returned. If this value is in the future, no logs will be returned.')),
  onlyContainers: Opt(StrList('The names of containers to include in the stream. If onlyContainers and ignoreContainers are not set, will watch all containers in the pod.')),
  ignoreContainers: Opt(StrList('The names of containers to exclude from the stream. If onlyContainers and ignoreContainers are not set, will watch all containers in the pod.')),
  cluster: Opt(Str('Cluster the Pod belongs to. If not provided, "default" will be used.')),
});
export type PodLogStreamSpec = Static<typeof PodLogStreamSpec>;

/** rfc3339 is the time format Kubernetes reads a `metav1.Time` in (Go's time.RFC3339, fraction optional). */
const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * sinceTimeErrors checks a log stream's sinceTime: the schema takes any time JavaScript reads,
 * but the logs APIs take RFC 3339 only, and a time they cannot read would be ignored silently.
 */
export function sinceTimeErrors(field: string, value: string | undefined): FieldError[] {
  if (value === undefined || value === '' || (rfc3339.test(value) && !Number.isNaN(Date.parse(value)))) return [];
  return [invalid(field, value, 'must be an RFC 3339 time, e.g. "2026-12-04T10:00:00Z"')];
}

export const ContainerLogStreamStatus = Obj('ContainerLogStreamStatus defines the current status of each individual container log stream.', {
  name: Opt(Str('The name of the container.')),
  active: Opt(Bool('True when the stream is set up and streaming logs properly.')),
  terminated: Opt(Bool('True when the logs are done stream and the container is terminated.')),
  error: Opt(Str('The last error message encountered while streaming. Empty when the stream is actively streaming or successfully terminated.')),
});
export type ContainerLogStreamStatus = Static<typeof ContainerLogStreamStatus>;

export const PodLogStreamStatus = Obj('PodLogStreamStatus defines the observed state of PodLogStream', {
  containerStatuses: Opt(Type.Array(ContainerLogStreamStatus, { description: 'A list of containers being watched.' })),
  error: Opt(Str('Error message encountered while setting up the stream.')),
});
export type PodLogStreamStatus = Static<typeof PodLogStreamStatus>;

export type PodLogStream = KubeObject<PodLogStreamSpec, PodLogStreamStatus>;

export const podLogStreamKind = defineKind({
  kind: 'PodLogStream',
  plural: 'podlogstreams',
  singular: 'podlogstream',
  shortNames: ['pls'],
  description: 'PodLogStream streams the logs of a pod\'s containers in a Kubernetes cluster into the resource\'s logs.',
  hasStatus: true,
  fields: { spec: PodLogStreamSpec, status: Opt(PodLogStreamStatus) },
  requiredFields: ['spec'],
  validate(obj: PodLogStream) {
    const errs: FieldError[] = [];
    if (!obj.spec) return errs;
    if (!obj.spec.pod) errs.push(required('spec.pod'));
    errs.push(...sinceTimeErrors('spec.sinceTime', obj.spec.sinceTime));
    return errs;
  },
  columns: [
    { name: 'Pod', type: 'string', jsonPath: '.spec.pod', description: 'Pod whose logs are streamed' },
    { name: 'Namespace', type: 'string', jsonPath: '.spec.namespace', description: 'Namespace of the pod' },
    { name: 'Error', type: 'string', jsonPath: '.status.error', description: 'Why the stream cannot run' },
  ],
});
