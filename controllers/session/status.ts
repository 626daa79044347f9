/**
 * The Session's status, computed purely from the objects ferry holds: targets for every resource
 * and the exit condition. No I/O: the reconciler passes in the objects and the time.
 *
 * ## How ferry's objects become targets
 *
 * A resource is named by an object's `tilt.dev/resource` annotation, else by the object's own
 * name. Each resource gives up to three targets, each listing that one resource:
 *
 * - `<resource>:update` (job): its CmdImages, LiveUpdates, run-to-completion Cmds and
 *   KubernetesApplies.
 *   - CmdImage: `building` is Active (not ready: a job is never "ready"); `completed` is
 *     Terminated with the build error if any; `waiting` is Waiting with its reason in Tilt's words
 *     (`WaitingForImageMap` is `waiting-for-dependency`, `WaitingForCluster` and `ClusterNotReady`
 *     are `waiting-for-cluster`, other reasons in kebab case); no status
 *     yet is Waiting `waiting-for-dependency` when an ImageMap in `spec.imageMaps` has no image,
 *     else `waiting-for-build`.
 *   - LiveUpdate: `failed` with reason `UpdateFailed` (and any container's `lastExecError`) is
 *     Terminated with that error. `UpdateStopped` is how a LiveUpdate asks for a rebuild: with a
 *     CmdImage in the resource it is Waiting `waiting-for-rebuild`, without one nothing will
 *     rebuild, so it is an error. `ObjectNotFound` is Waiting `waiting-for-dependency`, and so is
 *     `Invalid` "no docker compose status" (`waiting-for-runtime`): the service is not up yet.
 *     `CrashLoopBackOff` and `Terminated` describe the container, which the runtime target
 *     reports, so they add nothing here. Any other failure (`Invalid`, `InitialSyncError`, ...)
 *     is an error. A failure older than the newest build start of a CmdImage of the resource is
 *     ignored: that build is what clears it.
 *   - Cmd (job): `running` is Active, `terminated` is Terminated (an error unless it exited 0),
 *     `waiting` is Waiting with its reason; a Cmd waiting for a start trigger is inactive.
 *   - KubernetesApply: an apply in progress (`lastApplyStartTime` newer than `lastApplyTime`) is
 *     Active; a `ReadyToApply=False` condition (waiting for an ImageMap or the Cluster) is Waiting
 *     with its reason in Tilt's words, as for a CmdImage; a finished apply is Terminated, with
 *     `status.error` if it failed; no apply yet is Waiting `waiting-for-dependency` when an
 *     ImageMap has no image, else `waiting-for-apply`.
 *   - Combined, the first that applies: Active if any object is active (earliest start);
 *     else the most recent error; else Waiting (first object in kind and name order); else
 *     Terminated without error (the latest finish); else no state.
 * - `<resource>:runtime` (server; job when its only pods are a KubernetesApply's Jobs): its
 *   DockerComposeService, KubernetesDiscovery and KubernetesApply.
 *   - DockerComposeService: a running container is Active and ready; an apply error, or a
 *     container that exited, died or is restarting, is Terminated with
 *     `container <name> exited with code <n>` (servers are not expected to stop); a created or
 *     paused container is Waiting with its state; no container is Waiting
 *     `waiting-for-dependency` (an ImageMap in `spec.imageMaps` has no image yet) or
 *     `waiting-for-container`.
 *   - KubernetesDiscovery, as Tilt's Kubernetes runtime target, on the most recent pod that is
 *     not being deleted: phase Succeeded is Terminated without error; Running with every
 *     container ready is Active and ready; phase Failed, a container in an error state or pod
 *     errors are Terminated with Tilt's messages, with a grace status when `ci.k8sGracePeriod`
 *     is set (measured from the discovery's monitor start); Running otherwise is Active, not
 *     ready; no pod is Waiting `waiting-for-pod`; otherwise Waiting with the pod status.
 *     A `monitorError` is Terminated with that error.
 *   - KubernetesApply, through the KubernetesDiscovery it owns (same name, owner reference), by the
 *     rules above with Tilt's pod readiness modes inferred from the applied objects: YAML whose
 *     only workloads are Jobs waits for success (a running pod is not ready, the target is a
 *     job, and a `JobComplete` condition with no pods is done); YAML without workloads ignores
 *     pods (no target once applied without pods, Active and ready with pods); other YAML waits for
 *     ready pods. Before a successful apply it is Waiting `waiting-for-pod`, and the grace period
 *     counts from the last successful apply (`lastApplyTime`).
 *   - Combined: the first error, else the first Waiting, else Active not ready, else Active and
 *     ready, else Terminated without error.
 * - `<resource>:serve` (server): its long-running Cmds. A Cmd is a server when it has a
 *   `readinessProbe` or the annotation `ferry.dev/cmd-type: server`; the annotation value `job`
 *   makes it a job whatever its probe. A server Cmd that is running is Active with the Cmd's
 *   `ready`; one that terminated is Terminated with its reason (or `exit status <n>`), as a
 *   server stopping is always an error; waiting is Waiting with its reason.
 *
 * A resource is disabled, and all its targets report `disabled`, when its `<resource>-disable`
 * ConfigMap says `isDisabled` is true (as Tilt's Tiltfile creates them), or when every one of its
 * objects that has a `disableSource` reports the state Disabled.
 *
 * Objects being deleted are left out. Targets are sorted by name.
 *
 * ## Exit conditions
 *
 * `manual` is never done. `ci` follows Tilt's order: a cluster connection error of a resource
 * watching Kubernetes pods; the first failed target in name order (a Tolerated failure is
 * "retrying" instead); all targets healthy (and at least one target: ferry has no Tiltfile
 * target, so an empty session keeps waiting, for its timeout); the readiness timeout (servers
 * only); the global timeout from `status.startTime`. Defaults: timeout 30m, readiness timeout 5m,
 * no grace period; a duration of 0 turns a timeout off.
 */
