/**
 * Pure pieces of the LiveUpdate reconciler: which containers a selector picks, image name
 * comparison, trigger-queue membership, and the failed state.
 */
import { parseAllDocuments } from 'yaml';
import type {
  ConfigMap,
  DockerComposeService,
  ImageMap,
  KubernetesApplyStatus,
  KubernetesDiscovery,
  LiveUpdateSelector,
  LiveUpdateStateFailed,
} from '../../src/apis/index.ts';
import { microTimeValue, toMicroTime } from '../../src/apis/index.ts';
import { podTemplateHashLabel, refNamesEqual } from '../../src/adapters/images/index.ts';
import { triggerQueueResources, type LiveUpdateFailureReason, type LiveUpdateWaitingReason } from '../../src/tilt/index.ts';

/** Failure reasons a LiveUpdate reports (shared with the kinds that read them). */
export { liveUpdateFailureReasons as failureReasons } from '../../src/tilt/index.ts';
export type FailureReason = LiveUpdateFailureReason;

/** Waiting reasons a LiveUpdate container reports. */
export type WaitingReason = LiveUpdateWaitingReason;

/** SelectedContainer is one container a LiveUpdate keeps up to date, with what its state says. */
export interface SelectedContainer {
  podName: string;
  namespace: string;
  containerName: string;
  containerId: string;
  /** running, waiting (with its reason) or terminated. */
  state: 'running' | 'waiting' | 'terminated';
  waitingReason?: string;
  /** podDone is true when the pod phase is Succeeded or Failed. */
  podDone: boolean;
}

/** containerKey identifies a container across reconciles (its id, pod and namespace). */
export function containerKey(c: { containerId: string; podName: string; namespace: string }): string {
  return `${c.namespace}/${c.podName}/${c.containerId}`;
}

/** ResourceView is what the selector's discovery object says: containers and a start time (µs). */
export interface ResourceView {
  containers: SelectedContainer[];
  /**
   * bestStartTimeUs is the apply start (Docker Compose, or Kubernetes with an applyName) or the
   * oldest pod creation (Kubernetes); 0 if unknown.
   */
  bestStartTimeUs: number;
}

/**
 * dockerComposeView models a Docker Compose service as one pod with no name: one container
 * when the service status has a container id and state. Undefined when there is no status.
 */
export function dockerComposeView(dcs: DockerComposeService): ResourceView | undefined {
  const st = dcs.status;
  if (!st) return undefined;
  const containers: SelectedContainer[] = [];
  if (st.containerID && st.containerState) {
    const s = st.containerState.status ?? '';
    let state: SelectedContainer['state'] = 'waiting';
    if (s === 'running') state = 'running';
    else if (s === 'removing' || s === 'exited' || s === 'dead') state = 'terminated';
    containers.push({
      podName: '',
      namespace: '',
      containerName: st.containerName ?? '',
      containerId: st.containerID,
      state,
      waitingReason: state === 'waiting' ? s : undefined,
      podDone: false,
    });
  }
  return { containers, bestStartTimeUs: microTimeValue(st.lastApplyStartTime) || 0 };
}


/**
 * ApplyFilter says which pods belong to the current apply of a KubernetesApply: those whose pod
 * template hash (label podTemplateHashLabel) is one of the applied templates', and whose
 * ancestorUID (the watched object discovery found them through) is one of the applied objects.
 * Pods without the label (a CRD's pods, say) or without an ancestor (an extra selector's) pass
 * that part.
 */
export interface ApplyFilter {
  hashes: Set<string>;
  uids: Set<string>;
}

/**
 * applyFilter reads a KubernetesApply's resultYAML. Every applied object must carry a uid, else
 * the error is `Resource missing uid: <name>`. An empty resultYAML (not applied yet) keeps only
 * pods without a template hash. The filter of a frozen status (a cached object's) is read once.
 */
export function applyFilter(status: KubernetesApplyStatus | undefined): ApplyFilter {
  if (!status || !Object.isFrozen(status)) return readApplyFilter(status);
  let memo = applyFilters.get(status);
  if (!memo) {
    try {
      memo = readApplyFilter(status);
    } catch (err) {
      memo = err as Error;
    }
    applyFilters.set(status, memo);
  }
  if (memo instanceof Error) throw memo;
  return memo;
}

/** applyFilters are the filters (or the errors) read from frozen statuses, which never change. */
const applyFilters = new WeakMap<KubernetesApplyStatus, ApplyFilter | Error>();

function readApplyFilter(status: KubernetesApplyStatus | undefined): ApplyFilter {
  const hashes = new Set<string>();
  const uids = new Set<string>();
  for (const doc of parseAllDocuments(status?.resultYAML ?? '') as unknown as Array<{ toJS(): unknown }>) {
    const obj = doc.toJS() as AppliedObject | null;
    if (!obj) continue;
    if (!obj.metadata?.uid) throw new Error(`Resource missing uid: ${obj.metadata?.name ?? ''}`);
    uids.add(obj.metadata.uid);
    for (const labels of templateLabels(obj)) {
      const h = labels?.[podTemplateHashLabel];
      if (h) hashes.add(h);
    }
  }
  return { hashes, uids };
}

interface AppliedObject {
  kind?: string;
  metadata?: { name?: string; uid?: string; labels?: Record<string, string> };
  spec?: {
    template?: { metadata?: { labels?: Record<string, string> } };
    jobTemplate?: { spec?: { template?: { metadata?: { labels?: Record<string, string> } } } };
  };
}

function templateLabels(obj: AppliedObject): Array<Record<string, string> | undefined> {
  if (obj.kind === 'Pod') return [obj.metadata?.labels];
  return [obj.spec?.template?.metadata?.labels, obj.spec?.jobTemplate?.spec?.template?.metadata?.labels];
}

