/**
 * The dashboard's model: the objects ferry holds, grouped into resources by `tilt.dev/resource`
 * (as the Session does), summarised for the overview and detailed for a resource's page, with
 * the small histories the API does not keep (builds, syncs) recorded as changes arrive.
 *
 * It is fed object events (from the runtime's shared cache) and says which resources changed;
 * it does no I/O.
 */
import path from 'node:path';
import {
  annotations,
  microTimeValue,
  resourceName,
  triggerQueueName,
  type CmdImage,
  type ConfigMap,
  type FileWatch,
  type KubeObject,
  type LiveUpdate,
  type Session,
  type Target,
  type TargetState,
} from '../apis/index.ts';
import { parseGoBool } from '../apis/go.ts';
import { triggerQueueResources } from '../tilt/trigger-queue.ts';
import type {
  BuildRecord,
  FileWatchView,
  LiveUpdateView,
  ResourceDetail,
  ResourceSummary,
  RuntimeState,
  SyncRecord,
  UpdateState,
} from './wire.ts';

/** The kinds whose objects make a resource (the kinds Session makes targets of). */
export const resourceKinds = ['CmdImage', 'LiveUpdate', 'Cmd', 'DockerComposeService', 'KubernetesDiscovery', 'KubernetesApply'] as const;
/** The kinds that belong to a resource without making one. */
export const attachedKinds = ['FileWatch', 'ImageMap'] as const;
/** Every kind the dashboard watches. */
export const watchedKinds = [...resourceKinds, ...attachedKinds, 'ConfigMap', 'Session'] as const;
/** Kinds whose spec has a disableSource. */
export const disableableKinds = new Set(['FileWatch', 'ImageMap', 'Cmd', 'DockerComposeService', 'KubernetesApply']);

const maxBuilds = 20;
const maxSyncs = 20;

/** disableConfigMapName is the ConfigMap whose `isDisabled` disables a whole resource (as Tilt's Tiltfile makes them). */
export const disableConfigMapName = (resource: string): string => `${resource}-disable`;

/** ModelOptions tune the model. */
export interface ModelOptions {
  /** cwd resolves relative LiveUpdate base paths, as the daemon does. */
  cwd?: string;
  /** now is the clock (ms since the epoch). */
  now?: () => number;
}

export class DashboardModel {
  private readonly cwd: string;
  private readonly now: () => number;
  /** objects by resource, then by `Kind/name`. */
  private readonly byResource = new Map<string, Map<string, KubeObject>>();
  /** resourceOf remembers each object's resource, to move it when its annotation changes. */
  private readonly resourceOf = new Map<string, string>();
  private readonly configMaps = new Map<string, ConfigMap>();
  private targets = new Map<string, Target[]>();
  private queued = new Set<string>();
  private readonly builds = new Map<string, BuildRecord[]>();
  private readonly syncs = new Map<string, SyncRecord[]>();
  private readonly summaries = new Map<string, ResourceSummary>();

  constructor(opts: ModelOptions = {}) {
    this.cwd = opts.cwd ?? process.cwd();
    this.now = opts.now ?? Date.now;
  }

  /**
   * apply records one object event and returns the names of the resources it may have changed.
   * `obj` is the object after the change, or the deleted object with `deleted` true.
   */
  apply(kind: string, obj: KubeObject, deleted = false): string[] {
    const name = obj.metadata.name ?? '';
    if (obj.kind !== kind) obj = { ...obj, kind };
    if (kind === 'ConfigMap') return this.applyConfigMap(obj as ConfigMap, deleted);
    if (kind === 'Session') return this.applySession(obj as Session, deleted);
    const key = `${kind}/${name}`;
    const touched: string[] = [];
    const prevRes = this.resourceOf.get(key);
    const res = resourceName(obj);
    if (prevRes !== undefined && (prevRes !== res || deleted)) {
      this.byResource.get(prevRes)?.delete(key);
      if (this.byResource.get(prevRes)?.size === 0) this.byResource.delete(prevRes);
      this.resourceOf.delete(key);
      touched.push(prevRes);
    }
    if (!deleted && !obj.metadata.deletionTimestamp) {
      const prev = this.byResource.get(res)?.get(key);
      if (kind === 'CmdImage') this.recordBuild(res, obj as CmdImage);
      if (kind === 'LiveUpdate') this.recordSyncs(res, prev as LiveUpdate | undefined, obj as LiveUpdate);
      let objs = this.byResource.get(res);
      if (!objs) this.byResource.set(res, (objs = new Map()));
      objs.set(key, obj);
      this.resourceOf.set(key, res);
      touched.push(res);
    } else if (prevRes === undefined && deleted) {
      touched.push(res);
    }
    return touched;
  }

