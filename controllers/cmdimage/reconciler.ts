/**
 * CmdImageReconciler builds images with the CmdImage's own command and publishes the result to
 * the CmdImage's status and to the ImageMap it fills.
 *
 * Builds run outside reconciles (a reconcile starts one and returns); at most one build per
 * CmdImage runs at a time. What a reconcile wants published (building, waiting, the last
 * result) is kept in memory per name and written whenever the stored status differs, so a
 * failed write is simply retried by the next reconcile.
 */
import type { Logger } from 'winston';
import {
  resourceName,
  toMicroTime,
  triggerQueueName,
  type CmdImage,
  type CmdImageStatus,
  type Cluster,
  type ConfigMap,
  type FileWatch,
  type ImageMap,
  type ImageMapStatus,
  type LiveUpdate,
} from '../../src/apis/index.ts';
import { RefError, isBuildTag, isStampTag, parseRef, planPrune, type ImageClient } from '../../src/adapters/images/index.ts';
import type { OutputStream, ProcessRunner } from '../../src/adapters/process/index.ts';
import { isAlreadyExists, updateStatusIfChanged, type Cache, type Client, type Clock, type ReconcileContext, type Reconciler, type Request, type Result } from '../../src/runtime/index.ts';
import { evaluateDisableSource, removeFromTriggerQueue, triggerQueueResources } from '../../src/tilt/index.ts';
import type { LogBuffer } from '../../src/util/log-buffer.ts';
import { formatGoDuration } from '../../src/apis/go.ts';
import { BuildError, runBuild, type BuildOutcome } from './builder.ts';
import { planBuild, registryFromCluster } from './plan.ts';
import {
  buildReasonsFor,
  clusterName,
  currentDepImages,
  builtGeneration,
  builtGenerationAnnotation,
  initialMemory,
  newImageMap,
  targetImageMapName,
  waitFor,
  type BuildInputs,
  type BuildMemory,
  type BuildReason,
  timeoutReason,
} from './status.ts';
import { Wake } from '../../src/runtime/index.ts';
import type { ActivityRegistry } from '../../src/runtime/activity.ts';
import { errorText } from '../../src/util/errors.ts';

export const kind = 'CmdImage';

/** defaultBuildTimeoutMs bounds one build (command, tag and push) when no timeout is given: 15 minutes. */
export const defaultBuildTimeoutMs = 15 * 60_000;

/** Index names on the cache. */
export const indexes = {
  /** CmdImage by the ImageMap it fills. */
  target: 'cmdimage.target',
  /** CmdImage by each of its spec.imageMaps. */
  dependency: 'cmdimage.dependency',
  /** CmdImage by its Cluster. */
  cluster: 'cmdimage.cluster',
  /** CmdImage by its resource. */
  resource: 'cmdimage.resource',
  /** FileWatch by the ImageMap of its `image:` target id. */
  fileWatchImageMap: 'cmdimage.fileWatchImageMap',
  /** LiveUpdate by the ImageMaps it uses. */
  liveUpdateImageMap: 'cmdimage.liveUpdateImageMap',
  /** ImageMap by the ConfigMaps of its disableSource. */
  imageMapDisable: 'cmdimage.imageMapDisable',
} as const;

