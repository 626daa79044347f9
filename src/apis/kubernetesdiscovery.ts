import { defineKind } from './kind.ts';
import { Obj, Opt, Str, StrList, Bool, Int32, Time, MicroTime, StringMap, Type, type Static } from './schema.ts';
import { required, type FieldError } from './field-errors.ts';
import type { KubeObject } from './meta.ts';
import { sinceTimeErrors } from './podlogstream.ts';

export const KubernetesWatchRef = Obj('KubernetesWatchRef is a reference to a Kubernetes object whose pods should be watched.', {
  uid: Opt(Str('UID is a Kubernetes object UID: pods owned (transitively) by it are watched.')),
  namespace: Str('Namespace is the Kubernetes namespace for discovery. Required.'),
  name: Opt(Str('Name is the Kubernetes object name.')),
});

export const LabelSelector = Obj('A label selector is a label query over a set of resources.', {
  matchLabels: Opt(StringMap('matchLabels is a map of {key,value} pairs, ANDed.')),
  matchExpressions: Opt(Type.Array(Obj('A label selector requirement.', {
    key: Str('key is the label key that the selector applies to.'),
    operator: Str('operator is one of In, NotIn, Exists and DoesNotExist.'),
    values: Opt(StrList('values is an array of string values.')),
  }), { description: 'matchExpressions is a list of label selector requirements, ANDed.' })),
});
export type LabelSelector = Static<typeof LabelSelector>;

/** PodLogStreamTemplateSpec is what the PodLogStreams of a discovery's pods (or an apply's discovery) share. */
export const PodLogStreamTemplateSpec = Obj('Describes pod log streams that can be shared across pods.', {
  sinceTime: Opt(Time('An RFC3339 timestamp from which to show logs. If this value precedes the time a pod was started, only logs since the pod start will be returned. If this value is in the future, no logs will be returned.')),
  onlyContainers: Opt(StrList('The names of containers to include in the stream.\n\nIf `onlyContainers` and `ignoreContainers` are not set, will watch all containers in the pod.')),
  ignoreContainers: Opt(StrList('The names of containers to exclude from the stream.\n\nIf `onlyContainers` and `ignoreContainers` are not set, will watch all containers in the pod.')),
});
export type PodLogStreamTemplateSpec = Static<typeof PodLogStreamTemplateSpec>;

export const KubernetesDiscoverySpec = Obj('KubernetesDiscoverySpec defines the desired state of KubernetesDiscovery', {
  watches: Type.Array(KubernetesWatchRef, { description: 'Watches are what this discovery watches: each is a namespace, optionally narrowed to an object UID whose pods (through ownership) are reported.' }),
  extraSelectors: Opt(Type.Array(LabelSelector, { description: 'ExtraSelectors are label selectors that select pods in the watched namespaces, in addition to ownership.' })),
  podLogStreamTemplateSpec: Opt({
    ...PodLogStreamTemplateSpec,
    description:
      'PodLogStreamTemplateSpec describes the PodLogStreams this discovery sets up: one for each pod it reports, with these fields, named <discovery>-<namespace>-<pod>.\n\nWithout a template, every container of every pod is streamed, with all the logs the cluster has. A change to the template changes the streams this discovery made.',
  }),
  cluster: Opt(Str('Cluster name to watch pods in. Defaults to "default".')),
});
export type KubernetesDiscoverySpec = Static<typeof KubernetesDiscoverySpec>;

export const ContainerState = Obj('The state of a container.', {
  waiting: Opt(Obj('Waiting container.', { reason: Opt(Str('Reason the container is waiting, e.g. ContainerCreating, CrashLoopBackOff.')) })),
  running: Opt(Obj('Running container.', { startedAt: Opt(Time('When the container started.')) })),
  terminated: Opt(Obj('Terminated container.', {
    startedAt: Opt(Time('When the container started.')),
    finishedAt: Opt(Time('When the container stopped.')),
    reason: Opt(Str('Why the container stopped.')),
    exitCode: Opt(Int32('Exit code of the container.')),
  })),
});

