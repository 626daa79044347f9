import { defineKind } from './kind.ts';
import { Obj, Opt, Str, StrList, Bool, MicroTime, Type, type Static } from './schema.ts';
import { forbidden, invalid, required, type FieldError } from './field-errors.ts';
import type { KubeObject } from './meta.ts';
import { Condition } from './kubernetesapply.ts';

export const LiveUpdateKubernetesSelector = Obj('Specifies how to select containers to live update inside K8s.', {
  discoveryName: Str('The name of a KubernetesDiscovery object for finding pods.'),
  applyName: Opt(Str('ApplyName is the name of a KubernetesApply object for filtering discovered pods to prevent updating old deployments.\n\nIf not provided, no filtering will be applied and all discovered Pods will be eligible for update.')),
  image: Opt(Str("Image specifies the name of the image that we're copying files into. Determines which containers in a pod to live-update. Matches images by name unless tag is explicitly specified.\n\nExactly one of Image, ContainerName, or ImageMapName must be specified.")),
  containerName: Opt(Str('ContainerName specifies the name of the container that we are copying files into.\n\nExactly one of Image, ContainerName, or ImageMapName must be specified.')),
  imageMapName: Opt(Str('Name of the ImageMap object to watch for which file changes are included in the container image.\n\nIf not provided, the live-updater will copy any file changes that it is aware of, even if they are already included in the container.\n\nExactly one of Image, ContainerName, or ImageMapName must be specified.')),
});

export const LiveUpdateDockerComposeSelector = Obj('Specifies how to select containers to live update inside Docker Compose.', {
  service: Str('The name of a DockerComposeService object.'),
});

export const LiveUpdateSelector = Obj('Specifies how to select containers to live update.\n\nEvery live update must be associated with some object for finding containers.', {
  kubernetes: Opt(LiveUpdateKubernetesSelector),
  dockerCompose: Opt(LiveUpdateDockerComposeSelector),
});
export type LiveUpdateSelector = Static<typeof LiveUpdateSelector>;

export const LiveUpdateSource = Obj('Specifies where to get file watch information for live updates.', {
  fileWatch: Opt(Str('The name of a FileWatch to use for file change information.')),
  imageMap: Opt(Str('The name of an ImageMap to use for information about the most recent image build.')),
});
export type LiveUpdateSource = Static<typeof LiveUpdateSource>;

export const LiveUpdateSync = Obj('Determines how a local path maps into a container image.', {
  localPath: Str('A relative path to local files. Required.\n\nComputed relative to the live-update BasePath.'),
  containerPath: Str('An absolute path inside the container. Required.'),
});
export type LiveUpdateSync = Static<typeof LiveUpdateSync>;

export const LiveUpdateExec = Obj('Runs a remote command after files have been synced to the container. Commonly used for small in-container changes (like moving files around, or restart processes).', {
  args: StrList('Command-line arguments to run inside the container. Must have length at least 1.'),
  triggerPaths: Opt(StrList('A list of relative paths that trigger this command exec.\n\nIf not specified, all file changes seen by the LiveUpdate trigger this exec.\n\nPaths are specified relative to the the BasePath of the LiveUpdate.')),
  echoOff: Opt(Bool('EchoOff disables the log line that echoes the command before it runs.')),
  timeoutSeconds: Opt(Type.Integer({ format: 'int32', description: 'How long the command may run before the update fails. Defaults to the daemon setting (--exec-timeout, 60 s).' })),
});
export type LiveUpdateExec = Static<typeof LiveUpdateExec>;

export const liveUpdateRestartStrategies = ['', 'none', 'always'] as const;

export const LiveUpdateSpec = Obj('LiveUpdateSpec defines the desired state of LiveUpdate', {
  basePath: Str('An absolute local path that serves as the basis for all path calculations.\n\nRelative paths in this object are calculated relative to the base path. It cannot be empty.'),
  selector: LiveUpdateSelector,
  sources: Opt(Type.Array(LiveUpdateSource, { description: 'Sources of file changes to sync: each names a FileWatch and optionally the ImageMap whose build start tells which changes are already in the image.' })),
  fileWatchNames: Opt(StrList('Names of FileWatch objects to watch for a list of files that have recently been updated (older form of sources).\n\nEvery live update must be associated with at least one FileWatch object to trigger the update.')),
  stopPaths: Opt(StrList('A list of relative paths that will immediately stop the live-update for the current container.\n\nUsed to detect file changes that invalidate the entire container image, forcing a complete rebuild.')),
  syncs: Opt(Type.Array(LiveUpdateSync, { description: 'Specify paths that can be live-updated into the container and their destinations. Any file changes observed that do not match any of these will invalidate the container image and force a complete rebuild.' })),
  execs: Opt(Type.Array(LiveUpdateExec, { description: "A list of commands to run inside the container after files are synced.\n\nNB: In some documentation, we call these 'runs'. 'exec' more clearly matches kubectl exec for remote commands." })),
  restart: Opt(Type.Unsafe<'' | 'none' | 'always'>({ type: 'string', enum: [...liveUpdateRestartStrategies], description: 'Specifies whether to restart the container in-place after syncs and execs: "none" (default) or "always". Native restarts are only supported by Docker and Docker Compose.' })),
  initialSync: Opt(Obj('InitialSync, when present, copies the sync paths into each new container before any change.', {})),
});
export type LiveUpdateSpec = Static<typeof LiveUpdateSpec>;