/** CmdImageReconcilerDeps are what the reconciler works with. */
export interface CmdImageReconcilerDeps {
  /** wake asks for a reconcile of a CmdImage (a build ended, one it waits on changed). Default: one bound to nothing. */
  wake?: Wake;
  client: Client;
  cache: Cache;
  clock: Clock;
  log: Logger;
  runner: ProcessRunner;
  images: ImageClient;
  logs: LogBuffer;
  /** cwd is where commands run when spec.dir is empty, and what relative dirs resolve against. */
  cwd: string;
  /** baseEnv is the environment builds start from. Default: the daemon's. */
  baseEnv?: NodeJS.ProcessEnv;
  /** onBuildDone is told how each build went (for metrics). */
  onBuildDone?: (result: { durationMs: number; ok: boolean }) => void;
  /**
   * buildTimeoutMs bounds each build: past it the build's processes are killed and it fails with
   * reason Timeout. Default defaultBuildTimeoutMs (15 minutes); `ferry serve --build-timeout`.
   */
  buildTimeoutMs?: number;
  /**
   * keepImages is how many images of a ref keep their build tags after a build: older ones are
   * untagged (and so removed, unless a container uses them or they have other tags). 0 keeps
   * everything. Default defaultKeepImages.
   */
  keepImages?: number;
  /** pruneOwnOnly limits pruning to tags this reconciler made (`ferry ci` beside a dev daemon). Default false. */
  pruneOwnOnly?: boolean;
  /** activity is told of each build while it runs, and of its phase (command, tagging, pushing). */
  activity?: ActivityRegistry;
}

/** defaultKeepImages is how many builds of a ref keep their tags by default. */
export const defaultKeepImages = 3;

/**
 * CancelCause says why a running build was killed: its CmdImage was deleted, the daemon stops,
 * its spec changed (a new build replaces it), or it ran past the build timeout.
 */
type CancelCause = 'Deleted' | 'Stopping' | 'SpecChanged' | 'Timeout';

interface Running {
  abort: AbortController;
  done: Promise<void>;
  /** generation is the CmdImage's metadata.generation the build runs for. */
  generation: number;
  /** cancelled is why the build was killed, the first cause only. */
  cancelled?: CancelCause;
}

/** Entry is what the reconciler remembers about one CmdImage. */
interface Entry {
  uid: string;
  /** last is the last build started (or, after a restart, the stored successful one). */
  last?: BuildMemory;
  /** status is what the CmdImage's status should be, once known. */
  status?: CmdImageStatus;
  /** imageMap is a successful build's ImageMap status still to write. */
  imageMap?: { name: string; status: ImageMapStatus };
  /** builtGeneration is a successful build's generation still to record on the CmdImage. */
  builtGeneration?: number;
  running?: Running;
  /** triggered is set when the trigger queue named the resource, until a build starts. */
  triggered: boolean;
  /** waitLogged is the last wait message logged, so each wait is logged once. */
  waitLogged?: string;
  /** hadTarget is set once the target ImageMap existed: its absence later means it was deleted. */
  hadTarget?: boolean;
  /** recreateAt is when a deleted target ImageMap is made again (ms on the clock). */
  recreateAt?: number;
}

/**
 * imageMapRecreateDelayMs is how long a CmdImage waits before making again a target ImageMap that
 * was deleted: a delete of both (`ferry delete -f`, the ImageMap first) deletes the CmdImage in
 * that time, and then nothing is made again.
 */
export const imageMapRecreateDelayMs = 2_000;

export class CmdImageReconciler implements Reconciler {
  /** wake asks for a reconcile of a CmdImage (a build ended, another CmdImage's changed). */
  private readonly wake: Wake;
  private readonly entries = new Map<string, Entry>();
  /** made are the references (`repo:tag`) builds of this reconciler tagged. */
  private readonly made = new Set<string>();
  /** stopping is set once the daemon stops: builds it kills are cut off, not failed. */
  private stopping = false;
  /** consumedQueues are trigger-queue versions whose entries for a resource were consumed. */
  private readonly consumedQueues = new Map<string, string[]>();

  constructor(private readonly deps: CmdImageReconcilerDeps) {
    this.wake = deps.wake ?? new Wake();
  }

