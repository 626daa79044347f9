/**
 * Planning a live update: which changed files go where, which are deleted, which stop the
 * update, and which commands run. Only the file system is read (stat); nothing is changed.
 */
import { promises as fsp, lstatSync } from 'node:fs';
import * as path from 'node:path';
import type { LiveUpdateExec, LiveUpdateSpec } from '../../src/apis/index.ts';
import type { PathMapping } from '../../src/adapters/tar/archive.ts';

/** ResolvedSync is a sync with its local path made absolute. */
export interface ResolvedSync {
  localPath: string;
  containerPath: string;
}

/** resolveSyncs joins relative local paths to basePath, keeping spec order. */
export function resolveSyncs(spec: LiveUpdateSpec): ResolvedSync[] {
  return (spec.syncs ?? []).map((s) => ({ localPath: resolveLocal(spec.basePath, s.localPath), containerPath: s.containerPath }));
}

/** resolveLocal makes p absolute against basePath (absolute paths are kept), cleaned. */
export function resolveLocal(basePath: string, p: string): string {
  return path.resolve(basePath, p);
}

/** isUnderOrEqual is true when p is dir itself or lies below it. */
export function isUnderOrEqual(p: string, dir: string): boolean {
  if (p === dir) return true;
  const rel = path.relative(dir, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** PlanStop is a plan that cannot be applied: the LiveUpdate fails with `reason`. */
export interface PlanStop {
  ok: false;
  reason: 'UpdateStopped' | 'Invalid';
  message: string;
}

/** PlanReady is a plan that can be applied to a container. */
export interface PlanReady {
  ok: true;
  /** mappings are all the changed files with a sync (existing or deleted), in file order. */
  mappings: PathMapping[];
  /** toCopy are the mappings whose local path exists. */
  toCopy: PathMapping[];
  /** toDelete are the mappings whose local path no longer exists. */
  toDelete: PathMapping[];
  /** execs are the commands that run, in spec order. */
  execs: LiveUpdateExec[];
  /** hasWork is false when nothing would be synced and nothing run. */
  hasWork: boolean;
}

export type Plan = PlanStop | PlanReady;

/** PlanOptions tune plan(). */
export interface PlanOptions {
  /** cwd is where "not matching any sync" paths are shown from. Default process.cwd(). */
  cwd?: string;
  /**
   * mappingsOverride replaces the per-file mappings (initial sync archives the sync roots
   * themselves); the files are still checked against stop paths and exec triggers.
   */
  mappingsOverride?: PathMapping[];
}

/**
 * plan maps changed files (absolute, sorted, unique) to an update for one container.
 *
 * A file at or under a stop path stops the update (named in the message); then each file takes
 * the first sync whose local path is the file or an ancestor of it, and files that match no sync
 * stop the update. A LiveUpdate with execs
 * and no syncs runs its execs on any change instead. Mapped files that no longer exist become
 * deletions. Execs without triggerPaths always run; the others run when a mapped file (deleted
 * ones included) is or lies under one of their trigger paths.
 */
export async function plan(spec: LiveUpdateSpec, files: string[], opts: PlanOptions = {}): Promise<Plan> {
  const syncs = resolveSyncs(spec);
  const execsOnly = syncs.length === 0 && (spec.execs?.length ?? 0) > 0;

  // A stop path is named as such, even outside every sync (Tilt checks the syncs first and
  // reports such a file as "not matching any sync").
  const stops = (spec.stopPaths ?? []).map((p) => resolveLocal(spec.basePath, p));
  const stopped = [...files].sort().find((f) => stops.some((s) => isUnderOrEqual(f, s)));
  if (stopped !== undefined) return { ok: false, reason: 'UpdateStopped', message: `Detected change to stop file ${JSON.stringify(stopped)}` };

  let mappings: PathMapping[] = [];
  let localFiles: string[];
  if (execsOnly) {
    localFiles = files;
  } else {
    const mapped = await filesToPathMappings(files, syncs);
    if ('error' in mapped) return { ok: false, reason: 'UpdateStopped', message: `No update plan: ${mapped.error}` };
    if (mapped.unmatched.length > 0) {
      return { ok: false, reason: 'UpdateStopped', message: `Found file(s) not matching any sync (files: ${goFileList(mapped.unmatched, opts.cwd)})` };
    }
    mappings = mapped.mappings;
    localFiles = mappings.map((m) => m.localPath);
  }

  const toCopy: PathMapping[] = [];
  const toDelete: PathMapping[] = [];
  if (opts.mappingsOverride) {
    toCopy.push(...opts.mappingsOverride);
  } else {
    const exists = await mapWindowed(mappings, 256, async (m) => {
      try {
        // Synchronous: ten thousand thread-pool round trips cost far more than the stats.
        return lstatSync(m.localPath, { throwIfNoEntry: false }) !== undefined;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return false;
        return err as Error;
      }
    });
    for (let i = 0; i < mappings.length; i++) {
      const r = exists[i];
      if (r instanceof Error) return { ok: false, reason: 'Invalid', message: `Mapping paths: ${r.message}` };
      (r ? toCopy : toDelete).push(mappings[i]!);
    }
  }

  const execs = (spec.execs ?? []).filter((e) => {
    if (!e.triggerPaths?.length) return true;
    const triggers = e.triggerPaths.map((t) => resolveLocal(spec.basePath, t));
    return localFiles.some((f) => triggers.some((t) => isUnderOrEqual(f, t)));
  });
  const hasWork = execsOnly ? files.length > 0 : mappings.length > 0 || toCopy.length > 0;
  return { ok: true, mappings: opts.mappingsOverride ?? mappings, toCopy, toDelete, execs: hasWork ? execs : [], hasWork };
}

/**
 * filesToPathMappings gives each file the container path of its first matching sync, or lists it
 * as unmatched. A sync whose local path is a file and whose container path ends in `/` copies
 * into that directory. A sync root that cannot be stat'ed fails the whole mapping. Each mapping
 * names its sync root as the root below which no link is followed.
 */
export async function filesToPathMappings(
  files: string[],
  syncs: ResolvedSync[],
): Promise<{ mappings: PathMapping[]; unmatched: string[] } | { error: string }> {
  const rootIsFile = new Map<string, boolean>();
  const mappings: PathMapping[] = [];
  const unmatched: string[] = [];
  for (const f of files) {
    const sync = syncs.find((s) => isUnderOrEqual(f, s.localPath));
    if (!sync) {
      unmatched.push(f);
      continue;
    }
    let isFile = rootIsFile.get(sync.localPath);
    if (isFile === undefined) {
      try {
        isFile = !(await fsp.stat(sync.localPath)).isDirectory();
      } catch (err) {
        return { error: `error stat'ing: ${(err as Error).message}` };
      }
      rootIsFile.set(sync.localPath, isFile);
    }
    let containerPath: string;
    if (isFile && sync.containerPath.endsWith('/')) {
      containerPath = sync.containerPath + path.basename(sync.localPath);
    } else {
      const rel = path.relative(sync.localPath, f).split(path.sep).join('/');
      containerPath = rel === '' ? sync.containerPath : path.posix.join(sync.containerPath, rel);
    }
    // No link below the sync root is followed to reach the file when it is archived.
    mappings.push({ localPath: f, containerPath, root: isFile ? undefined : sync.localPath });
  }
  return { mappings, unmatched };
}

/** syncRootMappings maps each sync root that exists to its container path (initial sync). */
export async function syncRootMappings(spec: LiveUpdateSpec): Promise<{ mappings: PathMapping[]; missing: string[] }> {
  const mappings: PathMapping[] = [];
  const missing: string[] = [];
  for (const s of resolveSyncs(spec)) {
    try {
      await fsp.stat(s.localPath);
      mappings.push(s);
    } catch {
      missing.push(s.localPath);
    }
  }
  return { mappings, missing };
}

/**
 * goFileList prints paths as Go prints a []string, the first five only: `[a b c d e ...]`.
 * Paths under cwd are shown relative to it.
 */
export function goFileList(files: string[], cwd = process.cwd()): string {
  const shown = files.slice(0, 5).map((f) => displayPath(f, cwd));
  if (files.length > 5) shown.push('...');
  return `[${shown.join(' ')}]`;
}

/** displayPath shows p relative to cwd when it lies under it, else as it is. */
export function displayPath(p: string, cwd: string): string {
  if (p !== cwd && isUnderOrEqual(p, cwd)) return path.relative(cwd, p);
  return p;
}

/**
 * parentDirMappings lists, parents first, the directories between each copied file and its
 * sync root (both included) as directory-only mappings. Archived ahead of the files, they give
 * the directories a copy creates to the container's user, as the files are.
 */
export function parentDirMappings(spec: LiveUpdateSpec, toCopy: PathMapping[]): PathMapping[] {
  const syncs = resolveSyncs(spec);
  const dirs = new Map<string, string>();
  for (const m of toCopy) {
    const sync = syncs.find((s) => isUnderOrEqual(m.localPath, s.localPath));
    if (!sync || sync.localPath === m.localPath) continue;
    for (let d = path.dirname(m.localPath); isUnderOrEqual(d, sync.localPath); d = path.dirname(d)) {
      if (dirs.has(d)) break;
      const rel = path.relative(sync.localPath, d).split(path.sep).join('/');
      dirs.set(d, rel === '' ? sync.containerPath : path.posix.join(sync.containerPath, rel));
      if (d === sync.localPath) break;
    }
  }
  return [...dirs.entries()]
    .sort(([a], [b]) => a.length - b.length || (a < b ? -1 : 1))
    .map(([localPath, containerPath]) => ({ localPath, containerPath, directoryOnly: true }));
}

/** mapWindowed maps items with at most `window` calls in flight, keeping order. */
async function mapWindowed<T, R>(items: T[], window: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += window) out.push(...(await Promise.all(items.slice(i, i + window).map(fn))));
  return out;
}
