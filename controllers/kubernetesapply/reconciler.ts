/**
 * KubernetesApplyReconciler deploys a KubernetesApply's YAML (or runs its apply command) to its
 * cluster with the images of its ImageMaps injected, re-applies when the inputs change, on a
 * restartOn event or a trigger, deletes what it applied and no longer applies, and owns the
 * KubernetesDiscovery that follows the applied objects' pods.
 */
import path from 'node:path';
import type { Logger } from 'winston';
import {
  apiVersion,
  kubernetesApplyTimeoutDefaultMs,
  resourceName,
  toMicroTime,
  triggerQueueName,
  type Cluster,
  type ConfigMap,
  type FileWatch,
  type ImageMap,
  type KubernetesApply,
  type KubernetesApplyCmd,
  type KubernetesApplyStatus,
  type KubernetesDiscovery,
} from '../../src/apis/index.ts';
import { formatGoDuration, parseGoDurationOr } from '../../src/apis/go.ts';
import { injectIntoKubernetesObjects, type KubeManifest } from '../../src/adapters/images/index.ts';
import { kubernetesErrorText, type KubeResource, type KubernetesObjects } from '../../src/adapters/kubernetes/index.ts';
import { displayArgs, exitStatusString, type ProcessRunner } from '../../src/adapters/process/index.ts';
import {
  isAlreadyExists,
  isConflict,
  isNotFound,
  jsonEqual,
  setFinalizer,
  updateStatusIfChanged,
  type Cache,
  type Client,
  type Clock,
  type ReconcileContext,
  type Reconciler,
  type Request,
} from '../../src/runtime/index.ts';
import { disableStatusFor, lastRestartEventUs, removeFromTriggerQueue, triggerQueueResources } from '../../src/tilt/index.ts';
import type { ActivityRegistry } from '../../src/runtime/activity.ts';
import { errorText } from '../../src/util/errors.ts';
import type { LogBuffer } from '../../src/util/log-buffer.ts';
import {
  applyCmdEnv,
  applyReason,
  danglingObjects,
  deletableObjects,
  discoverySpec,
  imageMapWait,
  inputHash,
  objectLogFields,
  overflowEllipsis,
  parseYamlObjects,
  refKey,
  refOf,
  serializeObjects,
  sortForApply,
  type ApplyReason,
} from './plan.ts';
import { clean, jobConditions, waitingCondition, withoutApply } from './status.ts';

export const kind = 'KubernetesApply';

/**
 * cleanupFinalizer is put on a KubernetesApply before its first apply and taken off once what
 * it applied is deleted after the object's deletion: an apply deleted while ferry is down is
 * cleaned up at the next start.
 */
export const cleanupFinalizer = 'ferry.dev/kubernetes-cleanup';

/** fieldManager names ferry in the managedFields of what it applies. */
export const fieldManager = 'ferry';

/** defaultClusterName is the Cluster an apply goes to when its spec names none. */
export const defaultClusterName = 'default';

/** Index names on the cache. */
export const indexes = {
  imageMap: 'kubernetesapply.imageMap',
  cluster: 'kubernetesapply.cluster',
  restartOn: 'kubernetesapply.restartOn',
  resource: 'kubernetesapply.resource',
} as const;

/** ClusterTarget is how one apply reaches its cluster. */
export interface ClusterTarget {
  objects: KubernetesObjects;
  /** configPath is the kubeconfig file, given to apply and delete commands as KUBECONFIG. */
  configPath: string;
  /** defaultNamespace is where objects without one go: the Cluster's `spec.connection.kubernetes.namespace`, else the context's. */
  defaultNamespace: string;
}

/** ClusterConnector reaches a Cluster; it throws an Error fit for status when it cannot. */
export type ClusterConnector = (cluster: Cluster) => ClusterTarget;

/**
 * KubernetesInjector puts the ImageMaps' images into the objects (copies) and returns them;
 * it throws an Error whose message is the status error (an image missing from the YAML).
 */
export type KubernetesInjector = (objects: KubeResource[], imageMaps: ImageMap[], apply: KubernetesApply) => KubeResource[];