  async reconcile(req: Request, ctx: ReconcileContext): Promise<Result | void> {
    const { cache } = this.deps;
    const ci = cache.get<CmdImage>(kind, req.name);
    if (!ci || ci.metadata.deletionTimestamp) {
      this.forget(req.name);
      return;
    }
    let entry = this.entries.get(req.name);
    if (entry && entry.uid !== (ci.metadata.uid ?? '')) {
      this.forget(req.name);
      entry = undefined;
    }
    if (!entry) {
      entry = { uid: ci.metadata.uid ?? '', triggered: false };
      this.entries.set(req.name, entry);
    }

    const targetName = targetImageMapName(ci);
    let target = cache.get<ImageMap>('ImageMap', targetName);
    if (!target) {
      const now = this.deps.clock.now().getTime();
      if (entry.hadTarget) entry.recreateAt ??= now + imageMapRecreateDelayMs;
      if (entry.recreateAt !== undefined && now < entry.recreateAt) return { requeueAfterMs: entry.recreateAt - now };
      target = await this.createImageMap(ci, targetName, ctx.log);
    } else {
      // Seen in the cache (not just created, which the cache may not show yet): gone later means deleted.
      entry.hadTarget = true;
      target = await this.syncOwnedImageMap(ci, target, ctx.log);
    }
    entry.recreateAt = undefined;

    const removeTrigger = this.consumeTrigger(ci);
    try {
      await this.decide(ci, entry, target, ctx);
    } finally {
      await removeTrigger?.();
    }
  }

  private async decide(ci: CmdImage, entry: Entry, target: ImageMap | undefined, ctx: ReconcileContext): Promise<void> {
    const { cache } = this.deps;
    if (entry.running && !entry.running.cancelled && (ci.metadata.generation ?? 0) !== entry.running.generation) {
      // The build runs an outdated spec: kill it; when it has ended, the next reconcile starts
      // the new one (reason SpecChanged).
      ctx.log.info('Build cancelled', { reason: 'SpecChanged' });
      cancel(entry.running, 'SpecChanged');
    }
    if (!entry.running) {
      const inputs = this.inputs(ci, target, entry.triggered);
      if (!entry.last && !entry.status) entry.last = initialMemory(inputs);
      const reasons = buildReasonsFor(inputs, entry.last);
      if (reasons.length) {
        const cluster = cache.get<Cluster>('Cluster', clusterName(ci));
        const disabled = target ? this.disabledReason(target) : undefined;
        const wait = waitFor({ ...inputs, cluster, targetDisabled: disabled });
        if (wait) {
          entry.status = { waiting: { reason: wait.reason } };
          if (entry.waitLogged !== wait.message) {
            ctx.log.info('Build waiting', { reason: wait.reason, detail: wait.message });
            entry.waitLogged = wait.message;
          }
        } else {
          entry.waitLogged = undefined;
          await this.startBuild(ci, entry, inputs, reasons[0]!, cluster, ctx);
          return;
        }
      }
    }
    await this.publish(ci, entry);
  }