  private applyConfigMap(cm: ConfigMap, deleted: boolean): string[] {
    const name = cm.metadata.name ?? '';
    if (deleted) this.configMaps.delete(name);
    else this.configMaps.set(name, cm);
    if (name === triggerQueueName) {
      const now = triggerQueueResources(deleted ? undefined : cm);
      const changed = [...new Set([...now, ...this.queued])].filter((r) => now.has(r) !== this.queued.has(r));
      this.queued = now;
      return changed;
    }
    if (name.endsWith('-disable')) return [name.slice(0, -'-disable'.length)];
    return [];
  }

  private applySession(s: Session, deleted: boolean): string[] {
    const next = new Map<string, Target[]>();
    if (!deleted) {
      for (const t of s.status?.targets ?? []) {
        for (const r of t.resources ?? []) {
          let list = next.get(r);
          if (!list) next.set(r, (list = []));
          list.push(t);
        }
      }
    }
    const changed: string[] = [];
    for (const r of new Set([...next.keys(), ...this.targets.keys()])) {
      if (JSON.stringify(next.get(r)) !== JSON.stringify(this.targets.get(r))) changed.push(r);
    }
    this.targets = next;
    return changed;
  }

  /** names lists the resources, sorted. A resource needs an object of a resourceKinds kind. */
  names(): string[] {
    const out: string[] = [];
    for (const [name, objs] of this.byResource) {
      for (const key of objs.keys()) {
        if ((resourceKinds as readonly string[]).includes(key.slice(0, key.indexOf('/')))) {
          out.push(name);
          break;
        }
      }
    }
    return out.sort();
  }

  /** summary computes a resource's overview row; undefined when there is no such resource. */
  summary(name: string): ResourceSummary | undefined {
    const objs = this.byResource.get(name);
    if (!objs || ![...objs.keys()].some((k) => (resourceKinds as readonly string[]).includes(k.slice(0, k.indexOf('/'))))) return undefined;
    const labels = new Set<string>();
    for (const o of objs.values()) for (const [k, v] of Object.entries(o.metadata.labels ?? {})) labels.add(`${k}=${v}`);
    const targets = this.targets.get(name) ?? [];
    const update = targets.find((t) => t.name.endsWith(':update'));
    const runtimes = targets.filter((t) => !t.name.endsWith(':update'));
    const disabled = this.disabledByConfigMap(name) || targets.some((t) => t.state?.disabled);
    const builds = this.builds.get(name) ?? [];
    const lastBuild = builds[0];
    const lastSync = (this.syncs.get(name) ?? [])[0];
    const u = updateState(update?.state);
    const r = runtimeState(runtimes.map((t) => t.state));
    const lus = [...objs.entries()].filter(([k]) => k.startsWith('LiveUpdate/')).map(([, o]) => o as LiveUpdate);
    const luError = lus.map((lu) => lu.status?.failed?.message ?? lu.status?.containers?.find((c) => c.lastExecError)?.lastExecError).find((e) => !!e);
    const summary: ResourceSummary = {
      name,
      objects: [...objs.keys()].sort(),
      labels: [...labels].sort(),
      updateState: disabled ? 'disabled' : u.state,
      updateReason: u.reason,
      runtimeState: disabled ? 'disabled' : r.state,
      runtimeReason: r.reason,
      lastBuild,
      lastSync,
      lastError: disabled ? undefined : (u.state === 'error' ? u.reason : undefined) ?? (r.state === 'error' ? r.reason : undefined) ?? luError,
      disabled,
      triggerQueued: this.queued.has(name),
      canDisable: [...objs.keys()].some((k) => disableableKinds.has(k.slice(0, k.indexOf('/')))),
      revision: revision(objs),
    };
    return summary;
  }

  /**
   * changed recomputes the named resources and returns those whose summary differs from the
   * last one returned (undefined for a resource that is gone).
   */
  changed(names: Iterable<string>): Array<{ name: string; summary?: ResourceSummary }> {
    const out: Array<{ name: string; summary?: ResourceSummary }> = [];
    for (const name of new Set(names)) {
      const prev = this.summaries.get(name);
      const next = this.summary(name);
      if (!next) {
        if (prev) out.push({ name });
        this.summaries.delete(name);
        continue;
      }
      if (prev && JSON.stringify(prev) === JSON.stringify(next)) continue;
      this.summaries.set(name, next);
      out.push({ name, summary: next });
    }
    return out;
  }

  /**
   * all returns every resource's summary, sorted by name. Like summary() and detail() it leaves
   * alone what changed() compares with: a page's snapshot taken between a change and its
   * changed() call must not hide that change from the pages already open.
   */
  all(): ResourceSummary[] {
    return this.names().map((n) => this.summary(n)!);
  }

  /** objectsOf lists a resource's objects. */
  objectsOf(name: string): KubeObject[] {
    return [...(this.byResource.get(name)?.values() ?? [])];
  }

