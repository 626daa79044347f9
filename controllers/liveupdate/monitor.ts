/**
 * Monitor is the in-memory state the LiveUpdate reconciler keeps per LiveUpdate: what it last saw
 * of each dependency, which files changed when, and how far each container is synced. It is
 * dropped and rebuilt whenever the LiveUpdate's spec changes.
 */
import type {
  ConfigMap,
  DockerComposeService,
  FileEvent,
  IgnoreDef,
  ImageMap,
  ImageMapStatus,
  KubernetesApply,
  KubernetesDiscovery,
  LiveUpdateSpec,
} from '../../src/apis/index.ts';
import { microTimeValue } from '../../src/apis/index.ts';
import { jsonEqual } from '../../src/runtime/index.ts';

/** SourceState is what one FileWatch source has contributed. */
export interface SourceState {
  fileWatch: string;
  imageMap?: string;
  /** modTimeByPath maps a changed path to the latest FileEvent time (µs) it appeared in. */
  modTimeByPath: Map<string, number>;
  ignores: IgnoreDef[];
  lastImageStatus?: ImageMapStatus;
  lastFileEvent?: FileEvent;
}

/** ContainerState is how far one container is synced, and why it failed if it did. */
export interface ContainerState {
  /** lastFileTimeSynced is the FileEvent time (µs) of the newest synced change; 0 when never synced. */
  lastFileTimeSynced: number;
  lastExecError: string;
  failedReason?: string;
  failedMessage?: string;
  /** failedLowWaterMark is the oldest change (µs) of the failed update: a build after it clears the failure. */
  failedLowWaterMark: number;
}

/** SourceRef names a FileWatch source and the ImageMap that tells which changes are in the image. */
export interface SourceRef {
  fileWatch?: string;
  imageMap?: string;
}

/**
 * sourcesOf lists the sources of a spec: `sources[]`, then the older `fileWatchNames` (whose
 * ImageMap is the Kubernetes selector's imageMapName, when it has one).
 */
export function sourcesOf(spec: LiveUpdateSpec): SourceRef[] {
  const out: SourceRef[] = [...(spec.sources ?? [])];
  const seen = new Set(out.map((s) => s.fileWatch).filter(Boolean));
  for (const fw of spec.fileWatchNames ?? []) {
    if (seen.has(fw)) continue;
    seen.add(fw);
    out.push({ fileWatch: fw, imageMap: spec.selector?.kubernetes?.imageMapName });
  }
  return out;
}

export class Monitor {
  readonly spec: LiveUpdateSpec;
  readonly sources = new Map<string, SourceState>();
  readonly containers = new Map<string, ContainerState>();
  lastKubernetesDiscovery?: KubernetesDiscovery;
  /** lastKubernetesApply is the selector's KubernetesApply (applyName) as last seen. */
  lastKubernetesApply?: KubernetesApply;
  lastImageMap?: ImageMap;
  lastDockerComposeService?: DockerComposeService;
  lastTriggerQueue?: ConfigMap;
  /** recheck forces the next reconcile to recompute the status (a dependency was missing). */
  recheck = false;
  /** reportedSyncPaths is the missing-sync-path message last logged, so it is logged when it changes. */
  reportedSyncPaths?: string;
  private seenTriggerQueue = false;

  constructor(spec: LiveUpdateSpec) {
    this.spec = structuredClone(spec);
  }

  /** sameSpec is true when spec equals the one this monitor was built for. */
  sameSpec(spec: LiveUpdateSpec): boolean {
    return jsonEqual(this.spec, spec);
  }

  source(ref: SourceRef & { fileWatch: string }): SourceState {
    let s = this.sources.get(ref.fileWatch);
    if (!s) {
      s = { fileWatch: ref.fileWatch, imageMap: ref.imageMap, modTimeByPath: new Map(), ignores: [] };
      this.sources.set(ref.fileWatch, s);
    }
    return s;
  }