  /** idle resolves when no build is running. For tests and shutdown. */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.entries.values()].map((e) => e.running?.done).filter((d): d is Promise<void> => !!d);
      if (!running.length) return;
      await Promise.all(running);
    }
  }

  /** stopAll kills every running build and waits for them to end. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const e of this.entries.values()) if (e.running) cancel(e.running, 'Stopping');
    await this.idle();
  }

  /** building is true while a build of the named CmdImage runs. */
  building(name: string): boolean {
    return !!this.entries.get(name)?.running;
  }

  private forget(name: string): void {
    const entry = this.entries.get(name);
    if (entry?.running) cancel(entry.running, 'Deleted');
    this.entries.delete(name);
  }

  private inputs(ci: CmdImage, target: ImageMap | undefined, triggered: boolean): BuildInputs {
    const { cache } = this.deps;
    const targetName = targetImageMapName(ci);
    return {
      cmdImage: ci,
      target,
      dependencies: (ci.spec?.imageMaps ?? []).map((n) => cache.get<ImageMap>('ImageMap', n)),
      fileWatches: cache.byIndex<FileWatch>('FileWatch', indexes.fileWatchImageMap, targetName),
      liveUpdates: cache.byIndex<LiveUpdate>('LiveUpdate', indexes.liveUpdateImageMap, targetName),
      triggered,
    };
  }

  private disabledReason(im: ImageMap): string | undefined {
    const verdict = evaluateDisableSource(im.spec?.disableSource, (n) => this.deps.cache.get<ConfigMap>('ConfigMap', n));
    return verdict.state === 'Enabled' ? undefined : verdict.reason;
  }

  private async createImageMap(ci: CmdImage, name: string, log: Logger): Promise<ImageMap | undefined> {
    try {
      const im = await this.deps.client.create(newImageMap(ci, name));
      log.info('ImageMap created', { imageMap: name });
      return im;
    } catch (err) {
      if (isAlreadyExists(err)) return this.deps.client.get<ImageMap>('ImageMap', name);
      throw new Error(`creating ImageMap ${name}`, { cause: err });
    }
  }

  /**
   * syncOwnedImageMap keeps the spec of an ImageMap this CmdImage created in line with spec.ref
   * (an ImageMap someone else made is left as it is).
   */
  private async syncOwnedImageMap(ci: CmdImage, im: ImageMap, log: Logger): Promise<ImageMap> {
    const owned = im.metadata.ownerReferences?.some((o) => o.kind === kind && o.controller && o.uid === ci.metadata.uid);
    if (!owned) return im;
    const want = newImageMap(ci, im.metadata.name ?? '').spec!;
    if (im.spec?.selector === want.selector && !!im.spec.matchExact === !!want.matchExact) return im;
    const { matchExact: _m, ...rest } = im.spec ?? { selector: '' };
    const updated = await this.deps.client.update<ImageMap>({ ...im, spec: { ...rest, ...want } });
    log.info('ImageMap selector updated', { imageMap: im.metadata.name, selector: want.selector });
    return updated;
  }

  /**
   * consumeTrigger marks every CmdImage of the resource as triggered when the trigger queue
   * lists it, and returns the removal of the resource from the queue, for the caller to run
   * once the build has started (so a trigger costs no round trip before the build).
   */
  private consumeTrigger(ci: CmdImage): (() => Promise<void>) | undefined {
    const queue = this.deps.cache.get<ConfigMap>('ConfigMap', triggerQueueName);
    if (!queue) return undefined;
    const resource = resourceName(ci);
    if (!triggerQueueResources(queue).has(resource)) return undefined;
    const version = queue.metadata.resourceVersion ?? '';
    const consumed = this.consumedQueues.get(resource) ?? [];
    if (consumed.includes(version)) return undefined; // a cached copy we already took it from
    for (const other of this.deps.cache.byIndex<CmdImage>(kind, indexes.resource, resource)) {
      const name = other.metadata.name ?? '';
      const e = this.entries.get(name) ?? { uid: other.metadata.uid ?? '', triggered: false };
      this.entries.set(name, e);
      e.triggered = true;
      if (name !== ci.metadata.name) this.wake.enqueue(name);
    }
    return async () => {
      await removeFromTriggerQueue(this.deps.client, resource);
      this.consumedQueues.set(resource, [...(this.consumedQueues.get(resource) ?? []), version].slice(-10));
    };
  }

  private async startBuild(
    ci: CmdImage,
    entry: Entry,
    inputs: BuildInputs,
    reason: BuildReason,
    cluster: Cluster | undefined,
    ctx: ReconcileContext,
  ): Promise<void> {
    const name = ci.metadata.name!;
    const now = this.deps.clock.now();
    const startedAt = toMicroTime(now);
    entry.status = { building: { reason, startedAt } };
    const last: BuildMemory = { generation: ci.metadata.generation ?? 0, depImages: currentDepImages(inputs), startedAt };
    entry.last = last;
    entry.triggered = false;
    entry.imageMap = undefined;

    const resource = resourceName(ci);
    const log = this.deps.log.child({ cmdimage: name, resource });
    const source = `CmdImage/${name}`;
    const onLine = (line: string, stream: OutputStream | 'ferry' = 'ferry') => {
      this.deps.logs.append(resource, { source, stream, line });
      log.info('Build output', { line });
    };
    ctx.log.info('Build started', { reason });
    const activity = this.deps.activity?.start({ resource, object: source, action: 'building', phase: 'build command' });

    const abort = new AbortController();
    const running: Running = { abort, done: Promise.resolve(), generation: ci.metadata.generation ?? 0 };
    const timeoutMs = this.deps.buildTimeoutMs ?? defaultBuildTimeoutMs;
    const timer = this.deps.clock.setTimeout(() => {
      if (running.cancelled) return;
      log.warn('Build timed out', { timeoutMs });
      cancel(running, 'Timeout');
    }, timeoutMs);
    const registry = registryFromCluster(cluster).registry;
    const deps = inputs.dependencies;
    const spec = ci.spec!;
    const startMs = now.getTime();
    const run = async () => {
      let outcome: BuildOutcome | undefined;
      let error: string | undefined;
      try {
        const plan = planBuild({
          spec,
          cluster,
          registry,
          dependencies: (spec.imageMaps ?? []).map((n, i) => ({ name: n, imageFromLocal: deps[i]?.status?.imageFromLocal ?? '' })),
          now,
          baseEnv: this.deps.baseEnv ?? process.env,
          cwd: this.deps.cwd,
        });
        outcome = await runBuild(
          plan,
          registry,
          { runner: this.deps.runner, images: this.deps.images, onPhase: (p) => activity?.phase(p) },
          onLine,
          abort.signal,
        );
        for (const ref of outcome.madeTags) this.made.add(ref);
      } catch (err) {
        error = err instanceof BuildError || err instanceof RefError ? err.message : errorText(err);
      }
      this.deps.clock.clearTimeout(timer);
      // A build killed because its CmdImage went away or because the daemon stops has no result
      // (the next daemon finds `building` and rebuilds, reason Interrupted); one killed for a
      // spec change neither: the build of the new spec replaces it.
      const cancelled = running.cancelled;
      activity?.end(cancelled && cancelled !== 'Timeout' ? 'cancelled' : outcome ? 'ok' : 'failed');
      if (cancelled === 'SpecChanged') onLine('Build cancelled: the spec changed, building again', 'ferry');
      if (cancelled && cancelled !== 'Timeout') return;
      const finishedAt = toMicroTime(this.deps.clock.now());
      const durationMs = this.deps.clock.now().getTime() - startMs;
      if (cancelled === 'Timeout' && !outcome) {
        const error = `Build timed out after ${formatGoDuration(timeoutMs)} (ferry serve --build-timeout); its processes were killed`;
        entry.status = { completed: { reason: timeoutReason, error, startedAt, finishedAt } };
        last.failed = true;
        onLine(`Build failed: ${error}`, 'ferry');
        this.deps.onBuildDone?.({ durationMs, ok: false });
      } else if (outcome) {
        entry.status = { ref: outcome.localRef.familiarString(), completed: { reason, startedAt, finishedAt } };
        entry.imageMap = { name: targetImageMapName(ci), status: { ...outcome.imageMap, buildStartTime: startedAt } };
        entry.builtGeneration = ci.metadata.generation ?? 0;
        onLine(`Build succeeded: ${outcome.localRef.familiarString()}`, 'ferry');
        this.deps.onBuildDone?.({ durationMs, ok: true });
        log.info('Build succeeded', { ref: outcome.localRef.familiarString(), durationMs });
        // An image that is not local (outputMode remote) has nothing to prune.
        await this.prune(outcome.localRef.familiarString()).catch((err) => log.debug('Old images not pruned', { error: errorText(err) }));
      } else {
        entry.status = { completed: { reason, error, startedAt, finishedAt } };
        last.failed = true;
        // The command's output is already in the log above: its summary line is enough here.
        const summary = (error ?? '').split('\n', 1)[0];
        onLine(`Build failed: ${summary}`, 'ferry');
        this.deps.onBuildDone?.({ durationMs, ok: false });
        log.warn('Build failed', { error: summary, durationMs });
      }
    };
    const done = run()
      .catch((err) => {
        this.deps.clock.clearTimeout(timer);
        activity?.end('failed');
        log.error('Build crashed', { error: errorText(err) });
      })
      .finally(() => {
        if (entry.running === running) entry.running = undefined;
        this.wake.enqueue(name);
      });
    running.done = done;
    entry.running = running;
    if (this.stopping) cancel(running, 'Stopping');
    // The command runs while the building status is written (a failed write is retried by the
    // next reconcile, which publishes whatever the status is by then).
    await this.publish(ci, entry);
  }

  /**
   * prune untags the builds of ref's repository beyond the newest keepImages, sparing the image
   * just built and every image a container uses (and, with pruneOwnOnly, tags others made).
   */
  private async prune(ref: string): Promise<void> {
    const keep = this.deps.keepImages ?? defaultKeepImages;
    if (keep <= 0) return;
    const { images } = this.deps;
    const repo = parseRef(ref).nameOnly().familiarString();
    const [list, inUse, current] = await Promise.all([images.list(repo), images.imagesInUse(), images.inspect(ref)]);
    const mayRemove = this.deps.pruneOwnOnly ? (tag: string) => this.made.has(`${repo}:${tag}`) : undefined;
    const removed: string[] = [];
    let stampsOnly = true;
    for (const tag of planPrune(list, { keep, inUse, repository: repo, protect: new Set([current.id]), mayRemove })) {
      await images.untag(`${repo}:${tag}`);
      this.made.delete(`${repo}:${tag}`);
      removed.push(`${repo}:${tag}`);
      stampsOnly &&= isStampTag(tag);
    }
    // An old build pruned is worth a line; the previous stamp of an image built again unchanged is not.
    if (!stampsOnly) this.deps.log.info('Removed old image tags', { refs: removed });
    else if (removed.length) this.deps.log.debug('Removed old image tags', { refs: removed });
  }

  /**
   * removeOwnImages untags every build tag this reconciler made, except one a container was
   * created with (Docker itself keeps an image a container uses when its last tag goes):
   * `ferry ci` leaves behind no tag it made.
   */
  async removeOwnImages(): Promise<void> {
    const { images } = this.deps;
    const inUse = await images.imagesInUse();
    for (const ref of this.made) {
      const tag = parseRef(ref).tag;
      if (!tag || !isBuildTag(tag) || inUse.has(ref)) continue;
      await images.untag(ref);
      this.made.delete(ref);
    }
  }

  /** publish writes the ImageMap status of a finished build, then the CmdImage's status. */
  private async publish(ci: CmdImage, entry: Entry): Promise<void> {
    const { client, cache } = this.deps;
    if (entry.imageMap) {
      const { name, status } = entry.imageMap;
      let im: ImageMap | undefined = cache.get<ImageMap>('ImageMap', name);
      if (!im) im = await this.createImageMap(ci, name, this.deps.log);
      if (im) {
        const stored = await updateStatusIfChanged(client, im, { ...im.status, ...status });
        if (stored) entry.imageMap = undefined;
      }
    }
    if (entry.status) await updateStatusIfChanged(client, ci, entry.status);
    // Recorded after the status: a crash in between rebuilds once more, never skips a build.
    if (entry.builtGeneration !== undefined && !entry.imageMap) {
      const generation = entry.builtGeneration;
      if (builtGeneration(ci) !== generation) {
        await client.patch<CmdImage>(kind, ci.metadata.name!, { metadata: { annotations: { [builtGenerationAnnotation]: String(generation) } } });
      }
      if (entry.builtGeneration === generation) entry.builtGeneration = undefined;
    }
  }
}

/** cancel kills a running build (its whole process group), remembering the first cause. */
function cancel(running: Running, cause: CancelCause): void {
  running.cancelled ??= cause;
  running.abort.abort();
}