  /** detail computes a resource's page; undefined when there is no such resource. */
  detail(name: string): ResourceDetail | undefined {
    const summary = this.summary(name);
    if (!summary) return undefined;
    const objs = this.byResource.get(name)!;
    const of = <T extends KubeObject>(kind: string) => [...objs.entries()].filter(([k]) => k.startsWith(`${kind}/`)).map(([, o]) => o as T);
    const lus = of<LiveUpdate>('LiveUpdate');
    const syncs = this.syncs.get(name) ?? [];
    const liveUpdates: LiveUpdateView[] = lus.map((lu) => ({
      name: lu.metadata.name ?? '',
      syncs: (lu.spec?.syncs ?? []).map((s) => ({ localPath: s.localPath, containerPath: s.containerPath })),
      stopPaths: lu.spec?.stopPaths ?? [],
      failed: lu.status?.failed ? { reason: lu.status.failed.reason, message: lu.status.failed.message, time: lu.status.failed.lastTransitionTime } : undefined,
      containers: (lu.status?.containers ?? []).map((c) => ({
        name: c.containerName,
        pod: c.podName || undefined,
        id: c.containerID,
        lastFileTimeSynced: c.lastFileTimeSynced,
        lastExecError: c.lastExecError,
        waiting: c.waiting ? [c.waiting.reason, c.waiting.message].filter(Boolean).join(': ') : undefined,
        syncs: syncs.filter((s) => s.liveUpdate === lu.metadata.name && s.container === c.containerName),
      })),
    }));
    const fileWatches: FileWatchView[] = of<FileWatch>('FileWatch').map((fw) => {
      const users = lus.filter((lu) => liveUpdateFileWatches(lu).includes(fw.metadata.name ?? ''));
      return {
        name: fw.metadata.name ?? '',
        watchedPaths: fw.spec?.watchedPaths ?? [],
        ignores: (fw.spec?.ignores ?? []).map((i) => `${i.basePath}: ${(i.patterns ?? ['everything']).join(', ')}`),
        error: fw.status?.error || undefined,
        lastEventTime: fw.status?.lastEventTime,
        events: [...(fw.status?.fileEvents ?? [])].reverse().map((e) => ({
          time: e.time,
          files: e.seenFiles.map((p) => ({ path: p, verdict: this.verdict(p, users, objs) })),
        })),
      };
    });
    return { summary, builds: this.builds.get(name) ?? [], liveUpdates, fileWatches };
  }

  /** verdict says what ferry does with a changed file, by the rules of the LiveUpdates that watch it. */
  private verdict(file: string, lus: LiveUpdate[], objs: Map<string, KubeObject>): string {
    const hasBuild = [...objs.keys()].some((k) => k.startsWith('CmdImage/'));
    if (lus.length === 0) return hasBuild ? 'no live update watches it: rebuilds the image' : 'no live update watches it';
    const out: string[] = [];
    for (const lu of lus) {
      const base = path.resolve(this.cwd, lu.spec?.basePath ?? '.');
      const stop = (lu.spec?.stopPaths ?? []).find((p) => under(file, path.resolve(base, p)));
      if (stop) {
        out.push(`stop path ${stop} of ${lu.metadata.name}: rebuilds the image`);
        continue;
      }
      const sync = (lu.spec?.syncs ?? []).find((s) => under(file, path.resolve(base, s.localPath)));
      if (sync) out.push(`synced by ${lu.metadata.name} to ${sync.containerPath}`);
      else out.push(`matches no sync of ${lu.metadata.name}: ${hasBuild ? 'rebuilds the image' : 'the live update fails'}`);
    }
    return out.join('; ');
  }

  private disabledByConfigMap(resource: string): boolean {
    const v = this.configMaps.get(disableConfigMapName(resource))?.data?.isDisabled;
    return v !== undefined && parseGoBool(v) === true;
  }

  /** recordBuild keeps a CmdImage's finished builds (newest first) and the one running. */
  private recordBuild(res: string, ci: CmdImage): void {
    const image = ci.metadata.name ?? '';
    const list = (this.builds.get(res) ?? []).filter((b) => !(b.building && b.image === image));
    const st = ci.status;
    if (st?.building) {
      list.unshift({ image, startedAt: st.building.startedAt, reason: st.building.reason, building: true });
    } else if (st?.completed) {
      const c = st.completed;
      if (!list.some((b) => b.image === image && b.startedAt === c.startedAt && b.finishedAt === c.finishedAt)) {
        const start = microTimeValue(c.startedAt);
        const finish = microTimeValue(c.finishedAt);
        list.unshift({
          image,
          startedAt: c.startedAt,
          finishedAt: c.finishedAt,
          durationMs: Number.isNaN(start) || Number.isNaN(finish) ? undefined : Math.round((finish - start) / 1000),
          reason: c.reason,
          error: c.error || undefined,
        });
        list.sort((a, b) => Number(!!b.building) - Number(!!a.building) || (microTimeValue(b.startedAt) || 0) - (microTimeValue(a.startedAt) || 0));
      }
    }
    this.builds.set(res, list.slice(0, maxBuilds));
  }