import {
  applyConditionJobComplete,
  microTimeString,
  microTimeValue,
  resourceName,
  type Cluster,
  type Cmd,
  type CmdImage,
  type ConfigMap,
  type DockerComposeService,
  type ImageMap,
  type KubeObject,
  type KubernetesApply,
  type KubernetesDiscovery,
  type LiveUpdate,
  type Pod,
  type Session,
  type SessionStatus,
  type Target,
  type TargetState,
} from '../../src/apis/index.ts';
import { parseAllDocuments } from 'yaml';
import { formatGoDuration, parseGoBool, parseGoDurationOr } from '../../src/apis/go.ts';
import { cmdImageWaitReasons, cmdWaitingReasons, kubernetesApplyReadyToApply, liveUpdateMessages, type CmdImageWaitReason } from '../../src/tilt/index.ts';

/** The annotation that says whether a Cmd is a `server` or a `job` (see cmdTargetType). */
export const cmdTypeAnnotation = 'ferry.dev/cmd-type';

/** The Cmd waiting reason for a Cmd that waits for a start trigger; such a Cmd is inactive. */
export const cmdWaitingForTrigger = cmdWaitingReasons.waitingForStartTrigger;

/** defaultCITimeoutMs is `ci.timeout` when unset: 30 minutes. */
export const defaultCITimeoutMs = 30 * 60_000;
/** defaultReadinessTimeoutMs is `ci.readinessTimeout` when unset: 5 minutes. */
export const defaultReadinessTimeoutMs = 5 * 60_000;

/** SessionInputs are the objects a Session summarises. */
export interface SessionInputs {
  cmdImages?: CmdImage[];
  liveUpdates?: LiveUpdate[];
  dockerComposeServices?: DockerComposeService[];
  kubernetesDiscoveries?: KubernetesDiscovery[];
  kubernetesApplies?: KubernetesApply[];
  cmds?: Cmd[];
  imageMaps?: ImageMap[];
  configMaps?: ConfigMap[];
  clusters?: Cluster[];
}

/** TargetsResult is the targets at one instant, and when they change by time alone. */
export interface TargetsResult {
  targets: Target[];
  /** requeueAfterMs is when a grace period ends, if one is running. */
  requeueAfterMs?: number;
  /** k8sResources are the enabled resources that watch Kubernetes pods, by the cluster they use. */
  k8sClusters: Set<string>;
}

/** ExitResult is the verdict of the exit condition. */
export interface ExitResult {
  done: boolean;
  error?: string;
  /** requeueAfterMs is when a timeout expires, if not done. */
  requeueAfterMs?: number;
}

/** cmdTargetType tells whether a Cmd is a long-running server or a run-to-completion job. */
export function cmdTargetType(cmd: Cmd): 'server' | 'job' {
  const a = cmd.metadata.annotations?.[cmdTypeAnnotation];
  if (a === 'server' || a === 'job') return a;
  return cmd.spec?.readinessProbe ? 'server' : 'job';
}


const epoch = '1970-01-01T00:00:00.000000Z';


/** asMicro normalises the first valid Time or MicroTime among candidates to a MicroTime. */
function asMicro(...candidates: Array<string | undefined>): string | undefined {
  for (const c of candidates) {
    const us = microTimeValue(c);
    if (!Number.isNaN(us)) return microTimeString(us);
  }
  return undefined;
}

function createdMicro(obj: KubeObject): string {
  return asMicro(obj.metadata.creationTimestamp) ?? epoch;
}

