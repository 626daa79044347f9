import type { Logger } from 'winston';
import {
  annotations,
  kindByName,
  microTimeString,
  resourceName,
  triggerQueueName,
  type ConfigMap,
  type DockerComposeService,
  type FileEvent,
  type FileWatch,
  type ImageMap,
  type KubeObject,
  type KubernetesApply,
  type KubernetesDiscovery,
  type LiveUpdate,
  type LiveUpdateContainerStatus,
  type LiveUpdateSpec,
  type LiveUpdateStatus,
} from '../../src/apis/index.ts';
import {
  jsonEqual,
  read,
  updateStatusIfChanged,
  type Client,
  type Clock,
  type ReconcileContext,
  type Reader,
  type Reconciler,
  type Request,
} from '../../src/runtime/index.ts';
import { errorText } from '../../src/util/errors.ts';
import { LineSplitter } from '../../src/util/lines.ts';
import { liveUpdateMessages, type FileBatches } from '../../src/tilt/index.ts';
import type { PlannedArchive } from '../../src/adapters/tar/archive.ts';
import { RunStepFailure, displayCommand, type ContainerTarget, type ContainerUpdater } from '../../src/adapters/containers/index.ts';
import { formatGoDuration } from '../../src/apis/go.ts';
import { wallMicros } from '../../src/util/precise-time.ts';
import { Monitor, sourcesOf, type ContainerState } from './monitor.ts';
import type { PlanReady } from './plan.ts';
import { PendingChanges, syncPathConditions } from './changes.ts';
import {
  containerKey,
  decideContainer,
  dockerComposeView,
  failedState,
  isWaitingOnTrigger,
  kubernetesView,
  microNow,
  type FailureReason,
  type ResourceView,
  type SelectedContainer,
  type Waiting,
} from './status.ts';

/**
 * SyncUpdater is a ContainerUpdater that may keep something open per container (a persistent
 * channel): retain(owner, targets) names every container one LiveUpdate (owner
 * `namespace/name`) selects now; what it no longer names can be closed. retain(owner, []) when
 * the LiveUpdate goes away or selects nothing.
 */
export interface SyncUpdater extends ContainerUpdater {
  retain?(owner: string, targets: ContainerTarget[]): void;
}

/** Updaters reach containers: Docker for Docker Compose services, pods/exec per Kubernetes cluster. */
export interface Updaters {
  docker?: SyncUpdater;
  /** kubernetes returns the updater for a cluster name ("default" unless the discovery names one). */
  kubernetes?: (cluster: string) => SyncUpdater | undefined;
}

/** SyncTiming is one acknowledged sync: from its newest file change to the container's acknowledgement. */
export interface SyncTiming {
  namespace: string;
  name: string;
  latencyMs: number;
}

/** LiveUpdateReconcilerDeps are what the reconciler is built from. */
export interface LiveUpdateReconcilerDeps {
  /** client writes status (and reads when no reader is given). */
  client: Client;
  /** reader reads the LiveUpdate and its dependencies. Default: client. */
  reader?: Reader;
  clock: Clock;
  log: Logger;
  updaters: Updaters;
  /** execTimeoutMs bounds each exec without its own timeoutSeconds. Default 60,000. */
  execTimeoutMs?: number;
  /** cwd is where file lists in messages are shown from. Default process.cwd(). */
  cwd?: string;
  /** onLog receives the human-readable lines of each update, by resource (for `ferry logs`). */
  onLog?: (resource: string, line: string) => void;
  /** onSynced receives the latency of every sync of changed files (not initial syncs). */
  onSynced?: (t: SyncTiming) => void;
  /** batches holds the exact paths of FileWatch batches this daemon shortened in status (FileBatches). */
  batches?: FileBatches;
}

/** Retained is what a LiveUpdate last told its updater it selects. */
interface Retained {
  updater: SyncUpdater;
  owner: string;
  key: string;
}

class NotFound extends Error {}

interface Failure {
  reason: FailureReason;
  message: string;
}

/**
 * LiveUpdateReconciler keeps running containers in step with local files: it maps the changes a
 * LiveUpdate's FileWatches saw to its syncs, copies and deletes them in every selected
 * container, runs the execs and restarts, and reports each container's progress, or precisely
 * why it cannot, in status.
 */
export class LiveUpdateReconciler implements Reconciler {
  private readonly deps: LiveUpdateReconcilerDeps;
  private readonly reader: Reader;
  private readonly monitors = new Map<string, Monitor>();
  private readonly retained = new Map<string, Retained>();
  /** startedUs is the high-water mark of containers never synced: changes before it are not ours. */
  private readonly startedUs: number;
  private readonly execTimeoutMs: number;

