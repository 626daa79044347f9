/**
 * Image injection: putting the images that ImageMaps resolved to into the things that run them
 * (Docker Compose services, Kubernetes objects: see inject-kubernetes.ts).
 *
 * For each entity, for each ImageMap, in order:
 * - its `status.image` must be set, else `internal error: missing image status`;
 * - the inject ref is `status.imageFromCluster` (falling back to `status.image`);
 * - every container whose image the selector matches gets the inject ref (familiar form), and
 *   the entity's pull policy when it has one; an unparseable container image is an error;
 * - so does every image volume (`reference`, `pullPolicy`);
 * - with `matchInEnvVars`, every env var whose value parses as a matching reference gets it too
 *   (unparseable values and `valueFrom` are left alone);
 * - so does every image the entity's locators find (CRD fields);
 * - when something was replaced and `overrideCommand` / `overrideArgs` is set, the containers
 *   that now run exactly the inject ref get that command / those args; when none does, the error
 *   is `could not inject command [...] into entity: <name>. No container found matching ref: ...`.
 * After every entity: an ImageMap that replaced nothing anywhere gives
 * `Docker image missing from yaml: <imageMapName>`.
 */
import type { ImageMapSpec, ImageMapStatus } from '../../apis/imagemap.ts';
import { ImageRef, RefError, parseRef, tryParseRef } from './reference.ts';
import { exactSelector, parseSelector, type RefSelector } from './selector.ts';

/** InjectableEnvVar is an environment variable as Kubernetes writes it. */
export interface InjectableEnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

/** InjectableContainer is the part of a container injection reads and writes. */
export interface InjectableContainer {
  image?: string;
  /** Set to the entity's pull policy when the image is replaced (Kubernetes only). */
  imagePullPolicy?: string;
  env?: InjectableEnvVar[];
  /** command replaces the image's entrypoint (Kubernetes `command`, Compose `entrypoint`). */
  command?: string[];
  /** args replaces the image's command (Kubernetes `args`, Compose `command`). */
  args?: string[];
}

/** InjectableImageVolume is a Kubernetes image volume source (`volumes[].image`). */
export interface InjectableImageVolume {
  reference?: string;
  pullPolicy?: string;
}

/** LocatedImage is an image reference found by an image locator, and how to replace it. */
export interface LocatedImage {
  /** The reference found, or undefined when the value there is not one (it is then left alone). */
  ref: ImageRef | undefined;
  replace(injectRef: ImageRef): void;
}

/**
 * InjectEntity is one deployable thing (a Compose service, a Kubernetes object): its
 * containers, and for Kubernetes its image volumes and the images its locators find. Injection
 * writes into these objects.
 */
export interface InjectEntity {
  name: string;
  containers: InjectableContainer[];
  imageVolumes?: InjectableImageVolume[];
  /** locate finds the images of the entity's image locators; it may throw InjectError. */
  locate?: () => LocatedImage[];
  /** pullPolicy is set on the containers and image volumes whose image is replaced. */
  pullPolicy?: string;
}

/** InjectImageMap is what injection needs of an ImageMap object. */
export interface InjectImageMap {
  metadata: { name?: string };
  spec?: ImageMapSpec;
  status?: ImageMapStatus;
}

/** InjectError is a failed injection; its message is the one the user sees. */
export class InjectError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InjectError';
  }
}

/** InjectResult is the entities after injection and the ImageMaps that replaced something. */
export interface InjectResult<E extends InjectEntity = InjectEntity> {
  entities: E[];
  injected: string[];
}

/**
 * injectImageMaps injects every ImageMap into every entity (copies; the inputs are not changed)
 * and checks that each ImageMap was used, unless `allowUnused`. `injected` names the ImageMaps
 * that replaced something, in the order given. Throws InjectError.
 */
export function injectImageMaps<E extends InjectEntity>(entities: E[], imageMaps: InjectImageMap[], opts: { allowUnused?: boolean } = {}): InjectResult<E> {
  const out = entities.map((e) => structuredClone(e));
  const used = new Set<string>();
  for (const entity of out) {
    for (const im of imageMaps) {
      if (injectImageMap(entity, im)) used.add(im.metadata.name ?? '');
    }
  }
  const names = imageMaps.map((im) => im.metadata.name ?? '');
  const missing = opts.allowUnused ? undefined : names.find((n) => !used.has(n));
  if (missing !== undefined) throw new InjectError(`Docker image missing from yaml: ${missing}`);
  return { entities: out, injected: names.filter((n) => used.has(n)) };
}

/**
 * injectImageMap injects one ImageMap into one entity, in place, and says whether anything was
 * replaced. Throws InjectError.
 */
