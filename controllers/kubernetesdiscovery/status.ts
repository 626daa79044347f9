import type { V1ContainerStatus, V1Pod, V1Container } from '@kubernetes/client-node';
import type { Container, LabelSelector, Pod } from '../../src/apis/kubernetesdiscovery.ts';
import { toTime } from '../../src/apis/meta.ts';
import { podTemplateHashLabel } from '../../src/adapters/images/index.ts';

/** A time as client-node hands it over: a Date from a typed list, a string from a raw watch event. */
type KubeTime = Date | string | undefined | null;

function time(t: KubeTime): string | undefined {
  if (t === undefined || t === null || t === '') return undefined;
  const d = t instanceof Date ? t : new Date(t);
  return Number.isNaN(d.getTime()) ? undefined : toTime(d);
}

/** containerId strips the runtime prefix (`docker://`, `containerd://`) from a container ID. */
export function containerId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  return id.replace(/^[a-z0-9.+-]+:\/\//i, '');
}


/**
 * labelSelectorMatches is true when the labels satisfy the selector: every matchLabels pair and
 * every matchExpressions requirement (In, NotIn, Exists, DoesNotExist). An empty selector
 * matches everything, as in Kubernetes; an unknown operator matches nothing.
 */
export function labelSelectorMatches(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(l[e.key])) return false;
        break;
      case 'NotIn':
        if (has && values.includes(l[e.key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** containerState converts a Kubernetes container state. */
function containerState(s: V1ContainerStatus['state']): Container['state'] {
  if (!s) return undefined;
  if (s.running) {
    const startedAt = time(s.running.startedAt as KubeTime);
    return { running: startedAt ? { startedAt } : {} };
  }
  if (s.terminated) {
    const t = s.terminated;
    const out: NonNullable<NonNullable<Container['state']>['terminated']> = { exitCode: t.exitCode };
    const startedAt = time(t.startedAt as KubeTime);
    const finishedAt = time(t.finishedAt as KubeTime);
    if (startedAt) out.startedAt = startedAt;
    if (finishedAt) out.finishedAt = finishedAt;
    if (t.reason) out.reason = t.reason;
    return { terminated: out };
  }
  if (s.waiting) return { waiting: s.waiting.reason ? { reason: s.waiting.reason } : {} };
  return undefined;
}

function containers(specs: V1Container[] | undefined, statuses: V1ContainerStatus[] | undefined): Container[] {
  const byName = new Map((statuses ?? []).map((s) => [s.name, s] as const));
  const out: Container[] = [];
  for (const spec of specs ?? []) {
    const st = byName.get(spec.name);
    if (!st) continue;
    const c: Container = { name: st.name, ready: st.ready, image: st.image || spec.image, restarts: st.restartCount ?? 0 };
    const id = containerId(st.containerID);
    if (id) c.id = id;
    const state = containerState(st.state);
    if (state) c.state = state;
    const ports = (spec.ports ?? []).map((p) => p.containerPort).filter((p) => typeof p === 'number');
    if (ports.length > 0) c.ports = ports;
    out.push(c);
  }
  return out;
}

// Waiting reasons that are progress, not trouble.
const benignWaiting = new Set(['ContainerCreating', 'PodInitializing']);

/** podErrors are the problems a pod's containers report while waiting (image pulls, crash loops, config). */
function podErrors(pod: V1Pod): string[] {
  const errs: string[] = [];
  const all = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const c of all) {
    const w = c.state?.waiting;
    if (w?.reason && !benignWaiting.has(w.reason)) errs.push(w.message ? `${w.reason}: ${w.message}` : w.reason);
  }
  if (pod.status?.reason && pod.status.message) errs.push(`${pod.status.reason}: ${pod.status.message}`);
  return errs;
}

/** podSummary is the short status kubectl shows for a pod (Running, CrashLoopBackOff, Init:0/1, Terminating, ...). */
export function podSummary(pod: V1Pod): string {
  const st = pod.status ?? {};
  let reason = st.reason || st.phase || 'Unknown';
  const inits = st.initContainerStatuses ?? [];
  let initializing = false;
  for (let i = 0; i < inits.length; i++) {
    const s = inits[i].state ?? {};
    if (s.terminated && s.terminated.exitCode === 0) continue;
    initializing = true;
    if (s.terminated) {
      const t = s.terminated;
      reason = t.reason ? `Init:${t.reason}` : t.signal ? `Init:Signal:${t.signal}` : `Init:ExitCode:${t.exitCode}`;
    } else if (s.waiting?.reason && s.waiting.reason !== 'PodInitializing') {
      reason = `Init:${s.waiting.reason}`;
    } else {
      reason = `Init:${i}/${(pod.spec?.initContainers ?? []).length || inits.length}`;
    }
    break;
  }
  if (!initializing) {
    let hasRunning = false;
    const cs = st.containerStatuses ?? [];
    for (let i = cs.length - 1; i >= 0; i--) {
      const s = cs[i].state ?? {};
      if (s.waiting?.reason) reason = s.waiting.reason;
      else if (s.terminated) {
        const t = s.terminated;
        reason = t.reason ? t.reason : t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode}`;
      } else if (s.running && cs[i].ready) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) reason = 'Running';
  }
  if (pod.metadata?.deletionTimestamp) reason = st.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

/**
 * podToStatus converts a Kubernetes pod to a KubernetesDiscovery pod. `baselineRestartCount`
 * is the pod's total restart count when discovery first saw it.
 */
export function podToStatus(pod: V1Pod, baselineRestartCount: number): Pod {
  const md = pod.metadata ?? {};
  const out: Pod = { name: md.name ?? '', namespace: md.namespace ?? '' };
  if (md.uid) out.uid = md.uid;
  const createdAt = time(md.creationTimestamp as KubeTime);
  if (createdAt) out.createdAt = createdAt;
  if (pod.status?.phase) out.phase = pod.status.phase;
  out.deleting = !!md.deletionTimestamp;
  const conditions = (pod.status?.conditions ?? []).map((c) => {
    const cond: NonNullable<Pod['conditions']>[number] = { type: c.type, status: c.status };
    const t = time(c.lastTransitionTime as KubeTime);
    if (t) cond.lastTransitionTime = t;
    if (c.reason) cond.reason = c.reason;
    if (c.message) cond.message = c.message;
    return cond;
  });
  if (conditions.length > 0) out.conditions = conditions;
  const inits = containers(pod.spec?.initContainers, pod.status?.initContainerStatuses);
  if (inits.length > 0) out.initContainers = inits;
  out.containers = containers(pod.spec?.containers, pod.status?.containerStatuses);
  out.baselineRestartCount = baselineRestartCount;
  const hash = md.labels?.[podTemplateHashLabel] ?? md.labels?.['pod-template-hash'];
  if (hash) out.podTemplateSpecHash = hash;
  out.status = podSummary(pod);
  const errors = podErrors(pod);
  if (errors.length > 0) out.errors = errors;
  const owner = (md.ownerReferences ?? []).find((r) => r.controller) ?? md.ownerReferences?.[0];
  if (owner) out.ownerName = owner.name;
  if (md.labels && Object.keys(md.labels).length > 0) out.labels = { ...md.labels };
  return out;
}

/** restartCount is the total restart count of a pod's containers. */
export function restartCount(pod: V1Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
}

/** sortPods orders pods oldest first, then by namespace and name. */
export function sortPods(pods: Pod[]): Pod[] {
  return pods.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}