  constructor(deps: LiveUpdateReconcilerDeps) {
    this.deps = deps;
    this.reader = deps.reader ?? deps.client;
    this.startedUs = microNow(deps.clock.now());
    this.execTimeoutMs = deps.execTimeoutMs ?? 60_000;
  }

  async reconcile(req: Request, ctx: ReconcileContext): Promise<void> {
    const lu = await read<LiveUpdate>(this.reader, 'LiveUpdate', req.name);
    if (!lu || lu.metadata.deletionTimestamp || !lu.spec) {
      this.monitors.delete(req.name);
      this.release(req.name);
      return;
    }
    if (lu.metadata.annotations?.[annotations.managedBy]) {
      this.release(req.name);
      return;
    }
    const spec = lu.spec;

    const selectorProblem = checkSelector(spec);
    if (selectorProblem) return this.handleFailure(lu, { reason: 'Invalid', message: selectorProblem }, ctx.log);

    let mon = this.monitors.get(req.name);
    if (!mon || !mon.sameSpec(spec)) {
      mon = new Monitor(spec);
      this.monitors.set(req.name, mon);
    }

    let changed = false;
    try {
      for (const ref of sourcesOf(spec)) {
        if (!ref.fileWatch) continue;
        const fw = await this.mustGet<FileWatch>('FileWatch', ref.fileWatch);
        const im = ref.imageMap ? await this.mustGet<ImageMap>('ImageMap', ref.imageMap) : undefined;
        const src = mon.source({ fileWatch: ref.fileWatch, imageMap: ref.imageMap });
        const exact = (ev: FileEvent) => this.deps.batches?.pathsOf(fw.metadata.uid, ev);
        if (mon.recordFileWatch(src, fw.status?.fileEvents ?? [], fw.spec?.ignores ?? [], im?.status, exact)) changed = true;
      }
      const k8s = spec.selector.kubernetes;
      if (k8s) {
        const kd = await this.mustGet<KubernetesDiscovery>('KubernetesDiscovery', k8s.discoveryName);
        const im = k8s.imageMapName ? await this.mustGet<ImageMap>('ImageMap', k8s.imageMapName) : undefined;
        const ka = k8s.applyName ? await this.mustGet<KubernetesApply>('KubernetesApply', k8s.applyName) : undefined;
        if (
          !jsonEqual(mon.lastKubernetesDiscovery?.status ?? null, kd.status ?? null) ||
          !jsonEqual(mon.lastImageMap ?? null, im ?? null) ||
          !jsonEqual(mon.lastKubernetesApply?.status ?? null, ka?.status ?? null)
        ) {
          changed = true;
        }
        mon.lastKubernetesDiscovery = kd;
        mon.lastImageMap = im;
        mon.lastKubernetesApply = ka;
      } else if (spec.selector.dockerCompose) {
        const dcs = await this.mustGet<DockerComposeService>('DockerComposeService', spec.selector.dockerCompose.service);
        if (!jsonEqual(mon.lastDockerComposeService?.status ?? null, dcs.status ?? null)) changed = true;
        mon.lastDockerComposeService = dcs;
      }
    } catch (err) {
      if (err instanceof NotFound) {
        // Once the object exists, the status is recomputed even if nothing else changed.
        mon.recheck = true;
        return this.handleFailure(lu, { reason: 'ObjectNotFound', message: err.message }, ctx.log);
      }
      throw err;
    }
    const queue = await read<ConfigMap>(this.reader, 'ConfigMap', triggerQueueName);
    if (mon.recordTriggerQueue(queue)) changed = true;

    if (!changed && !mon.recheck && !(spec.initialSync && mon.needsInitialSync())) return;
    mon.recheck = false;

    const synced: { latencyUs?: number } = {};
    const status = await this.maybeSync(lu, mon, ctx, synced);
    const latency = synced.latencyUs !== undefined ? formatGoDuration(Math.round(synced.latencyUs) / 1000) : lu.status?.lastSyncLatency;
    if (latency) status.lastSyncLatency = latency;
    const conditions = syncPathConditions(spec, lu.status?.conditions, this.deps.clock.now());
    if (conditions.length > 0) status.conditions = conditions;
    const missing = conditions.find((c) => c.status === 'False')?.message;
    if (missing !== mon.reportedSyncPaths) {
      if (missing) ctx.log.warn('LiveUpdate sync path not found', { liveUpdate: req.name, error: missing });
      mon.reportedSyncPaths = missing;
    }
    const prevFailed = lu.status?.failed;
    await updateStatusIfChanged(this.deps.client, lu, status);
    if (status.failed && isReportable(status.failed) && !sameFailure(prevFailed, status.failed)) {
      reportFailure(ctx.log, req.name, status.failed);
    }
  }