/** injectKubernetes is the default KubernetesInjector: the images adapter's, with the apply's image locators. */
export const injectKubernetes: KubernetesInjector = (objects, imageMaps, ka) =>
  injectIntoKubernetesObjects(objects as KubeManifest[], imageMaps, ka.spec?.imageLocators ?? []).objects as KubeResource[];

/** KubernetesApplyReconcilerDeps are what the reconciler works with. */
export interface KubernetesApplyReconcilerDeps {
  client: Client;
  /** cache must hold KubernetesApply, ImageMap, Cluster, FileWatch and ConfigMap (setup() arranges it). */
  cache: Cache;
  clock: Clock;
  log: Logger;
  connect: ClusterConnector;
  /** inject prepares the objects for applying. Default: the images adapter's injectIntoKubernetesObjects (labels, images, overrides, pod template hashes). */
  inject?: KubernetesInjector;
  runner: ProcessRunner;
  /** logs receives apply output per resource for `ferry logs`. */
  logs?: LogBuffer;
  /** cwd is where commands run when their dir is empty, and what relative dirs resolve against. */
  cwd: string;
  /** baseEnv is the environment commands start from. Default: the daemon's. */
  baseEnv?: NodeJS.ProcessEnv;
  /** activity is told of each apply while it runs. */
  activity?: ActivityRegistry;
}

/** Entry is what the reconciler remembers of one KubernetesApply. */
interface Entry {
  uid: string;
  /** attemptedHash is the input hash of the last apply this process attempted. */
  attemptedHash?: string;
  /** queued is whether the trigger queue listed the resource at the last reconcile. */
  queued: boolean;
  /**
   * applied are the objects of the last successful apply (a failed apply keeps them: its status
   * has no resultYAML), seeded from status.resultYAML; what cleanup deletes.
   */
  applied: KubeResource[];
  /** declared are the objects spec.yaml parses to (undefined: empty or unreadable), kept while spec.yaml stays. */
  declared?: { yaml: string; objects: KubeResource[] | undefined };
}

interface ApplyOutcome {
  status: KubernetesApplyStatus;
  applied?: KubeResource[];
  /** target is the connection the apply used (set with applied). */
  target?: ClusterTarget;
}

export class KubernetesApplyReconciler implements Reconciler {
  private readonly entries = new Map<string, Entry>();

  private readonly inject: KubernetesInjector;

  constructor(private readonly deps: KubernetesApplyReconcilerDeps) {
    this.inject = deps.inject ?? injectKubernetes;
  }