export const Container = Obj('A container of a pod.', {
  name: Str('Name of the container.'),
  id: Opt(Str('ID of the container, without the runtime prefix (docker://).')),
  ready: Opt(Bool('Whether the container passes its readiness probe.')),
  image: Opt(Str('Image the container runs.')),
  restarts: Opt(Int32('Number of restarts.')),
  state: Opt(ContainerState),
  ports: Opt(Type.Array(Type.Integer({ format: 'int32' }), { description: 'Container ports.' })),
});
export type Container = Static<typeof Container>;

export const Pod = Obj('A pod found by discovery.', {
  name: Str('Name of the pod.'),
  namespace: Str('Namespace of the pod.'),
  uid: Opt(Str('UID of the pod.')),
  createdAt: Opt(Time('When the pod was created.')),
  phase: Opt(Str('Phase of the pod: Pending, Running, Succeeded, Failed, Unknown.')),
  deleting: Opt(Bool('Whether the pod is being deleted.')),
  conditions: Opt(Type.Array(Obj('A pod condition.', {
    type: Str('Condition type.'),
    status: Str('True, False or Unknown.'),
    lastTransitionTime: Opt(Time('Last transition.')),
    reason: Opt(Str('Reason.')),
    message: Opt(Str('Message.')),
  }), { description: 'Conditions of the pod.' })),
  initContainers: Opt(Type.Array(Container, { description: 'Init containers of the pod.' })),
  containers: Opt(Type.Array(Container, { description: 'Containers of the pod.' })),
  baselineRestartCount: Opt(Int32('Restart count when discovery first saw the pod.')),
  podTemplateSpecHash: Opt(Str('The pod-template-hash label of the pod.')),
  status: Opt(Str('A short summary of the pod status, as kubectl shows it.')),
  errors: Opt(StrList('Errors of the pod.')),
  ownerName: Opt(Str('Name of the pod\'s controller owner.')),
  ancestorUID: Opt(Str('AncestorUID is the watched UID the pod was found through (the pod itself or an owner up its chain, e.g. its Deployment); empty when only an extra selector matched.')),
  labels: Opt(StringMap('Labels of the pod.')),
});
export type Pod = Static<typeof Pod>;

export const KubernetesDiscoveryStatus = Obj('KubernetesDiscoveryStatus defines the observed state of KubernetesDiscovery', {
  monitorStartTime: Opt(MicroTime('When the monitor started watching pods.')),
  pods: Opt(Type.Array(Pod, { description: 'Pods that matched the watches or selectors.' })),
  monitorError: Opt(Str('Why pods cannot be watched, if they cannot.')),
  waiting: Opt(Obj('Discovery is waiting.', { reason: Str('Why.') })),
  running: Opt(Obj('Discovery is running.', { startTime: MicroTime('Since when.') })),
});
export type KubernetesDiscoveryStatus = Static<typeof KubernetesDiscoveryStatus>;

export type KubernetesDiscovery = KubeObject<KubernetesDiscoverySpec, KubernetesDiscoveryStatus>;

export const kubernetesDiscoveryKind = defineKind({
  kind: 'KubernetesDiscovery',
  plural: 'kubernetesdiscoveries',
  singular: 'kubernetesdiscovery',
  shortNames: ['kd', 'kdisco'],
  description: 'KubernetesDiscovery watches pods in a Kubernetes cluster: those owned by watched objects or matched by selectors.',
  hasStatus: true,
  fields: { spec: KubernetesDiscoverySpec, status: Opt(KubernetesDiscoveryStatus) },
  requiredFields: ['spec'],
  validate(obj: KubernetesDiscovery) {
    const errs: FieldError[] = [];
    obj.spec?.watches?.forEach((w, i) => {
      if (!w.namespace) errs.push(required(`spec.watches[${i}].namespace`));
    });
    errs.push(...sinceTimeErrors('spec.podLogStreamTemplateSpec.sinceTime', obj.spec?.podLogStreamTemplateSpec?.sinceTime));
    return errs;
  },
  columns: [
    { name: 'Pods', type: 'integer', jsonPath: '.status.pods', description: 'Pods found', value: (o) => ((o.status as KubernetesDiscoveryStatus)?.pods ?? []).length },
    { name: 'Error', type: 'string', jsonPath: '.status.monitorError', description: 'Why pods cannot be watched' },
  ],
});
