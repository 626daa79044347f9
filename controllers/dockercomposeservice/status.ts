import { createHash } from 'node:crypto';
import type { DockerComposeServiceSpec, DockerComposeServiceStatus, DockerContainerState } from '../../src/apis/dockercomposeservice.ts';
import type { ImageMap } from '../../src/apis/imagemap.ts';
import { toTime } from '../../src/apis/meta.ts';
import { selectorMatches } from '../../src/adapters/images/index.ts';
import type { ContainerDetails, ContainerSummary } from '../../src/adapters/docker/index.ts';

/** ImagePlan is what the ImageMaps of a service say about its image. */
export type ImagePlan =
  /** ready: `image` replaces the service image (undefined: keep the service's own image). */
  | { kind: 'ready'; image?: string; imageMap?: string }
  /** waiting: these ImageMaps have no image yet. */
  | { kind: 'waiting'; imageMaps: string[] };

/**
 * planImage decides the image of a service from the ImageMaps of its spec: the first ImageMap
 * whose selector matches the service image gives its `status.imageFromLocal`. While an ImageMap
 * named by the spec is missing or has no image yet, the service waits.
 */
export function planImage(serviceImage: string | undefined, names: string[], imageMaps: Map<string, ImageMap | undefined>): ImagePlan {
  const waiting = names.filter((n) => !imageMaps.get(n)?.status?.imageFromLocal);
  if (waiting.length > 0) return { kind: 'waiting', imageMaps: waiting };
  if (!serviceImage) return { kind: 'ready' };
  for (const name of names) {
    const im = imageMaps.get(name)!;
    if (selectorMatches(im.spec ?? { selector: '' }, serviceImage)) {
      return { kind: 'ready', image: im.status!.imageFromLocal, imageMap: name };
    }
  }
  return { kind: 'ready' };
}

/**
 * applyInputsHash identifies what one `up` was run with: the spec's project and service and the
 * images injected. The same inputs are not applied twice.
 */
export function applyInputsHash(spec: DockerComposeServiceSpec, images: Record<string, string>): string {
  const inputs = { service: spec.service, project: spec.project, images };
  return createHash('sha256').update(stableJson(inputs)).digest('hex').slice(0, 16);
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * pickContainer chooses the service's container among those Compose labelled for it: not a
 * one-off (`run`) container, the newest first.
 */
export function pickContainer(list: ContainerSummary[]): ContainerSummary | undefined {
  return list
    .filter((c) => c.labels['com.docker.compose.oneoff'] !== 'True')
    .sort((a, b) => b.createdMs - a.createdMs || a.name.localeCompare(b.name))[0];
}

/** containerFields are the status fields that describe the container: ID, name, state, ports. */
export function containerFields(c: ContainerDetails | undefined): Pick<DockerComposeServiceStatus, 'containerID' | 'containerName' | 'containerState' | 'portBindings'> {
  if (!c) return {};
  const s = c.state;
  const state: DockerContainerState = { status: s.status, running: s.running };
  if (s.error) state.error = s.error;
  if (s.exitCode !== undefined) state.exitCode = s.exitCode;
  if (s.startedAt) state.startedAt = rfc3339Seconds(s.startedAt);
  if (s.finishedAt) state.finishedAt = rfc3339Seconds(s.finishedAt);
  const out: ReturnType<typeof containerFields> = { containerID: c.id, containerName: c.name, containerState: state };
  const ports = c.ports
    .filter((p) => p.hostPort !== undefined)
    .map((p) => ({ containerPort: p.containerPort, hostIP: p.hostIP ?? '', hostPort: p.hostPort! }));
  if (ports.length > 0) out.portBindings = ports;
  return out;
}

function rfc3339Seconds(s: string): string {
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? s : toTime(new Date(ms));
}