  /** recordSyncs notes each container whose lastFileTimeSynced moved, with the files it carried. */
  private recordSyncs(res: string, prev: LiveUpdate | undefined, lu: LiveUpdate): void {
    const list = this.syncs.get(res) ?? [];
    for (const c of lu.status?.containers ?? []) {
      const before = prev?.status?.containers?.find((p) => p.containerName === c.containerName && p.podName === c.podName);
      const changed = c.lastFileTimeSynced && c.lastFileTimeSynced !== before?.lastFileTimeSynced;
      const execFailed = c.lastExecError && c.lastExecError !== before?.lastExecError;
      if (!changed && !execFailed) continue;
      const time = c.lastFileTimeSynced ?? new Date(this.now()).toISOString();
      const t = microTimeValue(time);
      const from = microTimeValue(before?.lastFileTimeSynced);
      const files = this.filesBetween(res, lu, Number.isNaN(from) ? -Infinity : from, t);
      list.unshift({
        liveUpdate: lu.metadata.name ?? '',
        container: c.containerName,
        time,
        files,
        // A sync that happened before the dashboard saw this LiveUpdate has no latency to tell.
        latencyMs: changed && prev && !Number.isNaN(t) ? Math.max(0, Math.round(this.now() - t / 1000)) : undefined,
        error: c.lastExecError || undefined,
      });
    }
    this.syncs.set(res, list.slice(0, maxSyncs));
  }

  private filesBetween(res: string, lu: LiveUpdate, fromUs: number, toUs: number): string[] {
    const names = liveUpdateFileWatches(lu);
    const out = new Set<string>();
    for (const [key, o] of this.byResource.get(res) ?? []) {
      if (!key.startsWith('FileWatch/') || !names.includes(o.metadata.name ?? '')) continue;
      for (const e of (o as FileWatch).status?.fileEvents ?? []) {
        const t = microTimeValue(e.time);
        if (t > fromUs && t <= toUs) for (const f of e.seenFiles) out.add(f);
      }
    }
    return [...out].slice(0, 100);
  }
}

/** revision hashes the objects' names and resourceVersions (FNV-1a, 32 bits). */
function revision(objs: Map<string, KubeObject>): string {
  let h = 0x811c9dc5;
  for (const [key, o] of objs) {
    const s = `${key}@${o.metadata.resourceVersion ?? ''};`;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  }
  return (h >>> 0).toString(36);
}

/** liveUpdateFileWatches names the FileWatches a LiveUpdate takes changes from (either form). */
function liveUpdateFileWatches(lu: LiveUpdate): string[] {
  return [...(lu.spec?.sources ?? []).map((s) => s.fileWatch ?? ''), ...(lu.spec?.fileWatchNames ?? [])].filter(Boolean);
}

function under(file: string, dir: string): boolean {
  return file === dir || file.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
}

/** updateState reads the `<resource>:update` target. */
function updateState(s: TargetState | undefined): { state: UpdateState; reason?: string } {
  if (!s) return { state: 'none' };
  if (s.disabled) return { state: 'disabled' };
  if (s.active) return { state: 'building', reason: 'building' };
  if (s.terminated) return s.terminated.error ? { state: 'error', reason: s.terminated.error } : { state: 'ok' };
  if (s.waiting) return { state: 'pending', reason: s.waiting.waitReason };
  return { state: 'none' };
}

/** runtimeState combines the runtime and serve targets: the worst one wins. */
function runtimeState(states: Array<TargetState | undefined>): { state: RuntimeState; reason?: string } {
  const each = states.map((s): { state: RuntimeState; reason?: string } => {
    if (!s) return { state: 'none' };
    if (s.disabled) return { state: 'disabled' };
    if (s.terminated) return s.terminated.error ? { state: 'error', reason: s.terminated.error } : { state: 'ok', reason: 'completed' };
    if (s.active) return s.active.ready ? { state: 'ok' } : { state: 'pending', reason: 'not ready' };
    if (s.waiting) return { state: 'pending', reason: s.waiting.waitReason };
    return { state: 'none' };
  });
  const rank: RuntimeState[] = ['error', 'pending', 'ok', 'disabled', 'none'];
  each.sort((a, b) => rank.indexOf(a.state) - rank.indexOf(b.state));
  return each[0] ?? { state: 'none' };
}

/** imageMapOf names the ImageMap a CmdImage fills (its annotation, else its own name). */
export function imageMapOf(ci: KubeObject): string {
  return ci.metadata.annotations?.[annotations.imageMap] || ci.metadata.name || '';
}
