/**
 * The pure rules of the PodLogStream reconciler: which containers to follow, the name and spec
 * of the stream a KubernetesDiscovery makes for each pod, and where each container's stream read up to
 * (an annotation, so that a restarted daemon resumes without repeating a line).
 */
import type { KubernetesDiscovery } from '../../src/apis/kubernetesdiscovery.ts';
import type { PodLogStream, PodLogStreamSpec } from '../../src/apis/podlogstream.ts';
import type { PodContainer } from '../../src/adapters/kubernetes/index.ts';

/** positionAnnotation holds the stream's Positions as JSON, by container name. */
export const positionAnnotation = 'ferry.dev/log-position';

/** Position is the container run last followed and the time of the last line read from it. */
export interface Position {
  /** container is the runtime's id of the container followed (a restart gives a new one). */
  container: string;
  /** time is the last line's time, normalised (src/util/log-time.ts). */
  time?: string;
}

/** readPositions parses the annotation; empty when it is missing or unreadable. */
export function readPositions(obj: PodLogStream): Record<string, Position> {
  const raw = obj.metadata.annotations?.[positionAnnotation];
  if (!raw) return {};
  try {
    const parsed = JSON.parse(raw) as Record<string, Position>;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/** selectContainers applies onlyContainers, else ignoreContainers, as Tilt does. */
export function selectContainers(spec: PodLogStream['spec'], containers: PodContainer[]): PodContainer[] {
  if (spec?.onlyContainers?.length) return containers.filter((c) => spec.onlyContainers!.includes(c.name));
  if (spec?.ignoreContainers?.length) return containers.filter((c) => !spec.ignoreContainers!.includes(c.name));
  return containers;
}

/** streamable says whether a container has output to read: it was created and is not waiting to start. */
export function streamable(c: PodContainer): boolean {
  return c.id !== '' && c.state !== 'waiting';
}

/**
 * linePrefix names the container in front of its lines when the pod's output would be ambiguous
 * otherwise (an init container, or several containers), as Tilt does.
 */
export function linePrefix(c: PodContainer, all: PodContainer[]): string {
  return c.init || all.filter((o) => !o.init).length > 1 ? `[${c.name}] ` : '';
}

/** streamName is the name of the stream a KubernetesDiscovery makes for one of its pods (Tilt's). */
export function streamName(discovery: string, namespace: string, pod: string): string {
  return `${discovery}-${namespace}-${pod}`;
}

/** TemplateFields are the fields of a stream that its discovery's podLogStreamTemplateSpec sets. */
export type TemplateFields = Pick<PodLogStreamSpec, 'sinceTime' | 'onlyContainers' | 'ignoreContainers'>;

/** templateFields are what the discovery's podLogStreamTemplateSpec gives its streams; none without one (all containers, all logs). */
export function templateFields(kd: KubernetesDiscovery): TemplateFields {
  const t = kd.spec?.podLogStreamTemplateSpec;
  return {
    ...(t?.sinceTime ? { sinceTime: t.sinceTime } : {}),
    ...(t?.onlyContainers?.length ? { onlyContainers: [...t.onlyContainers] } : {}),
    ...(t?.ignoreContainers?.length ? { ignoreContainers: [...t.ignoreContainers] } : {}),
  };
}

/** followsTemplate says whether a stream's spec has the template's fields (an empty list is no list). */
export function followsTemplate(spec: PodLogStreamSpec | undefined, want: TemplateFields): boolean {
  const list = (l: string[] | undefined) => JSON.stringify(l ?? []);
  return (spec?.sinceTime ?? '') === (want.sinceTime ?? '') && list(spec?.onlyContainers) === list(want.onlyContainers) && list(spec?.ignoreContainers) === list(want.ignoreContainers);
}

/** discoveryStreamSpec is the spec of the stream a discovery makes for one of its pods. */
export function discoveryStreamSpec(kd: KubernetesDiscovery, pod: { name: string; namespace: string }): PodLogStreamSpec {
  return { pod: pod.name, namespace: pod.namespace, ...(kd.spec?.cluster ? { cluster: kd.spec.cluster } : {}), ...templateFields(kd) };
}