  /**
   * retain tells the LiveUpdate's updater which containers it selects now (only when that
   * changed); an updater other than the last one is told first that nothing is selected.
   */
  private retain(lu: LiveUpdate, updater: SyncUpdater | undefined, containers: SelectedContainer[]): void {
    const name = lu.metadata.name!;
    const targets = containers.filter((c) => c.state === 'running' && c.containerId).map(targetOf);
    const key = targets.map(containerKey).join('\n');
    const prev = this.retained.get(name);
    if (prev && prev.updater === updater && prev.key === key) return;
    if (prev && prev.updater !== updater) this.release(name);
    if (!updater) return;
    const owner = `${lu.metadata.namespace ?? ''}/${name}`;
    this.retained.set(name, { updater, owner, key });
    updater.retain?.(owner, targets);
  }

  /** release tells the last updater that the LiveUpdate selects nothing any more. */
  private release(name: string): void {
    const prev = this.retained.get(name);
    if (!prev) return;
    this.retained.delete(name);
    if (prev.key !== '') prev.updater.retain?.(prev.owner, []);
  }

  /** handleFailure sets only status.failed, keeping the containers, and writes only if it changed. */
  private async handleFailure(lu: LiveUpdate, f: Failure, log: Logger): Promise<void> {
    // Nothing is synced while it fails: its containers need not be kept (retained again on recovery).
    this.release(lu.metadata.name!);
    const prev = lu.status?.failed;
    if (prev?.reason === f.reason && prev.message === f.message) return;
    const failed = failedState(prev, f.reason, f.message, this.deps.clock.now());
    await updateStatusIfChanged(this.deps.client, lu, { ...lu.status, failed });
    if (isReportable(f)) reportFailure(log, lu.metadata.name!, f);
  }

  private async mustGet<T extends KubeObject>(kind: string, name: string): Promise<T> {
    const obj = await read<T>(this.reader, kind, name);
    if (!obj) throw new NotFound(`${kindByName(kind)?.plural ?? kind.toLowerCase()}.tilt.dev ${JSON.stringify(name)} not found`);
    return obj;
  }

  /** maybeSync brings every selected container up to date and computes the new status. */
  private async maybeSync(lu: LiveUpdate, mon: Monitor, ctx: ReconcileContext, synced: { latencyUs?: number }): Promise<LiveUpdateStatus> {
    const spec = lu.spec!;
    const now = this.deps.clock.now();
    const fail = (f: Failure): LiveUpdateStatus => ({ failed: failedState(lu.status?.failed, f.reason, f.message, now) });

    let view: ResourceView;
    if (spec.selector.kubernetes) {
      try {
        view = kubernetesView(mon.lastKubernetesDiscovery!, spec.selector.kubernetes, mon.lastImageMap, mon.lastKubernetesApply);
      } catch (err) {
        this.release(lu.metadata.name!);
        return fail({ reason: 'Invalid', message: `creating kube resource: ${errorText(err)}` });
      }
    } else {
      const dc = dockerComposeView(mon.lastDockerComposeService!);
      if (!dc) {
        // The service is not up yet: nothing is selected, and this is a wait, not a failure to report.
        this.release(lu.metadata.name!);
        return fail({ reason: 'Invalid', message: liveUpdateMessages.noDockerComposeStatus });
      }
      view = dc;
    }
    let retainedUpdater: SyncUpdater | undefined;
    try {
      retainedUpdater = this.updaterFor(spec, mon);
    } catch {
      retainedUpdater = undefined;
    }
    this.retain(lu, retainedUpdater, view.containers);
    const waitingOnTrigger = isWaitingOnTrigger(lu.metadata.annotations?.[annotations.updateMode], resourceName(lu), mon.lastTriggerQueue);

    mon.garbageCollect(view.bestStartTimeUs);
    const selected = new Set(view.containers.map(containerKey));
    for (const key of mon.containers.keys()) if (!selected.has(key)) mon.containers.delete(key);

    for (const c of view.containers) {
      const st = mon.containers.get(containerKey(c));
      if (st?.failedReason) return fail({ reason: st.failedReason as FailureReason, message: st.failedMessage ?? '' });
    }

    const statuses: LiveUpdateContainerStatus[] = [];
    let terminatedPod: string | undefined;
    let anyFiles = false;
    const pending = new PendingChanges(spec, mon, this.startedUs, microNow(now), this.deps.cwd, ctx.log);
    for (const c of view.containers) {
      const key = containerKey(c);
      let st = mon.containers.get(key);
      if (!st) {
        st = { lastFileTimeSynced: 0, lastExecError: '', failedLowWaterMark: 0 };
        mon.containers.set(key, st);
      }
      const initial = !!spec.initialSync && st.lastFileTimeSynced === 0;
      const changes = await pending.forContainer(st.lastFileTimeSynced || this.startedUs, initial);
      if ('failure' in changes) return this.failContainer(st, changes.failure, this.startedUs, fail);
      if (changes.files.length > 0) anyFiles = true;

      const decision = decideContainer(c, changes.plan, waitingOnTrigger);
      switch (decision.action) {
        case 'terminated':
          terminatedPod ??= c.podName;
          continue;
        case 'fail':
          return this.failContainer(st, decision, changes.oldest, fail);
        case 'idle':
          statuses.push(containerStatus(c, st, decision.waiting));
          continue;
      }
      const outcome = await this.apply(lu, c, changes.plan as PlanReady, initial, pending, mon, ctx);
      if ('failure' in outcome) return this.failContainer(st, outcome.failure, changes.oldest, fail);
      if (!initial && changes.newest > 0 && outcome.ackUs !== undefined) {
        const latencyUs = Math.max(0, outcome.ackUs - changes.newest);
        synced.latencyUs = Math.max(synced.latencyUs ?? 0, latencyUs);
        this.deps.onSynced?.({ namespace: lu.metadata.namespace ?? '', name: lu.metadata.name!, latencyMs: latencyUs / 1000 });
      }
      st.lastFileTimeSynced = changes.newest;
      st.lastExecError = outcome.execError;
      statuses.push(containerStatus(c, st, undefined));
    }

    if (terminatedPod !== undefined && anyFiles && statuses.length === 0) {
      return fail({ reason: 'Terminated', message: `Container for live update is stopped. Pod name: ${terminatedPod}` });
    }
    return statuses.length > 0 ? { containers: statuses } : {};
  }

