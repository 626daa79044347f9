import { createHash } from 'node:crypto';
import type { DockerComposeServiceSpec, DockerComposeServiceStatus, DockerContainerState } from '../../src/apis/dockercomposeservice.ts';
import type { ImageMap } from '../../src/apis/imagemap.ts';
import { toTime } from '../../src/apis/meta.ts';
import { InjectError, injectIntoComposeServices, type ComposeService } from '../../src/adapters/images/index.ts';
import type { ContainerDetails, ContainerSummary } from '../../src/adapters/docker/index.ts';
import type { ServiceOverride } from '../../src/adapters/compose/index.ts';
import { stableStringify } from '../../src/util/stable-json.ts';

/**
 * ServiceOverride is what ferry's override file sets on a service after injection: the image,
 * the entrypoint (an ImageMap's overrideCommand), the command (overrideArgs) and the environment
 * values matchInEnvVars rewrote.
 */
export type { ServiceOverride };

/** The parts of a resolved service that injection reads. */
export interface ServiceToInject {
  /** The service name (what an injection error names). */
  name: string;
  image?: string;
  environment?: Record<string, string | null>;
}

/** ImagePlan is what the ImageMaps of a service say about how to bring it up. */
export type ImagePlan =
  /** ready: bring the service up with this override (empty: as the project says). */
  | { kind: 'ready'; override: ServiceOverride; imageMaps: string[] }
  /** waiting: these ImageMaps have no image yet. */
  | { kind: 'waiting'; imageMaps: string[] }
  /** error: injection failed (a service image that is not a reference, a command override with no container). */
  | { kind: 'error'; error: string };

/**
 * waitLogLevel is how a service starting to wait for its images is logged, from the hash of what
 * it last applied (`waiting` while it waits) and its apply error: info when it was not up (its
 * first start, or after a failed apply); debug when a service that was up waits again, which is
 * an ImageMap going away (deleted, as by `ferry delete -f`) while the service keeps running;
 * undefined when it already waits.
 */
export function waitLogLevel(appliedHash: string | undefined, applyError: string | undefined): 'info' | 'debug' | undefined {
  if (applyError !== undefined) return 'info';
  if (appliedHash === 'waiting') return undefined;
  return appliedHash === undefined ? 'info' : 'debug';
}

/**
 * planImage injects the ImageMaps of the spec, in order, into the service as the injector does
 * for Kubernetes (see src/adapters/images/inject.ts): a matching service image (by name, or
 * exactly with matchExact) becomes the ImageMap's `status.imageFromLocal`, matching environment
 * values too with matchInEnvVars, and overrideCommand / overrideArgs become the entrypoint /
 * command. An ImageMap that matches nothing leaves the service as it is. While an ImageMap
 * named by the spec is missing or has no image yet, the service waits.
 */
export function planImage(service: ServiceToInject | undefined, names: string[], imageMaps: Map<string, ImageMap | undefined>): ImagePlan {
  const waiting = names.filter((n) => !imageMaps.get(n)?.status?.imageFromLocal);
  if (waiting.length > 0) return { kind: 'waiting', imageMaps: waiting };
  if (!service) return { kind: 'ready', override: {}, imageMaps: [] };
  // Compose runs the image from the local Docker Engine: that is the image to inject.
  const local = names.map((n) => {
    const im = imageMaps.get(n)!;
    const image = im.status!.imageFromLocal!;
    return { metadata: { name: n }, spec: im.spec ?? { selector: '' }, status: { image, imageFromCluster: image } };
  });
  const before: ComposeService = { image: service.image, environment: service.environment ?? {} };
  let result: ReturnType<typeof injectIntoComposeServices>;
  try {
    result = injectIntoComposeServices({ [service.name]: before }, local, { allowUnused: true });
  } catch (err) {
    if (err instanceof InjectError) return { kind: 'error', error: err.message };
    throw err;
  }
  const after = result.services[service.name]!;
  const override: ServiceOverride = {};
  if (after.image !== before.image && typeof after.image === 'string') override.image = after.image;
  if (Array.isArray(after.entrypoint)) override.entrypoint = after.entrypoint;
  if (Array.isArray(after.command)) override.command = after.command;
  const envBefore = (before.environment ?? {}) as Record<string, unknown>;
  const envAfter = (after.environment ?? {}) as Record<string, unknown>;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(envAfter)) if (typeof v === 'string' && v !== envBefore[k]) env[k] = v;
  if (Object.keys(env).length > 0) override.environment = env;
  return { kind: 'ready', override, imageMaps: result.injected };
}

/**
 * applyInputsHash identifies what one `up` was run with: the spec's project and service and the
 * override injected. The same inputs are not applied twice.
 */
export function applyInputsHash(spec: DockerComposeServiceSpec, override: ServiceOverride): string {
  const inputs = { service: spec.service, project: spec.project, override };
  return createHash('sha256').update(stableStringify(inputs)).digest('hex').slice(0, 16);
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
