/**
 * Pure pieces of the KubernetesApply reconciler: reading the YAML, the input hash, when to
 * apply, what the last apply left behind, the apply command's environment, and the
 * KubernetesDiscovery the apply owns.
 */
import { createHash } from 'node:crypto';
import { parseAllDocuments, stringify } from 'yaml';
import {
  microTimeValue,
  type ImageMap,
  type KubernetesApply,
  type KubernetesApplySpec,
  type KubernetesDiscoverySpec,
} from '../../src/apis/index.ts';
import type { KubeResource, ObjectRef } from '../../src/adapters/kubernetes/index.ts';
import type { KubernetesApplyWaitReason } from '../../src/tilt/index.ts';
import { stableStringify } from '../../src/util/stable-json.ts';

/** downPolicyAnnotation `keep` keeps an object when the apply that made it stops applying it. */
export const downPolicyAnnotation = 'tilt.dev/down-policy';

/**
 * parseYamlObjects reads a multi-document YAML into objects, in order: empty documents are
 * skipped and `kind: List` documents give their items. Throws an Error fit for status when a
 * document is not YAML or not a Kubernetes object.
 */
export function parseYamlObjects(text: string): KubeResource[] {
  const out: KubeResource[] = [];
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return out;
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`parsing YAML document ${i + 1}: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    for (const obj of listItems(value)) {
      if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Error(`YAML document ${i + 1} is not a Kubernetes object`);
      const o = obj as KubeResource;
      if (!o.kind || !o.apiVersion) throw new Error(`YAML document ${i + 1}: Object 'Kind' or 'apiVersion' is missing`);
      if (!o.metadata?.name) throw new Error(`YAML document ${i + 1}: ${o.kind} has no metadata.name`);
      out.push(o);
    }
  });
  return out;
}

function listItems(value: unknown): unknown[] {
  const v = value as { kind?: unknown; items?: unknown };
  if (typeof v === 'object' && v && typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items)) return v.items;
  return [value];
}

/**
 * applyOrder is the order kinds are applied in (what others depend on first: namespaces, CRDs,
 * accounts and configuration, then services and workloads); other kinds come last.
 */
export const applyOrder = [
  'Namespace', 'NetworkPolicy', 'ResourceQuota', 'LimitRange', 'PodDisruptionBudget', 'ServiceAccount', 'Secret', 'ConfigMap',
  'StorageClass', 'PersistentVolume', 'PersistentVolumeClaim', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding',
  'Role', 'RoleBinding', 'Service', 'DaemonSet', 'Pod', 'ReplicationController', 'ReplicaSet', 'Deployment',
  'HorizontalPodAutoscaler', 'StatefulSet', 'Job', 'CronJob', 'Ingress', 'APIService',
] as const;

/** sortForApply orders objects by applyOrder, keeping the YAML's order within a kind (a stable sort). */
export function sortForApply<T extends { kind?: string }>(objects: T[]): T[] {
  const rank = (o: T) => {
    const i = (applyOrder as readonly string[]).indexOf(o.kind ?? '');
    return i < 0 ? applyOrder.length : i;
  };
  return objects.map((o, i) => ({ o, i })).sort((a, b) => rank(a.o) - rank(b.o) || a.i - b.i).map((x) => x.o);
}

/** serializeObjects writes objects as one multi-document YAML (resultYAML). */
export function serializeObjects(objects: KubeResource[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

/**
 * inputHash identifies what an apply is made from: the spec, and each named ImageMap's spec and
 * status without buildStartTime (a rebuild that yields the same image changes nothing).
 * Base64url of a SHA-1 over key-sorted JSON (stableStringify).
 */
export function inputHash(spec: KubernetesApplySpec, imageMaps: Array<ImageMap | undefined>): string {
  const h = createHash('sha1');
  h.update(stableStringify(spec));
  for (const im of imageMaps) {
    const { buildStartTime: _b, ...status } = im?.status ?? {};
    h.update(stableStringify(im?.spec ?? {}));
    h.update(stableStringify(status));
  }
  return h.digest('base64url');
}

/** ApplyWait says what an apply waits for: an ImageMap's image, or its Cluster. */
export interface ApplyWait {
  reason: KubernetesApplyWaitReason;
  message: string;
}

/** imageMapWait is why an apply must wait for its ImageMaps (missing, or without an image yet); undefined when none. */
export function imageMapWait(names: string[], imageMaps: Array<ImageMap | undefined>): ApplyWait | undefined {
  for (let i = 0; i < names.length; i++) {
    const im = imageMaps[i];
    if (!im) return { reason: 'WaitingForImageMap', message: `waiting for ImageMap ${JSON.stringify(names[i])} to exist` };
    if (!im.status?.image) return { reason: 'WaitingForImageMap', message: `waiting for ImageMap ${JSON.stringify(names[i])} to have an image` };
  }
  return undefined;
}

/** ApplyReason says why an apply runs now. */
export type ApplyReason = 'FirstApply' | 'InputsChanged' | 'RestartOn' | 'Trigger';

/** ApplyDecisionInput is what decides whether to apply. */
export interface ApplyDecisionInput {
  /** hash of the current inputs. */
  hash: string;
  /** attemptedHash is the hash of the last apply attempted by this process (successful or not). */
  attemptedHash?: string;
  status: KubernetesApply['status'];
  /** restartEventUs is the newest restartOn event (NaN when none). */
  restartEventUs: number;
  triggered: boolean;
}

/**
 * applyReason decides whether to apply: never applied (or applied by an older process that
 * failed), inputs changed since the last apply, a restartOn event after the last apply, or a
 * trigger. Undefined: nothing to do. A failed apply is not retried until something changes.
 */
export function applyReason(i: ApplyDecisionInput): ApplyReason | undefined {
  if (i.triggered) return 'Trigger';
  const st = i.status ?? {};
  const applied = st.appliedInputHash && !st.error ? st.appliedInputHash : undefined;
  if (i.attemptedHash === undefined) {
    if (!st.lastApplyTime || !applied) return 'FirstApply';
    if (applied !== i.hash) return 'InputsChanged';
  } else if (i.attemptedHash !== i.hash) {
    return 'InputsChanged';
  }
  const last = microTimeValue(st.lastApplyTime);
  if (!Number.isNaN(i.restartEventUs) && (Number.isNaN(last) || i.restartEventUs > last)) return 'RestartOn';
  return undefined;
}

/** refOf names obj in its cluster (namespace as written: empty means the context's). */
export function refOf(obj: KubeResource): ObjectRef {
  return { apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '', name: obj.metadata?.name ?? '', namespace: obj.metadata?.namespace ?? '' };
}

/** refKey identifies a ref by group, kind, namespace and name (an object applied under another version is the same object). */
export function refKey(ref: ObjectRef): string {
  const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0] : '';
  return `${group}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

/**
 * danglingObjects are the objects of the previous apply that the current one no longer has,
 * except those annotated `tilt.dev/down-policy: keep`, in reverse order of application.
 */
export function danglingObjects(previous: KubeResource[], current: KubeResource[]): ObjectRef[] {
  const keep = new Set(current.map((o) => refKey(refOf(o))));
  return previous
    .filter((o) => !keep.has(refKey(refOf(o))) && o.metadata?.annotations?.[downPolicyAnnotation] !== 'keep')
    .map(refOf)
    .reverse();
}

/** deletableObjects are all of an apply's objects but those kept by down-policy, in reverse order, and never Namespaces. */
export function deletableObjects(applied: KubeResource[]): ObjectRef[] {
  return danglingObjects(applied.filter((o) => !(o.kind === 'Namespace' && !o.apiVersion?.includes('/'))), []);
}

/**
 * objectLogFields are the log fields naming an object: `Kind/name`, and its namespace when it has
 * one (a cluster-scoped object has none).
 */
export function objectLogFields(ref: ObjectRef): { object: string; namespace?: string } {
  return { object: `${ref.kind}/${ref.name}`, ...(ref.namespace ? { namespace: ref.namespace } : {}) };
}

/**
 * applyCmdEnv is the environment of an apply or delete command, after the daemon's: the spec's
 * `env`, then `TILT_IMAGE_MAP_<i>` / `TILT_IMAGE_<i>` for each ImageMap (its name and its image
 * as the cluster sees it), then `KUBECONFIG` when known.
 */
export function applyCmdEnv(
  base: NodeJS.ProcessEnv,
  specEnv: string[] | undefined,
  imageMaps: Array<{ name: string; imageFromCluster?: string }>,
  kubeconfig: string | undefined,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  const set = (kv: string) => {
    const eq = kv.indexOf('=');
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  };
  for (const kv of specEnv ?? []) set(kv);
  imageMaps.forEach((im, i) => {
    env[`TILT_IMAGE_MAP_${i}`] = im.name;
    env[`TILT_IMAGE_${i}`] = im.imageFromCluster ?? '';
  });
  if (kubeconfig) env.KUBECONFIG = kubeconfig;
  return env;
}

/** overflowEllipsis shortens a long command output to its first and last 250 characters. */
export function overflowEllipsis(text: string, max = 500): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max / 2)}\n... [truncated by ferry] ...\n${text.slice(text.length - max / 2)}`;
}

/** declaredObjects are the objects spec.yaml declares; `otherwise` when it is empty or unreadable. */
function declaredObjects(yaml: string | undefined, otherwise: KubeResource[]): KubeResource[] {
  if (!yaml) return otherwise;
  try {
    return parseYamlObjects(yaml);
  } catch {
    return otherwise;
  }
}

/**
 * discoverySpec is the spec of the KubernetesDiscovery an apply owns: a watch per applied object
 * (its uid and namespace; namespace `default` when it has none), unless the strategy is
 * `selectors-only`, plus a namespace-only watch for every other namespace the YAML names, and
 * the extra selectors. Undefined when there is nothing to watch. `declared` are the objects of
 * spec.yaml when the caller has them parsed already (else spec.yaml is parsed here); the default
 * namespace may be given as a function, called only when a declared object has no namespace.
 */
export function discoverySpec(
  ka: KubernetesApply,
  applied: KubeResource[],
  defaultNamespace: string | (() => string),
  declared?: KubeResource[],
): KubernetesDiscoverySpec | undefined {
  const spec = ka.spec!;
  const watches: NonNullable<KubernetesDiscoverySpec['watches']> = [];
  const seen = new Set<string>();
  if (spec.discoveryStrategy !== 'selectors-only') {
    for (const o of applied) {
      const uid = o.metadata?.uid;
      if (!uid) continue;
      const namespace = o.metadata?.namespace || 'default';
      seen.add(namespace);
      watches.push({ uid, namespace, name: o.metadata?.name ?? '' });
    }
  }
  declared ??= declaredObjects(spec.yaml, applied);
  let fallback: string | undefined;
  const defaultNs = () => (fallback ??= typeof defaultNamespace === 'function' ? defaultNamespace() : defaultNamespace);
  for (const o of declared) {
    const namespace = o.metadata?.namespace || defaultNs() || 'default';
    if (seen.has(namespace)) continue;
    seen.add(namespace);
    watches.push({ namespace });
  }
  if (watches.length === 0) return undefined;
  const extraSelectors = spec.kubernetesDiscoveryTemplateSpec?.extraSelectors;
  return {
    watches,
    ...(extraSelectors?.length ? { extraSelectors } : {}),
    ...(spec.podLogStreamTemplateSpec ? { podLogStreamTemplateSpec: spec.podLogStreamTemplateSpec } : {}),
    ...(spec.cluster ? { cluster: spec.cluster } : {}),
  };
}