  private failContainer(st: ContainerState, f: Failure, lowWaterMark: number, fail: (f: Failure) => LiveUpdateStatus): LiveUpdateStatus {
    st.failedReason = f.reason;
    st.failedMessage = f.message;
    st.failedLowWaterMark = lowWaterMark;
    return fail(f);
  }

  /** apply runs one planned update against one container. */
  private async apply(
    lu: LiveUpdate,
    c: SelectedContainer,
    p: PlanReady,
    initial: boolean,
    pending: PendingChanges,
    mon: Monitor,
    ctx: ReconcileContext,
  ): Promise<{ execError: string; ackUs?: number } | { failure: Failure }> {
    const spec = lu.spec!;
    const display = c.containerName || c.containerId.slice(0, 10);
    const updateFailed = (err: unknown): { failure: Failure } => ({
      failure: {
        reason: 'UpdateFailed',
        message: c.podName ? `Updating pod ${c.podName}: ${errorText(err)}` : `Updating container ${display}: ${errorText(err)}`,
      },
    });
    const log = ctx.log.child({ liveUpdate: lu.metadata.name, container: display, ...(c.podName ? { pod: c.podName, namespace: c.namespace } : {}) });
    const resource = resourceName(lu);
    const say = (line: string) => this.deps.onLog?.(resource, line);

    let updater: SyncUpdater | undefined;
    try {
      updater = this.updaterFor(spec, mon);
    } catch (err) {
      return updateFailed(err);
    }
    if (!updater) return updateFailed(new Error(spec.selector.kubernetes ? 'no Kubernetes connection for this cluster' : 'no Docker connection configured'));

    let archive: PlannedArchive;
    try {
      archive = await pending.archiveFor(p, initial);
    } catch (err) {
      return updateFailed(new Error(`archiving changed files: ${errorText(err)}`, { cause: err }));
    }

    if (initial) {
      log.info('Initial sync: will copy sync paths to container', { paths: p.toCopy.map((m) => m.localPath) });
      say('Initial sync: will copy sync paths to container...');
    }
    if (p.toDelete.length > 0) {
      log.info('Will delete files from container', {
        count: p.toDelete.length,
        files: p.toDelete.map((m) => ({ containerPath: m.containerPath, localPath: m.localPath })),
      });
      say(`Will delete ${p.toDelete.length} file(s) from container: ${display}`);
      for (const m of p.toDelete) say(`- '${m.containerPath}' (matched local path: '${m.localPath}')`);
    }
    if (archive.entries.length > 0 && !initial) {
      log.info('Will copy files to container', {
        count: p.toCopy.length,
        files: p.toCopy.map((m) => ({ localPath: m.localPath, containerPath: m.containerPath })),
      });
      say(`Will copy ${p.toCopy.length} file(s) to container: ${display}`);
      for (const m of p.toCopy) say(`- '${m.localPath}' --> '${m.containerPath}'`);
    }
    const echoed = p.execs.filter((e) => !e.echoOff);
    if (echoed.length > 0) log.info('Will run commands in container', { commands: echoed.map((e) => e.args.join(' ')) });
    p.execs.forEach((e, i) => {
      if (!e.echoOff) say(`[CMD ${i + 1}/${p.execs.length}] ${displayCommand(e.args)}`);
    });

    const output = new LineSplitter((line) => {
      log.info('Command output', { line });
      say(line);
    });
    // The entries travel beside the archive, for an updater that sends files one by one.
    const update = {
      target: targetOf(c),
      deletePaths: p.toDelete.map((m) => m.containerPath),
      archive: archive.entries.length > 0 ? archive.stream : undefined,
      entries: archive.entries,
      execs: p.execs.map((e) => ({ args: e.args, timeoutMs: e.timeoutSeconds ? e.timeoutSeconds * 1000 : this.execTimeoutMs })),
      restart: spec.restart === 'always',
      onOutput: (text: string) => output.write(text),
      onNotice: say,
    };
    let ackUs: number | undefined;
    try {
      await updater.update(update, ctx.signal);
      ackUs = wallMicros(this.deps.clock);
    } catch (err) {
      output.end();
      if (err instanceof RunStepFailure) {
        log.info('Container updated, a command failed', { error: err.message });
        say(`  → Failed to update container ${display}: ${err.message}`);
        return { execError: err.message, ackUs: wallMicros(this.deps.clock) };
      }
      log.warn('Container update failed', { error: errorText(err) });
      say(`  → Failed to update container ${display}: ${errorText(err)}`);
      return updateFailed(err);
    }
    output.end();
    log.info('Container updated', { copied: archive.entries.length, deleted: p.toDelete.length, commands: p.execs.length });
    say(`  → Container ${display} updated!`);
    return { execError: '', ackUs };
  }