  async reconcile(req: Request, ctx: ReconcileContext): Promise<void> {
    const { cache, clock } = this.deps;
    const cached = cache.get<KubernetesApply>(kind, req.name);
    if (!cached) {
      this.entries.delete(req.name);
      return;
    }
    const ka: KubernetesApply = { ...cached, apiVersion, kind, metadata: { ...cached.metadata } };
    if (ka.metadata.deletionTimestamp) {
      if (ka.metadata.finalizers?.includes(cleanupFinalizer)) {
        await this.deleteApplied(ka, this.entries.get(req.name)?.applied ?? [], 'deleting', ctx.log);
        await this.setFinalizer(ka, false);
      }
      this.entries.delete(req.name);
      return;
    }
    let entry = this.entries.get(req.name);
    if (!entry || entry.uid !== ka.metadata.uid) {
      entry = { uid: ka.metadata.uid ?? '', queued: false, applied: parseOrEmpty(ka.status?.resultYAML) };
      this.entries.set(req.name, entry);
    }
    const spec = ka.spec!;
    const prev = ka.status ?? {};

    const disableStatus = disableStatusFor(cache, ka, clock.now());
    if (disableStatus.disabled) {
      if (prev.lastApplyTime || prev.resultYAML || entry.applied.length) await this.deleteApplied(ka, entry.applied, 'disabling', ctx.log);
      entry.attemptedHash = undefined;
      entry.applied = [];
      const stored = await this.write(ka, { ...withoutApply(prev), disableStatus });
      if (stored) await this.manageDiscovery(stored, undefined, entry, ctx.log);
      return;
    }

    const names = spec.imageMaps ?? [];
    const imageMaps = names.map((n) => cache.get<ImageMap>('ImageMap', n));
    const clusterName = spec.cluster || defaultClusterName;
    const cluster = cache.get<Cluster>('Cluster', clusterName);
    const wait =
      imageMapWait(names, imageMaps) ??
      (!cluster ? { reason: 'WaitingForCluster' as const, message: `waiting for Cluster ${JSON.stringify(clusterName)}` } : undefined) ??
      (cluster?.status?.error ? { reason: 'WaitingForCluster' as const, message: `Cluster ${JSON.stringify(clusterName)}: ${cluster.status.error}` } : undefined);

    const queued = this.triggerQueued(ka);
    const triggered = queued && !entry.queued;
    entry.queued = queued;

    if (wait) {
      const status = { ...prev, disableStatus, conditions: [waitingCondition(wait, prev.conditions, clock.now())] };
      await this.write(ka, status);
      return;
    }

    const hash = inputHash(spec, imageMaps);
    const reason = applyReason({
      hash,
      attemptedHash: entry.attemptedHash,
      status: prev,
      restartEventUs: lastRestartEventUs(spec.restartOn?.fileWatches, (n) => cache.get<FileWatch>('FileWatch', n)),
      triggered,
    });
    let status: KubernetesApplyStatus = { ...prev, disableStatus };
    if (status.conditions?.some((c) => c.type !== 'JobComplete')) status.conditions = status.conditions.filter((c) => c.type === 'JobComplete');
    if (!status.conditions?.length) delete status.conditions;
    let applied: KubeResource[] | undefined;
    if (reason) {
      await this.setFinalizer(ka, true);
      entry.attemptedHash = hash;
      const activity = this.deps.activity?.start({ resource: resourceName(ka), object: `${kind}/${req.name}`, action: 'applying', phase: spec.yaml ? '' : 'apply command' });
      const outcome = await this.apply(ka, reason, imageMaps as ImageMap[], cluster!, hash, ctx.log).catch((err: unknown) => {
        activity?.end('failed');
        throw err;
      });
      activity?.end(outcome.status.error ? 'failed' : 'ok');
      status = { ...withoutApply(status), ...outcome.status, disableStatus };
      applied = outcome.applied;
      if (applied) {
        const before = entry.applied;
        entry.applied = applied;
        await this.deleteDangling(ka, before, applied, outcome.target!, ctx.log);
      }
      if (triggered) await this.removeTrigger(resourceName(ka));
    }
    const stored = await this.write(ka, status);
    if (stored) await this.manageDiscovery(stored, applied, entry, ctx.log);
  }