function byName(a: KubeObject, b: KubeObject): number {
  const x = a.metadata.name ?? '';
  const y = b.metadata.name ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

function live<T extends KubeObject>(objs: T[] | undefined): T[] {
  return (objs ?? []).filter((o) => !o.metadata.deletionTimestamp).sort(byName);
}

interface Resource {
  name: string;
  cmdImages: CmdImage[];
  liveUpdates: LiveUpdate[];
  jobCmds: Cmd[];
  serverCmds: Cmd[];
  dockerComposeServices: DockerComposeService[];
  kubernetesDiscoveries: KubernetesDiscovery[];
  /** kubernetesApplies are the resource's applies, each with the KubernetesDiscovery it owns (same name), if any. */
  kubernetesApplies: Array<{ ka: KubernetesApply; kd?: KubernetesDiscovery }>;
}

/** ownedBy says whether a KubernetesDiscovery is the one a KubernetesApply made and controls. */
function ownedBy(kd: KubernetesDiscovery, ka: KubernetesApply): boolean {
  const uid = ka.metadata.uid;
  return !!kd.metadata.ownerReferences?.some((r) => r.kind === 'KubernetesApply' && r.name === ka.metadata.name && (!uid || r.uid === uid));
}

/** groupResources gathers the target-producing objects by resource name. */
function groupResources(inputs: SessionInputs): Map<string, Resource> {
  const out = new Map<string, Resource>();
  const get = (obj: KubeObject): Resource => {
    const name = resourceName(obj);
    let r = out.get(name);
    if (!r) {
      r = { name, cmdImages: [], liveUpdates: [], jobCmds: [], serverCmds: [], dockerComposeServices: [], kubernetesDiscoveries: [], kubernetesApplies: [] };
      out.set(name, r);
    }
    return r;
  };
  for (const o of live(inputs.cmdImages)) get(o).cmdImages.push(o);
  for (const o of live(inputs.liveUpdates)) get(o).liveUpdates.push(o);
  for (const o of live(inputs.cmds)) (cmdTargetType(o) === 'server' ? get(o).serverCmds : get(o).jobCmds).push(o);
  for (const o of live(inputs.dockerComposeServices)) get(o).dockerComposeServices.push(o);
  const applies = new Map<string, { ka: KubernetesApply; kd?: KubernetesDiscovery }>();
  for (const o of live(inputs.kubernetesApplies)) {
    const entry = { ka: o };
    applies.set(o.metadata.name ?? '', entry);
    get(o).kubernetesApplies.push(entry);
  }
  for (const o of live(inputs.kubernetesDiscoveries)) {
    // The discovery an apply owns is read through that apply (its start, its readiness mode).
    const entry = applies.get(o.metadata.name ?? '');
    if (entry && ownedBy(o, entry.ka)) entry.kd = o;
    else get(o).kubernetesDiscoveries.push(o);
  }
  return out;
}

const disableSuffix = '-disable';

/** disableConfigMapName is the ConfigMap whose `isDisabled` disables a whole resource. */
export const disableConfigMapName = (resource: string): string => resource + disableSuffix;

/** isDisableConfigMapName says whether a ConfigMap name is some resource's disableConfigMapName. */
export const isDisableConfigMapName = (name: string | undefined): boolean => name?.endsWith(disableSuffix) === true;

function isDisabled(r: Resource, configMaps: Map<string, ConfigMap>): boolean {
  const cm = configMaps.get(disableConfigMapName(r.name));
  const v = cm?.data?.isDisabled;
  if (v !== undefined && parseGoBool(v) === true) return true;
  const switchable: Array<Cmd | DockerComposeService | KubernetesApply> = [
    ...r.jobCmds,
    ...r.serverCmds,
    ...r.dockerComposeServices,
    ...r.kubernetesApplies.map((a) => a.ka),
  ].filter(
    (o) => o.spec?.disableSource,
  );
  return switchable.length > 0 && switchable.every((o) => o.status?.disableStatus?.state === 'Disabled');
}

// ---- update targets ---------------------------------------------------------------------------

/** A piece of a target's state contributed by one object. */
type Part =
  | { kind: 'active'; startTime: string; ready: boolean; lastReadyTime?: string }
  | { kind: 'waiting'; reason: string }
  | { kind: 'terminated'; startTime: string; finishTime: string; error?: string; graceStatus?: '' | 'Tolerated' | 'Exceeded' }
  | { kind: 'none' };

function missingImage(names: string[] | undefined, imageMaps: Map<string, ImageMap>): boolean {
  return (names ?? []).some((n) => !imageMaps.get(n)?.status?.image);
}

/** The CmdImage controller's waiting reasons, as Tilt's hold reasons name them. */
const cmdImageHoldReasons: Record<CmdImageWaitReason, string> = {
  WaitingForImageMap: 'waiting-for-dependency',
  ImageMapDisabled: 'waiting-for-dependency',
  WaitingForCluster: 'waiting-for-cluster',
  ClusterNotReady: 'waiting-for-cluster',
};

/**
 * holdReason words a waiting reason as Tilt's hold reasons are (`waiting-for-cluster`): known
 * reasons by the table above, other PascalCase tokens in kebab case, `unknown` when empty.
 */
export function holdReason(reason: string | undefined): string {
  if (!reason) return 'unknown';
  if ((cmdImageWaitReasons as readonly string[]).includes(reason)) return cmdImageHoldReasons[reason as CmdImageWaitReason];
  if (/^[A-Z][A-Za-z0-9]*$/.test(reason)) return reason.replace(/(?<!^)([A-Z])/g, '-$1').toLowerCase();
  return reason;
}

function cmdImagePart(ci: CmdImage, imageMaps: Map<string, ImageMap>): Part {
  const s = ci.status;
  if (s?.building) return { kind: 'active', startTime: asMicro(s.building.startedAt) ?? createdMicro(ci), ready: false };
  if (s?.waiting) return { kind: 'waiting', reason: holdReason(s.waiting.reason) };
  if (s?.completed) {
    const start = asMicro(s.completed.startedAt) ?? createdMicro(ci);
    return { kind: 'terminated', startTime: start, finishTime: asMicro(s.completed.finishedAt) ?? start, error: s.completed.error || undefined };
  }
  return { kind: 'waiting', reason: missingImage(ci.spec?.imageMaps, imageMaps) ? 'waiting-for-dependency' : 'waiting-for-build' };
}

/** latestBuildStartUs is the newest build start among the CmdImages (NaN if none started). */
function latestBuildStartUs(cmdImages: CmdImage[]): number {
  let best = NaN;
  for (const ci of cmdImages) {
    for (const t of [ci.status?.building?.startedAt, ci.status?.completed?.startedAt]) {
      const us = microTimeValue(t);
      if (!Number.isNaN(us) && !(us <= best)) best = us;
    }
  }
  return best;
}

function liveUpdatePart(lu: LiveUpdate, r: Resource): Part {
  const failed = lu.status?.failed;
  if (failed) {
    const at = microTimeValue(failed.lastTransitionTime);
    const rebuilt = latestBuildStartUs(r.cmdImages);
    if (!Number.isNaN(at) && !Number.isNaN(rebuilt) && rebuilt > at) return { kind: 'none' };
    const when = asMicro(failed.lastTransitionTime) ?? createdMicro(lu);
    const error = failed.message || failed.reason || 'live update failed';
    switch (failed.reason) {
      case 'UpdateStopped':
        if (r.cmdImages.length > 0) return { kind: 'waiting', reason: 'waiting-for-rebuild' };
        return { kind: 'terminated', startTime: when, finishTime: when, error };
      case 'ObjectNotFound':
        return { kind: 'waiting', reason: 'waiting-for-dependency' };
      case 'Invalid':
        // Before its service has a container the live update has nothing to read: not a failure yet.
        if (failed.message === liveUpdateMessages.noDockerComposeStatus) return { kind: 'waiting', reason: 'waiting-for-runtime' };
        return { kind: 'terminated', startTime: when, finishTime: when, error };
      case 'CrashLoopBackOff':
      case 'Terminated':
        return { kind: 'none' };
      default:
        return { kind: 'terminated', startTime: when, finishTime: when, error };
    }
  }
  const execError = lu.status?.containers?.find((c) => c.lastExecError)?.lastExecError;
  if (execError) {
    const when = createdMicro(lu);
    const synced = lu.status?.containers?.map((c) => asMicro(c.lastFileTimeSynced)).filter((t): t is string => !!t).sort().pop();
    return { kind: 'terminated', startTime: synced ?? when, finishTime: synced ?? when, error: execError };
  }
  return { kind: 'none' };
}

function cmdPart(cmd: Cmd, server: boolean): Part {
  const s = cmd.status;
  if (s?.running) {
    return { kind: 'active', startTime: asMicro(s.running.startedAt) ?? createdMicro(cmd), ready: server ? s.ready === true : false };
  }
  if (s?.terminated) {
    const t = s.terminated;
    const start = asMicro(t.startedAt) ?? createdMicro(cmd);
    const failed = server || t.exitCode !== 0;
    return {
      kind: 'terminated',
      startTime: start,
      finishTime: asMicro(t.finishedAt) ?? start,
      error: failed ? t.reason || `exit status ${t.exitCode}` : undefined,
    };
  }
  if (s?.waiting) {
    if (s.waiting.reason === cmdWaitingForTrigger) return { kind: 'none' };
    return { kind: 'waiting', reason: s.waiting.reason || 'unknown' };
  }
  return { kind: 'waiting', reason: 'waiting-for-start' };
}

function finishOf(p: Part): string {
  return p.kind === 'terminated' ? p.finishTime : '';
}

/** combineJob merges the parts of an update target (see the file comment for the order). */
function combineJob(parts: Part[]): TargetState {
  const active = parts.filter((p): p is Extract<Part, { kind: 'active' }> => p.kind === 'active');
  if (active.length) {
    const first = active.reduce((a, b) => (b.startTime < a.startTime ? b : a));
    return { active: { startTime: first.startTime, ready: false } };
  }
  const terminated = parts.filter((p): p is Extract<Part, { kind: 'terminated' }> => p.kind === 'terminated');
  const failed = terminated.filter((p) => p.error);
  if (failed.length) {
    const last = failed.reduce((a, b) => (finishOf(b) > finishOf(a) ? b : a));
    return { terminated: { startTime: last.startTime, finishTime: last.finishTime, error: last.error } };
  }
  const waiting = parts.find((p): p is Extract<Part, { kind: 'waiting' }> => p.kind === 'waiting');
  if (waiting) return { waiting: { waitReason: waiting.reason } };
  if (terminated.length) {
    const last = terminated.reduce((a, b) => (finishOf(b) > finishOf(a) ? b : a));
    return { terminated: { startTime: last.startTime, finishTime: last.finishTime } };
  }
  return {};
}

/** combineServer merges the parts of a server target: errors first, then waiting, then not ready. */
function combineServer(parts: Part[]): TargetState {
  const failed = parts.find((p) => p.kind === 'terminated' && p.error);
  if (failed && failed.kind === 'terminated') {
    return {
      terminated: {
        startTime: failed.startTime,
        finishTime: failed.finishTime,
        error: failed.error,
        ...(failed.graceStatus ? { graceStatus: failed.graceStatus } : {}),
      },
    };
  }
  const waiting = parts.find((p) => p.kind === 'waiting');
  if (waiting && waiting.kind === 'waiting') return { waiting: { waitReason: waiting.reason } };
  const active = parts.filter((p): p is Extract<Part, { kind: 'active' }> => p.kind === 'active');
  const notReady = active.find((p) => !p.ready);
  const pick = notReady ?? active[0];
  if (pick) {
    return { active: { startTime: pick.startTime, ready: pick.ready, ...(pick.lastReadyTime ? { lastReadyTime: pick.lastReadyTime } : {}) } };
  }
  const done = parts.find((p) => p.kind === 'terminated');
  if (done && done.kind === 'terminated') return { terminated: { startTime: done.startTime, finishTime: done.finishTime } };
  return {};
}

// ---- runtime targets --------------------------------------------------------------------------

function dockerComposePart(dcs: DockerComposeService, imageMaps: Map<string, ImageMap>): Part {
  const s = dcs.status;
  const cs = s?.containerState;
  const name = s?.containerName || dcs.spec?.service || dcs.metadata.name || '';
  const start = asMicro(cs?.startedAt, s?.lastApplyStartTime) ?? createdMicro(dcs);
  if (s?.applyError) {
    return { kind: 'terminated', startTime: start, finishTime: asMicro(s.lastApplyFinishTime) ?? start, error: s.applyError };
  }
  if (cs) {
    switch (cs.status) {
      case 'running':
        return { kind: 'active', startTime: start, ready: true };
      case 'exited':
      case 'dead':
      case 'removing':
      case 'restarting': {
        let error = `container ${name} exited with code ${cs.exitCode ?? 0}`;
        if (cs.error) error += `: ${cs.error}`;
        return { kind: 'terminated', startTime: start, finishTime: asMicro(cs.finishedAt) ?? start, error };
      }
      default:
        if (cs.running) return { kind: 'active', startTime: start, ready: true };
        if (cs.status) return { kind: 'waiting', reason: cs.status };
    }
  }
  return { kind: 'waiting', reason: missingImage(dcs.spec?.imageMaps, imageMaps) ? 'waiting-for-dependency' : 'waiting-for-container' };
}

/** Container waiting reasons that mean the container is failing rather than starting. */
const containerErrorReasons = new Set([
  'CrashLoopBackOff',
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'StartError',
  'PreStartHookError',
  'PostStartHookError',
  'Error',
]);

function mostRecentPod(pods: Pod[] | undefined): Pod | undefined {
  const alive = (pods ?? []).filter((p) => !p.deleting);
  alive.sort((a, b) => {
    const x = microTimeValue(a.createdAt);
    const y = microTimeValue(b.createdAt);
    if (x !== y && !Number.isNaN(x) && !Number.isNaN(y)) return y - x;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  return alive[0];
}

function erroredContainer(pod: Pod): string | undefined {
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    const w = c.state?.waiting?.reason;
    if (w && containerErrorReasons.has(w)) return c.name;
    const t = c.state?.terminated;
    if (t && (t.exitCode ?? 0) !== 0 && (pod.containers ?? []).includes(c)) return c.name;
  }
  return undefined;
}

/** How a resource's pods count as healthy: Tilt's pod readiness modes. */
type PodReadiness = 'wait' | 'succeeded' | 'ignore';

function kubernetesPart(
  kd: KubernetesDiscovery,
  nowMs: number,
  gracePeriodMs: number,
  requeue: (ms: number) => void,
  opts: { startTime?: string; readiness?: PodReadiness } = {},
): Part {
  const s = kd.status;
  const start = opts.startTime ?? asMicro(s?.monitorStartTime, s?.running?.startTime) ?? createdMicro(kd);
  if (s?.monitorError) return { kind: 'terminated', startTime: start, finishTime: start, error: s.monitorError };
  const pod = mostRecentPod(s?.pods);
  if (!pod) return { kind: 'waiting', reason: 'waiting-for-pod' };

  let graceStatus: '' | 'Tolerated' | 'Exceeded' = '';
  const startUs = microTimeValue(start);
  if (gracePeriodMs > 0 && startUs > 0) {
    const elapsed = nowMs - startUs / 1000;
    if (elapsed >= gracePeriodMs) graceStatus = 'Exceeded';
    else {
      graceStatus = 'Tolerated';
      requeue(gracePeriodMs - elapsed);
    }
  }
  const failedAt = asMicro(pod.createdAt) ?? start;
  const bad = erroredContainer(pod);
  if (pod.phase === 'Failed') {
    const error = pod.errors?.length ? pod.errors.join('; ') : `Pod "${pod.name}" failed`;
    return { kind: 'terminated', startTime: start, finishTime: failedAt, error, graceStatus };
  }
  if (bad) {
    const error = `Pod ${pod.name} in error state due to container ${bad}: ${pod.status ?? ''}`;
    return { kind: 'terminated', startTime: start, finishTime: failedAt, error, graceStatus };
  }
  if (pod.errors?.length) return { kind: 'terminated', startTime: start, finishTime: failedAt, error: pod.errors.join('; '), graceStatus };
  if (pod.phase === 'Succeeded') return { kind: 'terminated', startTime: start, finishTime: failedAt };
  if (pod.phase === 'Running') {
    const containers = pod.containers ?? [];
    // A Job's pod is done when it succeeds: running, it is never ready.
    const ready = opts.readiness !== 'succeeded' && containers.length > 0 && containers.every((c) => c.ready);
    const readyCond = pod.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
    const lastReadyTime = ready ? asMicro(readyCond?.lastTransitionTime) : undefined;
    return { kind: 'active', startTime: start, ready, ...(lastReadyTime ? { lastReadyTime } : {}) };
  }
  return { kind: 'waiting', reason: pod.status || pod.phase || 'unknown' };
}

// ---- KubernetesApply ---------------------------------------------------------------------------

/** Kinds whose objects run pods from a pod template. */
const podTemplateKinds = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'ReplicationController', 'Job', 'Pod']);

