/**
 * Injection into Kubernetes objects: what a KubernetesApply does to the objects of its YAML
 * before it applies them (see inject.ts for the rules every entity shares). For each object:
 *
 * 1. label it `app.kubernetes.io/managed-by: ferry` (the object and the pod templates of
 *    built-in workloads; selectors that already name the label follow it);
 * 2. with any ImageMaps: `imagePullPolicy: IfNotPresent` on every container and init container,
 *    and `podManagementPolicy: Parallel` on StatefulSets;
 * 3. each ImageMap in order: containers and init containers of built-in workload kinds (Pod,
 *    Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, ReplicationController,
 *    PodTemplate), their image volumes, their env vars (with matchInEnvVars), the fields the
 *    image locators point at (any kind, CRDs included), then the command / args overrides;
 * 4. label every pod template with the hash of its spec (`tilt.dev/pod-template-hash`), after
 *    every other change, so discovery can tell pods of this apply from older ones.
 *
 * Objects of other kinds (Services, ConfigMaps, CRDs) get the label and their locators only.
 */
import { createHash } from 'node:crypto';
import type { KubernetesImageLocator } from '../../apis/kubernetesapply.ts';
import { type ImageRef, tryParseRef, parseRef } from './reference.ts';
import {
  InjectError,
  injectImageMap,
  type InjectEntity,
  type InjectImageMap,
  type InjectableContainer,
  type InjectableImageVolume,
  type LocatedImage,
} from './inject.ts';
import { JSONPath, JSONPathError } from './jsonpath.ts';
import { stableStringify } from '../../util/stable-json.ts';

/** A Kubernetes object as parsed from YAML. */
export type KubeManifest = Record<string, unknown>;

/** The label every applied object carries, and its value. */
export const managedByLabel = 'app.kubernetes.io/managed-by';
export const managedByFerry = 'ferry';
/** The label on pod templates (and so on their pods) holding the hash of the template. */
export const podTemplateHashLabel = 'tilt.dev/pod-template-hash';
/** The pull policy of injected images: a locally built image is used, never pulled again by tag. */
export const injectedPullPolicy = 'IfNotPresent';

/** KubernetesInjectResult is the objects to apply and the ImageMaps injected into them. */
export interface KubernetesInjectResult {
  objects: KubeManifest[];
  /** Names of the ImageMaps that replaced something, in spec order. */
  injected: string[];
}

/**
 * injectIntoKubernetesObjects prepares the objects of a KubernetesApply for applying: labels,
 * pull policies, images, command overrides and pod template hashes (see the module comment).
 * `imageMaps` are in the order of `spec.imageMaps`. The inputs are not changed. Throws
 * InjectError with the message the user sees.
 */
export function injectIntoKubernetesObjects(
  objects: readonly KubeManifest[],
  imageMaps: readonly InjectImageMap[],
  locators: readonly KubernetesImageLocator[] = [],
): KubernetesInjectResult {
  const parsedLocators = locators.map(parseLocator);
  const injected = new Set<string>();
  const out: KubeManifest[] = [];
  for (const original of objects) {
    const obj = structuredClone(original);
    const workload = workloadOf(obj);
    addManagedByLabel(obj, workload);
    if (imageMaps.length > 0) {
      for (const c of workload?.containers ?? []) c.imagePullPolicy = injectedPullPolicy;
      if (workload?.statefulSet) (obj.spec as KubeManifest).podManagementPolicy = 'Parallel';
    }
    const entity: InjectEntity = {
      name: nameOf(obj),
      containers: workload?.containers ?? [],
      imageVolumes: workload?.imageVolumes ?? [],
      pullPolicy: injectedPullPolicy,
      locate: () => parsedLocators.filter((l) => l.matches(obj)).flatMap((l) => l.locate(obj)),
    };
    for (const im of imageMaps) {
      if (injectImageMap(entity, im)) injected.add(im.metadata.name ?? '');
    }
    for (const t of workload?.templates ?? []) addTemplateHash(t);
    out.push(obj);
  }
  const names = imageMaps.map((im) => im.metadata.name ?? '');
  for (const name of names) {
    if (!injected.has(name)) throw new InjectError(`Docker image missing from yaml: ${name}`);
  }
  return { objects: out, injected: names.filter((n) => injected.has(n)) };
}