export const LiveUpdateContainerStatus = Obj('LiveUpdateContainerStatus defines the observed state of the live-update syncer for a particular container.', {
  containerName: Str('The name of the container in the pod.'),
  containerID: Opt(Str("The ID of the container in the pod, in the format 'docker://<container_id>'.")),
  podName: Str('The name of the pod this container belongs to.'),
  namespace: Str('The namespace of the pod this container belongs to.'),
  lastFileTimeSynced: Opt(MicroTime('The timestamp of the most recent file update successfully synced to the container.\n\nMust match the timestamp in a FileEvent, not the time the sync was performed.')),
  lastExecError: Opt(Str('Contains any error messages from the most recent sequence of Execs.\n\nEmpty if the most recent Execs completed successfully.')),
  waiting: Opt(Obj('Details about a waiting live update.', {
    reason: Str('One word camel-case reason why we are waiting.'),
    message: Opt(Str('Human-readable description of what we are waiting for.')),
  })),
});
export type LiveUpdateContainerStatus = Static<typeof LiveUpdateContainerStatus>;

export const LiveUpdateStateFailed = Obj('If any of the containers are currently failing to process updates, the LiveUpdateStateFailed surfaces information about what is happening and what the live-updater is doing to fix the problem.', {
  reason: Opt(Str('One word camel-case reason why we have reached a failure state.')),
  message: Opt(Str('Human-readable description of what is wrong.')),
  lastTransitionTime: Opt(MicroTime('When the live-updater transitioned into a Failed state.')),
});
export type LiveUpdateStateFailed = Static<typeof LiveUpdateStateFailed>;

export const LiveUpdateStatus = Obj('LiveUpdateStatus defines the observed state of LiveUpdate', {
  containers: Opt(Type.Array(LiveUpdateContainerStatus, { description: 'A list of all containers that the live-updater is currently connected to.' })),
  failed: Opt(LiveUpdateStateFailed),
  lastSyncLatency: Opt(Str('LastSyncLatency (ferry) is how long the most recent sync took, from the last file change it carried (its FileEvent time) until the container acknowledged it, as a Go duration (`12.5ms`). The same figures, per LiveUpdate, are the histogram `ferry_liveupdate_sync_latency_seconds` on /metrics.')),
  conditions: Opt(Type.Array(Condition, { description: 'Conditions (ferry) about the spec that do not stop the live update. `SyncPathsFound` is False, reason `SyncPathNotFound`, while a sync\'s localPath does not exist: changes there cannot be synced until it does.' })),
});
export type LiveUpdateStatus = Static<typeof LiveUpdateStatus>;

export type LiveUpdate = KubeObject<LiveUpdateSpec, LiveUpdateStatus>;

function validateLiveUpdate(obj: LiveUpdate): FieldError[] {
  const errs: FieldError[] = [];
  const spec = obj.spec;
  if (!spec) return errs;
  if (!spec.basePath) errs.push(required('spec.basePath', 'base path cannot be empty'));
  if (!spec.syncs?.length && !spec.execs?.length) {
    errs.push(invalid('spec.syncs', null, 'must contain at least 1 sync or 1 exec to run on live update'));
  }
  spec.syncs?.forEach((s, i) => {
    if (!s.containerPath?.startsWith('/')) errs.push(invalid(`spec.syncs[${i}]`, s.containerPath, 'sync destination is not absolute'));
  });
  spec.execs?.forEach((e, i) => {
    if (!e.args?.length) errs.push(required(`spec.execs[${i}].args`, 'must have length at least 1'));
  });
  const k8s = spec.selector?.kubernetes;
  if (k8s) {
    if (!k8s.discoveryName) errs.push(required('spec.selector.kubernetes.discoveryName', 'KubernetesDiscovery name is required'));
    const given = (['image', 'imageMapName', 'containerName'] as const).filter((f) => k8s[f]);
    if (given.length === 0) {
      errs.push(required('spec.selector.kubernetes', 'exactly one of image, imageMap, or containerName is required'));
    } else if (given.length > 1) {
      for (const f of given) errs.push(forbidden(`spec.selector.kubernetes.${f}`, 'cannot specify more than one of image, imageMap, or containerName'));
    }
  }
  const dc = spec.selector?.dockerCompose;
  if (dc && !dc.service) errs.push(required('spec.selector.dockerCompose.service', 'DockerComposeService name is required'));
  return errs;
}

export const liveUpdateKind = defineKind({
  kind: 'LiveUpdate',
  plural: 'liveupdates',
  singular: 'liveupdate',
  shortNames: ['lu'],
  description: 'LiveUpdate copies changed files into running containers, runs commands in them and restarts them.',
  hasStatus: true,
  fields: { spec: LiveUpdateSpec, status: Opt(LiveUpdateStatus) },
  requiredFields: ['spec'],
  validate: validateLiveUpdate,
  columns: [
    { name: 'Containers', type: 'integer', jsonPath: '.status.containers', description: 'Number of containers kept up to date', value: (o) => ((o.status as LiveUpdateStatus)?.containers ?? []).length },
    { name: 'Failed', type: 'string', jsonPath: '.status.failed.reason', description: 'Why live updates are failing' },
    { name: 'Message', type: 'string', jsonPath: '.status.failed.message', description: 'What is wrong', priority: 1 },
    { name: 'Last Sync', type: 'string', jsonPath: '.status.lastSyncLatency', description: 'Latency of the most recent sync, from the file change to the container', priority: 1 },
  ],
});