/**
 * podReadiness infers an apply's pod readiness mode from the objects it applies (else its YAML),
 * as Tilt does without an explicit `pod_readiness`: only Jobs wait for success, other workloads
 * wait for ready pods, and YAML without workloads (or only CronJobs) ignores pods.
 */
function podReadiness(ka: KubernetesApply): PodReadiness {
  if (!Object.isFrozen(ka)) return readPodReadiness(ka);
  let memo = podReadinesses.get(ka);
  if (memo === undefined) podReadinesses.set(ka, (memo = readPodReadiness(ka)));
  return memo;
}

/** podReadinesses are the readiness modes read from frozen (cached) applies, which never change. */
const podReadinesses = new WeakMap<KubernetesApply, PodReadiness>();

function readPodReadiness(ka: KubernetesApply): PodReadiness {
  const kinds: string[] = [];
  try {
    for (const doc of parseAllDocuments(ka.status?.resultYAML || ka.spec?.yaml || '') as unknown as Array<{ toJS(): unknown }>) {
      const obj = doc.toJS() as { kind?: unknown; items?: Array<{ kind?: unknown }> } | null;
      for (const o of obj?.kind === 'List' ? (obj.items ?? []) : [obj]) {
        if (typeof o?.kind === 'string' && podTemplateKinds.has(o.kind)) kinds.push(o.kind);
      }
    }
  } catch {
    // Unreadable YAML is the apply's own error; the pods, if any, are waited for.
    return 'wait';
  }
  if (kinds.length === 0) return 'ignore';
  return kinds.every((k) => k === 'Job') ? 'succeeded' : 'wait';
}