// --- Built-in workloads ---------------------------------------------------------------------

/** Where the pod templates of a built-in kind are, and which API groups serve it. */
const builtinKinds: Record<string, { groups: RegExp; templates: string[][]; pod?: boolean; extraMetas?: string[][] }> = {
  Pod: { groups: /^v1$/, templates: [], pod: true },
  PodTemplate: { groups: /^v1$/, templates: [['template']] },
  ReplicationController: { groups: /^v1$/, templates: [['spec', 'template']] },
  Deployment: { groups: /^(apps|extensions)\//, templates: [['spec', 'template']] },
  ReplicaSet: { groups: /^(apps|extensions)\//, templates: [['spec', 'template']] },
  StatefulSet: { groups: /^apps\//, templates: [['spec', 'template']] },
  DaemonSet: { groups: /^(apps|extensions)\//, templates: [['spec', 'template']] },
  Job: { groups: /^batch\//, templates: [['spec', 'template']] },
  CronJob: { groups: /^batch\//, templates: [['spec', 'jobTemplate', 'spec', 'template']], extraMetas: [['spec', 'jobTemplate']] },
};

/** Workload is what injection reaches inside a built-in workload object. */
interface Workload {
  /** The pod templates (objects with metadata and spec). */
  templates: KubeManifest[];
  /** Objects whose metadata gets the managed-by label besides the object's own. */
  metaHolders: KubeManifest[];
  /** Init containers and containers of every pod spec. */
  containers: InjectableContainer[];
  imageVolumes: InjectableImageVolume[];
  statefulSet: boolean;
}

function workloadOf(obj: KubeManifest): Workload | undefined {
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  const def = Object.hasOwn(builtinKinds, kind) ? builtinKinds[kind] : undefined;
  if (!def || typeof obj.apiVersion !== 'string' || !def.groups.test(obj.apiVersion)) return undefined;
  const templates = def.templates.map((p) => at(obj, p)).filter(isObject);
  const podSpecs = def.pod ? [obj.spec] : templates.map((t) => t.spec);
  const containers: InjectableContainer[] = [];
  const imageVolumes: InjectableImageVolume[] = [];
  for (const spec of podSpecs.filter(isObject)) {
    for (const field of ['initContainers', 'containers']) {
      const list = spec[field];
      if (Array.isArray(list)) containers.push(...(list.filter(isObject) as InjectableContainer[]));
    }
    if (Array.isArray(spec.volumes)) {
      for (const v of spec.volumes) if (isObject(v) && isObject(v.image)) imageVolumes.push(v.image as InjectableImageVolume);
    }
  }
  const metaHolders = [...(def.extraMetas ?? []).map((p) => at(obj, p)).filter(isObject), ...templates];
  return { templates, metaHolders, containers, imageVolumes, statefulSet: kind === 'StatefulSet' };
}

/**
 * addManagedByLabel labels the object and the pod templates of a workload. A selector that
 * already names the label is changed with it, so it still selects the relabelled pods.
 */
function addManagedByLabel(obj: KubeManifest, workload: Workload | undefined): void {
  for (const holder of [obj, ...(workload?.metaHolders ?? [])]) {
    const md = isObject(holder.metadata) ? holder.metadata : (holder.metadata = {});
    const labels = isObject(md.labels) ? md.labels : (md.labels = {});
    labels[managedByLabel] = managedByFerry;
  }
  const selectors: unknown[] = [];
  if (workload) {
    selectors.push(at(obj, ['spec', 'selector', 'matchLabels']), at(obj, ['spec', 'jobTemplate', 'spec', 'selector', 'matchLabels']));
  } else if (obj.kind === 'Service' && obj.apiVersion === 'v1') {
    selectors.push(at(obj, ['spec', 'selector']));
  }
  for (const sel of selectors) {
    if (isObject(sel) && Object.hasOwn(sel, managedByLabel)) sel[managedByLabel] = managedByFerry;
  }
}

/** addTemplateHash labels a pod template with a hash of its content (without that label). */
function addTemplateHash(template: KubeManifest): void {
  const md = isObject(template.metadata) ? template.metadata : (template.metadata = {});
  const labels = isObject(md.labels) ? md.labels : (md.labels = {});
  delete labels[podTemplateHashLabel];
  labels[podTemplateHashLabel] = createHash('sha1').update(stableStringify(template)).digest('hex').slice(0, 20);
}

// --- Image locators (CRDs) ------------------------------------------------------------------

interface ParsedLocator {
  matches(obj: KubeManifest): boolean;
  locate(obj: KubeManifest): LocatedImage[];
}

/** parseLocator compiles a locator's regular expressions and path. Throws InjectError. */
function parseLocator(spec: KubernetesImageLocator): ParsedLocator {
  const sel = spec.objectSelector ?? {};
  const apiVersion = goRegExp(sel.apiVersionRegexp, 'apiVersion');
  const kind = goRegExp(sel.kindRegexp, 'kind');
  const name = goRegExp(sel.nameRegexp, 'name');
  const namespace = goRegExp(sel.namespaceRegexp, 'namespace');
  let path: JSONPath;
  try {
    path = JSONPath.parse(spec.path ?? '');
  } catch (err) {
    throw new InjectError((err as Error).message, { cause: err });
  }
  const object = spec.object;
  return {
    matches(obj) {
      const md = isObject(obj.metadata) ? obj.metadata : {};
      return (
        apiVersion.test(str(obj.apiVersion)) &&
        kind.test(str(obj.kind)) &&
        name.test(str(md.name)) &&
        namespace.test(str(md.namespace) || 'default')
      );
    },
    locate(obj) {
      const places = find(path, obj);
      if (!object) {
        return places.map((p) => {
          if (typeof p.value !== 'string') {
            throw new InjectError(`May only match strings (json_path=${JSON.stringify(path.source)}): got ${describe(p.value)}`);
          }
          return {
            ref: tryParseRef(p.value),
            replace(injectRef: ImageRef) {
              p.set(injectRef.familiarString());
              if (isObject(p.parent) && Object.hasOwn(p.parent, 'imagePullPolicy')) p.parent.imagePullPolicy = injectedPullPolicy;
            },
          };
        });
      }
      return places.map((p) => {
        const m = p.value;
        if (!isObject(m)) throw new InjectError(`May only match maps (json_path=${JSON.stringify(path.source)}): got ${describe(m)}`);
        const repo = typeof m[object.repoField] === 'string' ? (m[object.repoField] as string) : '';
        const tag = typeof m[object.tagField] === 'string' ? (m[object.tagField] as string) : '';
        const image = tag ? `${repo}:${tag}` : repo;
        let ref: ImageRef;
        try {
          ref = parseRef(image);
        } catch (err) {
          throw new InjectError(`parsing image ${JSON.stringify(image)} at json path ${JSON.stringify(path.source)}: ${(err as Error).message}`, { cause: err });
        }
        return {
          ref,
          replace(injectRef: ImageRef) {
            m[object.repoField] = injectRef.familiarName;
            if (injectRef.tag) m[object.tagField] = injectRef.tag;
          },
        };
      });
    },
  };
}

function find(path: JSONPath, obj: KubeManifest) {
  try {
    return path.find(obj);
  } catch (err) {
    if (err instanceof JSONPathError) throw new InjectError(`Matching (json_path=${JSON.stringify(path.source)}): ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * goRegExp compiles an object selector's regular expression, written for Go: an empty one
 * matches everything, and Go's inline flags (`(?i)`, as Tiltfiles write them) become flags.
 */
function goRegExp(source: string | undefined, what: string): RegExp {
  let flags = '';
  const body = (source ?? '').replace(/\(\?([ims]+)\)/g, (_, f: string) => {
    for (const c of f) if (!flags.includes(c)) flags += c;
    return '';
  });
  try {
    return new RegExp(body, flags);
  } catch (err) {
    throw new InjectError(`error parsing ${what} regexp: ${(err as Error).message}`, { cause: err });
  }
}

// --- Helpers --------------------------------------------------------------------------------

function nameOf(obj: KubeManifest): string {
  return isObject(obj.metadata) ? str(obj.metadata.name) : '';
}

function at(obj: unknown, path: string[]): unknown {
  let v = obj;
  for (const p of path) v = isObject(v) ? v[p] : undefined;
  return v;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  const type = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
  return `${type} ${JSON.stringify(v)}`;
}