export function injectImageMap(entity: InjectEntity, im: InjectImageMap): boolean {
  const spec = im.spec;
  if (!spec) throw new InjectError(`internal error: ImageMap ${JSON.stringify(im.metadata.name ?? '')} has no spec`);
  let selector: RefSelector;
  try {
    selector = parseSelector(spec);
  } catch (err) {
    throw new InjectError(`parsing selector ${JSON.stringify(spec.selector)} of ImageMap ${im.metadata.name ?? ''}: ${(err as Error).message}`, { cause: err });
  }
  const status = im.status;
  if (!status?.image) throw new InjectError('internal error: missing image status');
  const injectRef = parseInjectRef(status.imageFromCluster || status.image);

  const value = injectRef.familiarString();
  let replaced = false;
  for (const c of entity.containers) {
    if (c.image === undefined || c.image === '') continue;
    if (selector.matches(parseContainerImage(c.image))) {
      c.image = value;
      if (entity.pullPolicy) c.imagePullPolicy = entity.pullPolicy;
      replaced = true;
    }
  }
  for (const v of entity.imageVolumes ?? []) {
    if (!v.reference) continue;
    if (selector.matches(parseImageVolume(v.reference))) {
      v.reference = value;
      if (entity.pullPolicy) v.pullPolicy = entity.pullPolicy;
      replaced = true;
    }
  }
  if (spec.matchInEnvVars) {
    for (const c of entity.containers) {
      for (const v of c.env ?? []) {
        if (typeof v.value !== 'string') continue;
        const ref = tryParseRef(v.value);
        if (ref && selector.matches(ref)) {
          v.value = value;
          replaced = true;
        }
      }
    }
  }
  for (const located of entity.locate?.() ?? []) {
    if (located.ref && selector.matches(located.ref)) {
      located.replace(injectRef);
      replaced = true;
    }
  }
  if (replaced && (spec.overrideCommand || spec.overrideArgs)) {
    injectCommandAndArgs(entity, injectRef, spec.overrideCommand?.command, spec.overrideArgs?.args);
  }
  return replaced;
}

/**
 * injectCommandAndArgs sets the command and/or args of the containers that run exactly `ref`.
 * Throws InjectError when no container does.
 */
export function injectCommandAndArgs(entity: InjectEntity, ref: ImageRef, command?: string[], args?: string[]): void {
  const selector = exactSelector(ref);
  let found = false;
  for (const c of entity.containers) {
    if (!c.image) continue;
    if (!selector.matches(parseContainerImage(c.image))) continue;
    if (command) c.command = [...command];
    if (args) c.args = [...args];
    found = true;
  }
  if (!found) {
    throw new InjectError(
      `could not inject command [${(command ?? args ?? []).join(' ')}] into entity: ${entity.name}. ` +
        `No container found matching ref: ${ref.familiarString()}. ` +
        'Note: command overrides only supported on containers with images, not on CRDs',
    );
  }
}

function parseInjectRef(s: string): ImageRef {
  try {
    return parseRef(s);
  } catch (err) {
    throw new InjectError(`internal error: invalid image status ${JSON.stringify(s)}: ${(err as Error).message}`, { cause: err });
  }
}

function parseContainerImage(image: string): ImageRef {
  try {
    return parseRef(image);
  } catch (err) {
    throw new InjectError(`parsing container image ${JSON.stringify(image)}: ${(err as RefError).message}`, { cause: err });
  }
}

function parseImageVolume(reference: string): ImageRef {
  try {
    return parseRef(reference);
  } catch (err) {
    throw new InjectError(`parsing image volume reference ${JSON.stringify(reference)}: ${(err as RefError).message}`, { cause: err });
  }
}

/** ComposeService is the part of a Compose service definition that injection reads and writes. */
export interface ComposeService {
  image?: string;
  environment?: Record<string, string | number | boolean | null> | string[];
  entrypoint?: string | string[];
  command?: string | string[];
  [key: string]: unknown;
}

/**
 * injectIntoComposeServices injects ImageMaps into Compose services (one entity per service,
 * named after it): `image`, `environment` values with matchInEnvVars, `entrypoint` from
 * overrideCommand and `command` from overrideArgs. Returns new service definitions; throws
 * InjectError. With `allowUnused`, an ImageMap that matches no service is not an error (a
 * DockerComposeService deploys one service of a project and keeps its own image then).
 */
export function injectIntoComposeServices(
  services: Record<string, ComposeService>,
  imageMaps: InjectImageMap[],
  opts: { allowUnused?: boolean } = {},
): { services: Record<string, ComposeService>; injected: string[] } {
  const entities = Object.entries(services).map(([name, svc]) => ({ name, containers: [composeToContainer(svc)] }));
  const result = injectImageMaps(entities, imageMaps, opts);
  const out: Record<string, ComposeService> = {};
  for (const e of result.entities) out[e.name] = containerToCompose(services[e.name]!, e.containers[0]!);
  return { services: out, injected: result.injected };
}

function composeToContainer(svc: ComposeService): InjectableContainer {
  const env: InjectableEnvVar[] = [];
  if (Array.isArray(svc.environment)) {
    for (const kv of svc.environment) {
      const i = kv.indexOf('=');
      env.push(i < 0 ? { name: kv } : { name: kv.slice(0, i), value: kv.slice(i + 1) });
    }
  } else if (svc.environment) {
    for (const [name, v] of Object.entries(svc.environment)) env.push(v === null ? { name } : { name, value: String(v) });
  }
  return { image: svc.image, env };
}

function containerToCompose(orig: ComposeService, c: InjectableContainer): ComposeService {
  const svc: ComposeService = structuredClone(orig);
  if (c.image !== undefined) svc.image = c.image;
  if (Array.isArray(orig.environment)) {
    svc.environment = (c.env ?? []).map((v) => (v.value === undefined ? v.name : `${v.name}=${v.value}`));
  } else if (orig.environment) {
    const env: Record<string, string | number | boolean | null> = {};
    for (const v of c.env ?? []) {
      const before = orig.environment[v.name];
      env[v.name] = v.value === undefined ? null : before !== undefined && before !== null && String(before) === v.value ? before : v.value;
    }
    svc.environment = env;
  }
  if (c.command) svc.entrypoint = c.command;
  if (c.args) svc.command = c.args;
  return svc;
}