/** appliedOk is the finish time of the apply's last apply when it succeeded. */
function appliedOk(ka: KubernetesApply): string | undefined {
  const s = ka.status;
  return s?.error ? undefined : asMicro(s?.lastApplyTime);
}

/**
 * kubernetesApplyPart is an apply's share of the update target: Active while an apply runs (its
 * start newer than its finish), Waiting for an ImageMap or the Cluster (the ReadyToApply=False
 * condition, in Tilt's hold reasons), Terminated with the error of a failed apply, Terminated
 * after a successful one.
 */
function kubernetesApplyPart(ka: KubernetesApply, imageMaps: Map<string, ImageMap>): Part {
  const s = ka.status;
  const startUs = microTimeValue(s?.lastApplyStartTime);
  const finishUs = microTimeValue(s?.lastApplyTime);
  const start = asMicro(s?.lastApplyStartTime);
  if (start && !Number.isNaN(startUs) && !(finishUs >= startUs)) return { kind: 'active', startTime: start, ready: false };
  const wait = s?.conditions?.find((c) => c.type === kubernetesApplyReadyToApply && c.status === 'False');
  if (wait) return { kind: 'waiting', reason: holdReason(wait.reason) };
  const finish = asMicro(s?.lastApplyTime);
  if (finish) return { kind: 'terminated', startTime: start ?? finish, finishTime: finish, error: s?.error || undefined };
  return { kind: 'waiting', reason: missingImage(ka.spec?.imageMaps, imageMaps) ? 'waiting-for-dependency' : 'waiting-for-apply' };
}