  /**
   * recordFileWatch takes in a FileWatch's events (and its ImageMap's status) and says whether
   * anything changed. Events older than the image's build start are already in the image. An
   * event's paths are exactPaths(ev) when it gives them (the batch's own paths, where seenFiles
   * were shortened to directories: FileBatches), else its seenFiles.
   */
  recordFileWatch(
    src: SourceState,
    events: FileEvent[],
    ignores: IgnoreDef[],
    imageStatus: ImageMapStatus | undefined,
    exactPaths: (ev: FileEvent) => readonly string[] | undefined = () => undefined,
  ): boolean {
    src.ignores = ignores;
    if (events.length === 0) return false;
    const imageChanged = !jsonEqual(src.lastImageStatus ?? null, imageStatus ?? null);
    src.lastImageStatus = imageStatus ? structuredClone(imageStatus) : undefined;
    const last = events[events.length - 1]!;
    const fileWatchChanged = !jsonEqual(src.lastFileEvent ?? null, last);
    src.lastFileEvent = structuredClone(last);
    if (fileWatchChanged) {
      const buildStart = microTimeValue(imageStatus?.buildStartTime);
      for (const ev of events) {
        const t = microTimeValue(ev.time);
        if (Number.isNaN(t)) continue;
        if (buildStart && buildStart > t) continue;
        for (const p of exactPaths(ev) ?? ev.seenFiles ?? []) {
          const prev = src.modTimeByPath.get(p);
          if (prev === undefined || t > prev) src.modTimeByPath.set(p, t);
        }
      }
    }
    return fileWatchChanged || imageChanged;
  }

  /** recordTriggerQueue remembers the queue and says whether its data changed (always, the first time). */
  recordTriggerQueue(cm: ConfigMap | undefined): boolean {
    const first = !this.seenTriggerQueue;
    this.seenTriggerQueue = true;
    const changed = first || !jsonEqual(this.lastTriggerQueue?.data ?? {}, cm?.data ?? {});
    this.lastTriggerQueue = cm ? structuredClone(cm) : undefined;
    return changed;
  }

  /** needsInitialSync: no container is tracked yet, or one has never been synced. */
  needsInitialSync(): boolean {
    if (this.containers.size === 0) return true;
    for (const c of this.containers.values()) if (c.lastFileTimeSynced === 0) return true;
    return false;
  }

  /**
   * garbageCollect forgets changes older than each source's image build start (or, when none is
   * known, the resource's start time) and clears container failures that such a build fixed.
   */
  garbageCollect(bestStartTimeUs: number): void {
    for (const src of this.sources.values()) {
      const gc = microTimeValue(src.lastImageStatus?.buildStartTime) || bestStartTimeUs;
      if (!gc) continue;
      for (const [p, t] of src.modTimeByPath) if (t < gc) src.modTimeByPath.delete(p);
      for (const c of this.containers.values()) {
        if (c.failedReason !== undefined && c.failedLowWaterMark < gc) {
          c.failedReason = undefined;
          c.failedMessage = undefined;
          c.failedLowWaterMark = 0;
        }
      }
    }
  }

  /** changedSince lists the paths changed after highWaterMark (µs), with the newest and oldest times. */
  changedSince(highWaterMark: number): { files: string[]; newest: number; oldest: number } {
    const files = new Set<string>();
    let newest = 0;
    let oldest = 0;
    for (const src of this.sources.values()) {
      for (const [p, t] of src.modTimeByPath) {
        if (t <= highWaterMark) continue;
        files.add(p);
        if (t > newest) newest = t;
        if (oldest === 0 || t < oldest) oldest = t;
      }
    }
    return { files: [...files].sort(), newest, oldest };
  }

  /** ignores are the FileWatch ignores of every source (for initial sync). */
  ignores(): IgnoreDef[] {
    return [...this.sources.values()].flatMap((s) => s.ignores);
  }
}