/**
 * kubernetesView lists the containers of the discovered pods that the selector matches, in
 * discovery order. Init containers and containers without a name are never selected. With an
 * apply (selector.applyName), pods of older applies are left out and the resource's start time
 * is the apply's lastApplyStartTime; throws when its resultYAML is unusable (see applyFilter).
 */
export function kubernetesView(
  kd: KubernetesDiscovery,
  selector: NonNullable<LiveUpdateSelector['kubernetes']>,
  imageMap: ImageMap | undefined,
  apply?: { status?: KubernetesApplyStatus },
): ResourceView {
  const filter = apply ? applyFilter(apply.status) : undefined;
  const containers: SelectedContainer[] = [];
  let oldest = 0;
  for (const pod of kd.status?.pods ?? []) {
    const hash = pod.labels?.[podTemplateHashLabel];
    if (filter && hash && !filter.hashes.has(hash)) continue;
    if (filter && pod.ancestorUID && !filter.uids.has(pod.ancestorUID)) continue;
    const created = microTimeValue(pod.createdAt);
    if (created && (oldest === 0 || created < oldest)) oldest = created;
    for (const c of pod.containers ?? []) {
      if (!c.name) continue;
      if (!kubernetesSelectorMatches(selector, c, imageMap)) continue;
      let state: SelectedContainer['state'] = 'waiting';
      let waitingReason: string | undefined;
      if (c.state?.running) state = 'running';
      else if (c.state?.terminated) state = 'terminated';
      else waitingReason = c.state?.waiting?.reason;
      containers.push({
        podName: pod.name,
        namespace: pod.namespace,
        containerName: c.name,
        containerId: (c.id ?? '').replace(/^[a-z]+:\/\//, ''),
        state,
        waitingReason,
        podDone: pod.phase === 'Succeeded' || pod.phase === 'Failed',
      });
    }
  }
  const bestStartTimeUs = apply ? microTimeValue(apply.status?.lastApplyStartTime) || 0 : oldest;
  return { containers, bestStartTimeUs };
}

function kubernetesSelectorMatches(
  selector: NonNullable<LiveUpdateSelector['kubernetes']>,
  c: { name: string; image?: string },
  imageMap: ImageMap | undefined,
): boolean {
  if (selector.image) return refNamesEqual(selector.image, c.image ?? '');
  if (selector.containerName) return selector.containerName === c.name;
  if (selector.imageMapName) {
    const ref = imageMap?.status?.imageFromCluster;
    return !!ref && refNamesEqual(ref, c.image ?? '');
  }
  return false;
}

/** isWaitingOnTrigger: manual mode and the resource is not in the trigger queue (keys ending in `-name`). */
export function isWaitingOnTrigger(updateMode: string | undefined, manifest: string, queue: ConfigMap | undefined): boolean {
  if (updateMode !== 'manual') return false;
  return !triggerQueueResources(queue).has(manifest);
}

/**
 * failedState builds `status.failed`, keeping the previous transition time when the reason
 * did not change.
 */
export function failedState(
  prev: LiveUpdateStateFailed | undefined,
  reason: FailureReason,
  message: string,
  now: Date,
): LiveUpdateStateFailed {
  const lastTransitionTime = prev?.reason === reason && prev.lastTransitionTime ? prev.lastTransitionTime : toMicroTime(now);
  return { reason, message, lastTransitionTime };
}

/** microNow is the clock's time in microseconds since the epoch. */
export function microNow(d: Date): number {
  return d.getTime() * 1000;
}

/** Waiting is why a selected container is not updated yet. */
export interface Waiting {
  reason: WaitingReason;
  message: string;
}

export const waitingForContainer: Waiting = { reason: 'ContainerWaiting', message: 'Waiting for container to start' };
export const waitingForTrigger: Waiting = { reason: 'Trigger', message: 'Only updates on manual trigger' };

/** PlanOutcome is what planning the changes for one container gave (see plan.ts). */
export type PlanOutcome = { ok: false; reason: FailureReason; message: string } | { ok: true; hasWork: boolean };

/**
 * ContainerDecision is what to do with one selected container:
 * - `terminated`: its pod or container is done; changes for it cannot be applied;
 * - `fail`: the LiveUpdate fails with this reason;
 * - `idle`: nothing to do now, reported with `waiting` when it waits for something;
 * - `apply`: copy, delete and run the planned update in it.
 */
export type ContainerDecision =
  | { action: 'terminated' }
  | { action: 'fail'; reason: FailureReason; message: string }
  | { action: 'idle'; waiting?: Waiting }
  | { action: 'apply' };

/**
 * decideContainer decides, without side effects, what one container's pending changes lead to,
 * in Tilt's order: a finished pod or container, then a plan that cannot apply, then nothing to
 * do, then a crash-looping container (only when there is work), then waiting for the container
 * or a manual trigger.
 */
export function decideContainer(c: SelectedContainer, planned: PlanOutcome, waitingOnTrigger: boolean): ContainerDecision {
  if (c.podDone || c.state === 'terminated') return { action: 'terminated' };
  let waiting: Waiting | undefined;
  if (c.state !== 'running' || !c.containerId) waiting = waitingForContainer;
  else if (waitingOnTrigger) waiting = waitingForTrigger;
  if (!planned.ok) return { action: 'fail', reason: planned.reason, message: planned.message };
  if (!planned.hasWork) return { action: 'idle', waiting };
  if (c.waitingReason === 'CrashLoopBackOff') {
    return { action: 'fail', reason: 'CrashLoopBackOff', message: `Cannot live update because container crashing. Pod: ${c.podName}` };
  }
  if (waiting) return { action: 'idle', waiting };
  return { action: 'apply' };
}