  private updaterFor(spec: LiveUpdateSpec, mon: Monitor): SyncUpdater | undefined {
    if (spec.selector.dockerCompose) return this.deps.updaters.docker;
    return this.deps.updaters.kubernetes?.(mon.lastKubernetesDiscovery?.spec?.cluster || 'default');
  }
}

function checkSelector(spec: LiveUpdateSpec): string | undefined {
  const s = spec.selector ?? {};
  if (s.kubernetes) return s.kubernetes.discoveryName ? undefined : 'Kubernetes selector requires DiscoveryName';
  if (s.dockerCompose) return s.dockerCompose.service ? undefined : 'DockerCompose selector requires Service';
  return 'No valid selector';
}

/** targetOf names a selected container for its updater. */
function targetOf(c: SelectedContainer): ContainerTarget {
  return { containerId: c.containerId, containerName: c.containerName, podName: c.podName, namespace: c.namespace };
}

/**
 * isReportable: a failure worth a warning in the log. A missing dependency (ObjectNotFound) and
 * a Docker Compose service not up yet are waits, normal while things start.
 */
function isReportable(f: { reason?: string; message?: string }): boolean {
  return f.reason !== 'ObjectNotFound' && f.message !== liveUpdateMessages.noDockerComposeStatus;
}

/**
 * reportFailure logs a failure once. A stop path is the healthy way to ask for a rebuild, so it is
 * information, not a warning.
 */
function reportFailure(log: Logger, name: string, f: { reason?: string; message?: string }): void {
  if (f.reason === 'UpdateStopped') log.info('LiveUpdate stopped for a rebuild', { liveUpdate: name, reason: f.reason, detail: f.message });
  else log.warn('LiveUpdate failed', { liveUpdate: name, reason: f.reason, error: f.message });
}

function sameFailure(a: { reason?: string; message?: string } | undefined, b: { reason?: string; message?: string }): boolean {
  return a?.reason === b.reason && a?.message === b.message;
}

function containerStatus(
  c: SelectedContainer,
  st: ContainerState,
  waiting: Waiting | undefined,
): LiveUpdateContainerStatus {
  return {
    containerName: c.containerName,
    containerID: c.containerId,
    podName: c.podName,
    namespace: c.namespace,
    ...(st.lastFileTimeSynced ? { lastFileTimeSynced: microTimeString(st.lastFileTimeSynced) } : {}),
    ...(st.lastExecError ? { lastExecError: st.lastExecError } : {}),
    ...(waiting ? { waiting } : {}),
  };
}