/**
 * kubernetesApplyRuntime is an apply's share of the runtime target, from the pods of the
 * discovery it owns, by Tilt's rules for a Kubernetes runtime target: before a successful apply
 * it waits for a pod; the grace period counts from that apply; a Job that the apply found
 * complete is done. Undefined when the apply ignores pods, has applied, and has none.
 */
function kubernetesApplyRuntime(
  a: { ka: KubernetesApply; kd?: KubernetesDiscovery },
  readiness: PodReadiness,
  nowMs: number,
  gracePeriodMs: number,
  requeue: (ms: number) => void,
): Part | undefined {
  // The discovery exists once an apply succeeded, and outlives a later failed apply.
  const applied = appliedOk(a.ka);
  if (applied === undefined && !a.kd) return { kind: 'waiting', reason: 'waiting-for-pod' };
  const hasPods = (a.kd?.status?.pods ?? []).some((p) => !p.deleting);
  if (readiness === 'ignore') {
    if (!hasPods) return undefined;
    return { kind: 'active', startTime: applied ?? createdMicro(a.ka), ready: true };
  }
  const jobComplete = a.ka.status?.conditions?.some((c) => c.type === applyConditionJobComplete && c.status === 'True');
  if (!hasPods && jobComplete) {
    const at = applied ?? createdMicro(a.ka);
    return { kind: 'terminated', startTime: at, finishTime: at };
  }
  if (!a.kd) return { kind: 'waiting', reason: 'waiting-for-pod' };
  return kubernetesPart(a.kd, nowMs, gracePeriodMs, requeue, { startTime: applied, readiness });
}