  /** apply injects and applies the YAML (or runs the apply command) and says what the status becomes. */
  private async apply(ka: KubernetesApply, reason: ApplyReason, imageMaps: ImageMap[], cluster: Cluster, hash: string, log: Logger): Promise<ApplyOutcome> {
    const { clock } = this.deps;
    const spec = ka.spec!;
    const start = toMicroTime(clock.now());
    const timeoutMs = parseGoDurationOr(spec.timeout, kubernetesApplyTimeoutDefaultMs) || kubernetesApplyTimeoutDefaultMs;
    const say = this.sayer(ka);
    const failed = (error: string): ApplyOutcome => {
      log.warn('Apply failed', { reason, error });
      say(`Apply failed: ${error}`);
      return { status: { lastApplyStartTime: start, lastApplyTime: toMicroTime(clock.now()), error } };
    };
    log.info('Applying', { reason });

    let target;
    try {
      target = this.deps.connect(cluster);
    } catch (err) {
      return failed(`cluster ${JSON.stringify(cluster.metadata.name)}: ${errorText(err)}`);
    }

    const abort = new AbortController();
    const timer = clock.setTimeout(() => abort.abort(), timeoutMs);
    try {
      let applied: KubeResource[];
      if (spec.yaml) {
        let objects: KubeResource[];
        try {
          objects = sortForApply(this.inject(parseYamlObjects(spec.yaml), imageMaps, ka));
        } catch (err) {
          return failed(errorText(err));
        }
        say('Applying YAML to cluster');
        applied = [];
        for (const obj of objects) {
          const ref = refOf(obj);
          try {
            applied.push(withoutManagedFields(await target.objects.apply(obj, { serverSideApply: !!spec.serverSideApply, fieldManager, signal: abort.signal })));
          } catch (err) {
            if (abort.signal.aborted) return failed(`timeout after ${formatGoDuration(timeoutMs)} applying ${ref.kind}/${ref.name}`);
            return failed(`applying ${ref.kind}/${ref.name}: ${kubernetesErrorText(err)}`);
          }
        }
      } else if (spec.applyCmd) {
        const env = applyCmdEnv(this.deps.baseEnv ?? process.env, spec.applyCmd.env, (spec.imageMaps ?? []).map((name, i) => ({ name, imageFromCluster: imageMaps[i]?.status?.imageFromCluster })), target.configPath);
        const run = await this.runCmd(ka, spec.applyCmd, env, abort.signal);
        if (abort.signal.aborted) {
          const out = run.stdout ? `\nstdout:\n${overflowEllipsis(run.stdout)}\n` : '';
          return failed(`apply command timed out after ${formatGoDuration(timeoutMs)}${out}`);
        }
        if (run.error) return failed(`apply command failed: ${run.error}`);
        if (run.exitCode !== 0) return failed(`apply command exited with status ${run.exitCode}${run.stdout ? `\nstdout:\n${overflowEllipsis(run.stdout)}\n` : ''}`);
        try {
          applied = parseYamlObjects(run.stdout);
        } catch (err) {
          return failed(`apply command returned malformed YAML: ${errorText(err)}\nstdout:\n${overflowEllipsis(run.stdout)}\n`);
        }
      } else {
        return failed('must specify exactly ONE of .spec.yaml or .spec.applyCmd');
      }
      say('Objects applied to cluster:');
      for (const o of applied) say(`  → ${o.metadata?.name}:${(o.kind ?? '').toLowerCase()}`);
      log.info('Applied', { objects: applied.length });
      const conditions = jobConditions(applied);
      return {
        applied,
        target,
        status: {
          resultYAML: serializeObjects(applied),
          lastApplyStartTime: start,
          lastApplyTime: toMicroTime(clock.now()),
          appliedInputHash: hash,
          ...(conditions ? { conditions } : {}),
        },
      };
    } finally {
      clock.clearTimeout(timer);
    }
  }

  /** runCmd runs an apply or delete command; stdout is kept, stderr goes to the logs. */
  private async runCmd(ka: KubernetesApply, cmd: KubernetesApplyCmd, env: Record<string, string>, signal: AbortSignal): Promise<{ exitCode: number | null; stdout: string; error?: string }> {
    const say = this.sayer(ka);
    say(`Running cmd: ${displayArgs(cmd.args)}`);
    const stdout: string[] = [];
    const dir = cmd.dir ? path.resolve(this.deps.cwd, cmd.dir) : this.deps.cwd;
    const proc = this.deps.runner.start({
      argv: cmd.args,
      dir,
      env,
      signal,
      onLine: (line, stream) => (stream === 'stdout' ? stdout.push(line) : say(line)),
    });
    const result = await proc.done;
    const text = stdout.length ? `${stdout.join('\n')}\n` : '';
    if (result.error) return { exitCode: null, stdout: text, error: result.error.message };
    if (result.exitCode === null) return { exitCode: null, stdout: text, error: exitStatusString(result) };
    return { exitCode: result.exitCode, stdout: text };
  }

  /** deleteDangling deletes what the last successful apply had and this one has not, through the apply's target. */
  private async deleteDangling(ka: KubernetesApply, before: KubeResource[], applied: KubeResource[], target: ClusterTarget, log: Logger): Promise<void> {
    const refs = danglingObjects(before, applied);
    if (refs.length === 0) return;
    this.sayer(ka)('Beginning garbage collecting removed Kubernetes objects');
    for (const ref of refs) {
      try {
        await target.objects.delete(ref);
        log.info('Deleted object no longer applied', { object: `${ref.kind}/${ref.name}`, namespace: ref.namespace });
      } catch (err) {
        log.warn('Deleting an object no longer applied failed', { object: `${ref.kind}/${ref.name}`, error: kubernetesErrorText(err) });
      }
    }
  }