/**
 * computeTargets lists the targets of every resource at nowMs (see the file comment), with
 * `gracePeriodMs` as `ci.k8sGracePeriod` (0: none).
 */
export function computeTargets(inputs: SessionInputs, nowMs: number, gracePeriodMs = 0): TargetsResult {
  const imageMaps = new Map(live(inputs.imageMaps).map((o) => [o.metadata.name ?? '', o]));
  const configMaps = new Map(live(inputs.configMaps).map((o) => [o.metadata.name ?? '', o]));
  const targets: Target[] = [];
  const k8sClusters = new Set<string>();
  let requeueAfterMs: number | undefined;
  const requeue = (ms: number) => {
    requeueAfterMs = requeueAfterMs === undefined ? ms : Math.min(requeueAfterMs, ms);
  };

  for (const r of groupResources(inputs).values()) {
    const disabled = isDisabled(r, configMaps);
    const add = (suffix: string, type: 'job' | 'server', state: () => TargetState) => {
      targets.push({ name: `${r.name}:${suffix}`, resources: [r.name], type, state: disabled ? { disabled: {} } : state() });
    };
    if (r.cmdImages.length || r.liveUpdates.length || r.jobCmds.length || r.kubernetesApplies.length) {
      add('update', 'job', () =>
        combineJob([
          ...r.cmdImages.map((o) => cmdImagePart(o, imageMaps)),
          ...r.liveUpdates.map((o) => liveUpdatePart(o, r)),
          ...r.jobCmds.map((o) => cmdPart(o, false)),
          ...r.kubernetesApplies.map((a) => kubernetesApplyPart(a.ka, imageMaps)),
        ]),
      );
    }
    const readiness = r.kubernetesApplies.map((a) => podReadiness(a.ka));
    const applyRuntime = r.kubernetesApplies
      .map((a, i) => (disabled ? ({ kind: 'none' } as Part) : kubernetesApplyRuntime(a, readiness[i]!, nowMs, gracePeriodMs, requeue)))
      .filter((p): p is Part => p !== undefined);
    if (r.dockerComposeServices.length || r.kubernetesDiscoveries.length || applyRuntime.length) {
      if (!disabled) {
        for (const kd of r.kubernetesDiscoveries) k8sClusters.add(kd.spec?.cluster || 'default');
        for (const a of r.kubernetesApplies) k8sClusters.add(a.ka.spec?.cluster || 'default');
      }
      // A resource whose only pods are those of Jobs is itself a job: done when they succeed.
      const jobOnly = !r.dockerComposeServices.length && !r.kubernetesDiscoveries.length && readiness.length > 0 && readiness.every((m) => m === 'succeeded');
      add('runtime', jobOnly ? 'job' : 'server', () =>
        combineServer([
          ...r.dockerComposeServices.map((o) => dockerComposePart(o, imageMaps)),
          ...r.kubernetesDiscoveries.map((o) => kubernetesPart(o, nowMs, gracePeriodMs, requeue)),
          ...applyRuntime,
        ]),
      );
    }
    if (r.serverCmds.length) add('serve', 'server', () => combineServer(r.serverCmds.map((o) => cmdPart(o, true))));
  }
  targets.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { targets, requeueAfterMs, k8sClusters };
}

// ---- exit condition ---------------------------------------------------------------------------

/** CISettings are the Session's `spec.ci` in milliseconds, defaults applied. */
export interface CISettings {
  timeoutMs: number;
  readinessTimeoutMs: number;
  k8sGracePeriodMs: number;
}

/** ciSettings reads `spec.ci` (durations in Go's format, validated by the API server). */
export function ciSettings(session: Session): CISettings {
  const ci = session.spec?.ci;
  return {
    timeoutMs: parseGoDurationOr(ci?.timeout, defaultCITimeoutMs),
    readinessTimeoutMs: parseGoDurationOr(ci?.readinessTimeout, defaultReadinessTimeoutMs),
    k8sGracePeriodMs: parseGoDurationOr(ci?.k8sGracePeriod, 0),
  };
}