  /**
   * deleteApplied deletes what the apply made: by running deleteCmd when the spec has one, else
   * by deleting the objects of the last successful apply (`applied`, else status.resultYAML) and
   * those of spec.yaml (an apply that failed half way made some); Namespaces and `down-policy:
   * keep` objects are kept. Failures are logged; cleanup is best effort.
   */
  private async deleteApplied(ka: KubernetesApply, applied: KubeResource[], why: 'deleting' | 'disabling', log: Logger): Promise<void> {
    const spec = ka.spec!;
    const say = this.sayer(ka);
    const clusterName = spec.cluster || defaultClusterName;
    const cluster = this.deps.cache.get<Cluster>('Cluster', clusterName) ?? ({ metadata: { name: clusterName } } as Cluster);
    let target: ClusterTarget;
    try {
      target = this.deps.connect(cluster);
    } catch (err) {
      log.warn('Cannot reach the cluster to delete applied objects', { error: errorText(err) });
      return;
    }
    const timeoutMs = parseGoDurationOr(spec.timeout, kubernetesApplyTimeoutDefaultMs) || kubernetesApplyTimeoutDefaultMs;
    const abort = new AbortController();
    const timer = this.deps.clock.setTimeout(() => abort.abort(), timeoutMs);
    say(why === 'deleting' ? 'Beginning garbage collecting Kubernetes objects' : 'Beginning deleting disabled Kubernetes objects');
    try {
      if (spec.deleteCmd) {
        const env = applyCmdEnv(this.deps.baseEnv ?? process.env, spec.deleteCmd.env, [], target.configPath);
        const run = await this.runCmd(ka, spec.deleteCmd, env, abort.signal);
        if (run.error || run.exitCode !== 0) log.warn('Delete command failed', { error: run.error ?? `exit status ${run.exitCode}` });
        return;
      }
      const objects = [...(applied.length ? applied : parseOrEmpty(ka.status?.resultYAML)), ...parseOrEmpty(spec.yaml)];
      const seen = new Set<string>();
      for (const ref of deletableObjects(objects)) {
        const key = refKey({ ...ref, namespace: ref.namespace || target.defaultNamespace });
        if (seen.has(key)) continue;
        seen.add(key);
        try {
          await target.objects.delete(ref, { signal: abort.signal });
          log.info('Deleted applied object', objectLogFields(ref));
        } catch (err) {
          log.warn('Deleting an applied object failed', { object: `${ref.kind}/${ref.name}`, error: kubernetesErrorText(err) });
        }
      }
    } finally {
      this.deps.clock.clearTimeout(timer);
    }
  }

  /**
   * manageDiscovery keeps the KubernetesDiscovery of the apply's name in line: created (owned by
   * the apply) or updated once the apply has applied something, deleted when the apply is
   * disabled. An apply in error leaves it as it is, so a transient failure keeps the pods watched.
   * Without `applied` (no apply this pass) it uses the objects the entry holds, parsing
   * status.resultYAML only when the entry holds none.
   */
  private async manageDiscovery(ka: KubernetesApply, applied: KubeResource[] | undefined, entry: Entry, log: Logger): Promise<void> {
    const { client, cache } = this.deps;
    const name = ka.metadata.name!;
    const st = ka.status ?? {};
    const disabled = !!st.disableStatus?.disabled;
    if (!disabled && (st.error || !st.resultYAML)) return;
    let want;
    if (!disabled) {
      let objects = applied ?? (entry.applied.length ? entry.applied : undefined);
      if (!objects) {
        try {
          objects = parseYamlObjects(st.resultYAML ?? '');
        } catch {
          return;
        }
      }
      want = discoverySpec(ka, objects, () => this.defaultNamespace(ka), this.declared(entry, ka.spec?.yaml) ?? objects);
    }
    const existing = cache.get<KubernetesDiscovery>('KubernetesDiscovery', name) ?? (await client.get<KubernetesDiscovery>('KubernetesDiscovery', name));
    if (!want) {
      if (existing && this.owns(ka, existing)) {
        try {
          await client.delete('KubernetesDiscovery', name);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      return;
    }
    const annotations = { ...(ka.metadata.annotations?.['tilt.dev/resource'] ? { 'tilt.dev/resource': ka.metadata.annotations['tilt.dev/resource'] } : {}) };
    if (!existing) {
      try {
        await client.create<KubernetesDiscovery>({
          apiVersion,
          kind: 'KubernetesDiscovery',
          metadata: {
            name,
            ...(Object.keys(annotations).length ? { annotations } : {}),
            ownerReferences: [{ apiVersion, kind, name, uid: ka.metadata.uid!, controller: true, blockOwnerDeletion: true }],
          },
          spec: want,
        });
        log.info('KubernetesDiscovery created', { discovery: name });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      return;
    }
    if (jsonEqual(existing.spec, want)) return;
    try {
      await client.update<KubernetesDiscovery>({ ...existing, apiVersion, kind: 'KubernetesDiscovery', spec: want });
    } catch (err) {
      if (!isConflict(err)) throw err;
      throw new Error('updating KubernetesDiscovery: the object changed meanwhile', { cause: err });
    }
  }

  private owns(ka: KubernetesApply, kd: KubernetesDiscovery): boolean {
    return !!kd.metadata.ownerReferences?.some((r) => r.kind === kind && r.uid === ka.metadata.uid);
  }

  /** declared are the objects spec.yaml parses to, parsed once per spec.yaml; undefined when it is empty or unreadable. */
  private declared(entry: Entry, yaml: string | undefined): KubeResource[] | undefined {
    if (!yaml) return undefined;
    if (entry.declared?.yaml !== yaml) {
      let objects: KubeResource[] | undefined;
      try {
        objects = parseYamlObjects(yaml);
      } catch {
        objects = undefined;
      }
      entry.declared = { yaml, objects };
    }
    return entry.declared.objects;
  }

  /** defaultNamespace is the namespace of the apply's cluster connection ('default' when it cannot connect). */
  private defaultNamespace(ka: KubernetesApply): string {
    const clusterName = ka.spec?.cluster || defaultClusterName;
    const cluster = this.deps.cache.get<Cluster>('Cluster', clusterName) ?? ({ metadata: { name: clusterName } } as Cluster);
    try {
      return this.deps.connect(cluster).defaultNamespace;
    } catch {
      return 'default';
    }
  }

  private triggerQueued(ka: KubernetesApply): boolean {
    return triggerQueueResources(this.deps.cache.get<ConfigMap>('ConfigMap', triggerQueueName)).has(resourceName(ka));
  }

  /**
   * removeTrigger takes the resource out of the trigger queue once its apply ran, unless a
   * CmdImage of the same resource is still to see it (the build it asks for removes it).
   */
  private async removeTrigger(resource: string): Promise<void> {
    const { client, cache } = this.deps;
    if (cache.list('CmdImage').some((o) => resourceName(o) === resource)) return;
    await removeFromTriggerQueue(client, resource);
  }

  private sayer(ka: KubernetesApply): (line: string) => void {
    const resource = resourceName(ka);
    const source = `KubernetesApply/${ka.metadata.name}`;
    return (line) => this.deps.logs?.append(resource, { source, line });
  }

  private async write(ka: KubernetesApply, status: KubernetesApplyStatus): Promise<KubernetesApply | undefined> {
    return updateStatusIfChanged(this.deps.client, ka, clean(status));
  }

  /** setFinalizer adds or removes cleanupFinalizer (ka gets the stored metadata). */
  private async setFinalizer(ka: KubernetesApply, present: boolean): Promise<void> {
    const stored = await setFinalizer<KubernetesApply>(this.deps.client, ka, cleanupFinalizer, present);
    if (stored) ka.metadata = stored.metadata;
  }
}

/** parseOrEmpty reads objects from YAML, none when it is empty or unreadable. */
function parseOrEmpty(yaml: string | undefined): KubeResource[] {
  try {
    return parseYamlObjects(yaml ?? '');
  } catch {
    return [];
  }
}

/** withoutManagedFields drops metadata.managedFields, which says nothing the status needs and can be most of an object. */
function withoutManagedFields(obj: KubeResource): KubeResource {
  if (!obj.metadata || !('managedFields' in obj.metadata)) return obj;
  const { managedFields: _m, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}