/**
 * processExitCondition decides whether the session is done, in Tilt's order (see the file
 * comment). `startTime` is the session's status.startTime; `clusters` the Cluster objects.
 */
export function processExitCondition(
  exitCondition: string,
  ci: CISettings,
  startTime: string,
  result: TargetsResult,
  clusters: Cluster[],
  nowMs: number,
): ExitResult {
  if (exitCondition === 'manual') return { done: false };
  const out: ExitResult = { done: false };
  if (exitCondition !== 'ci') {
    out.done = true;
    out.error = `unsupported exit condition: ${exitCondition}`;
  }
  const requeue = (ms: number) => {
    out.requeueAfterMs = out.requeueAfterMs === undefined ? ms : Math.min(out.requeueAfterMs, ms);
  };
  if (result.requeueAfterMs !== undefined) requeue(result.requeueAfterMs);

  const clusterErrors = clusters.filter((c) => result.k8sClusters.has(c.metadata.name ?? '') && c.status?.error);
  if (clusterErrors.length > 0) return { done: true, error: 'cluster connection failed' };

  const waiting: string[] = [];
  const notReady: string[] = [];
  const retrying: string[] = [];
  for (const t of result.targets) {
    const s = t.state;
    if (s.terminated?.error) {
      if (s.terminated.graceStatus === 'Tolerated') {
        retrying.push(t.name);
        continue;
      }
      const prefix = s.terminated.graceStatus === 'Exceeded' ? 'exceeded grace period: ' : '';
      return { done: true, error: prefix + s.terminated.error };
    }
    if (s.waiting) waiting.push(`${t.name} ${s.waiting.waitReason}`);
    else if (s.active && !s.active.ready) notReady.push(t.name);
  }

  if (waiting.length === 0 && notReady.length === 0 && retrying.length === 0 && result.targets.length > 0) {
    return { done: true, error: out.error };
  }

  if (!out.done && ci.readinessTimeoutMs > 0) {
    for (const t of result.targets) {
      const a = t.state.active;
      if (!a || a.ready || t.type === 'job') continue;
      const ref = microTimeValue(a.lastReadyTime || a.startTime);
      if (Number.isNaN(ref)) continue;
      const elapsed = nowMs - ref / 1000;
      if (elapsed >= ci.readinessTimeoutMs) {
        return { done: true, error: `Readiness timeout after ${formatGoDuration(ci.readinessTimeoutMs)}: target ${t.name} not ready` };
      }
      requeue(ci.readinessTimeoutMs - elapsed);
    }
  }

  if (!out.done && ci.timeoutMs > 0) {
    const started = microTimeValue(startTime);
    const elapsed = Number.isNaN(started) ? 0 : nowMs - started / 1000;
    if (elapsed >= ci.timeoutMs) {
      const parts: string[] = [];
      if (waiting.length) parts.push(`${waiting.length} resources waiting (${waiting.join(',')})`);
      if (notReady.length) parts.push(`${notReady.length} resources not ready (${notReady.join(',')})`);
      if (retrying.length) parts.push(`${retrying.length} resources retrying (${retrying.join(',')})`);
      const summary = parts.length ? parts.join(', ') : 'no resources';
      return { done: true, error: `Timeout after ${formatGoDuration(ci.timeoutMs)}: ${summary}` };
    }
    requeue(ci.timeoutMs - elapsed);
  }
  return out;
}

/** SessionStatusResult is the whole new status and when to look again. */
export interface SessionStatusResult {
  status: SessionStatus;
  /** requeueAfterMs is when a timeout or grace period ends, if the session is not done. */
  requeueAfterMs?: number;
}

/**
 * computeSessionStatus is the Session's status at nowMs: `pid` and `startTime` of this run,
 * the targets, and the exit condition's verdict. Once done, a session stays done with the same
 * error for as long as its run lasts (a CI run ends at its first verdict).
 */
export function computeSessionStatus(
  session: Session,
  inputs: SessionInputs,
  run: { pid: number; startTime: string },
  nowMs: number,
): SessionStatusResult {
  const ci = ciSettings(session);
  const targetsResult = computeTargets(inputs, nowMs, ci.k8sGracePeriodMs);
  const prev = session.status;
  let exit: ExitResult;
  if (prev?.done && prev.startTime === run.startTime && session.spec?.exitCondition !== 'manual') {
    exit = { done: true, error: prev.error };
  } else {
    exit = processExitCondition(session.spec?.exitCondition ?? 'manual', ci, run.startTime, targetsResult, inputs.clusters ?? [], nowMs);
  }
  const status: SessionStatus = {
    pid: run.pid,
    startTime: run.startTime,
    targets: targetsResult.targets,
    done: exit.done,
    ...(exit.error ? { error: exit.error } : {}),
  };
  return { status, requeueAfterMs: exit.done ? undefined : exit.requeueAfterMs };
}
