/**
 * The changes waiting for each selected container, gathered once per reconcile: containers
 * synced up to the same time share one list of files and one plan, and an initial sync walks
 * the sync roots once however many containers it serves.
 */
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'winston';
import type { Condition, LiveUpdateSpec } from '../../src/apis/index.ts';
import { toTime } from '../../src/apis/index.ts';
import { createIgnoreMatcher, type IgnoreMatcher } from '../../src/adapters/ignore/matcher.ts';
import { planArchive, type PlannedArchive } from '../../src/adapters/tar/archive.ts';
import { errorText } from '../../src/util/errors.ts';
import type { Monitor } from './monitor.ts';
import { parentDirMappings, plan, resolveLocal, resolveSyncs, syncRootMappings, type Plan, type PlanReady } from './plan.ts';
import type { FailureReason } from './status.ts';

/** ContainerChanges are the files a container has not seen yet, their time span (µs) and their plan. */
export interface ContainerChanges {
  files: string[];
  /** newest is the time of the newest change: the container's high-water mark once applied. */
  newest: number;
  /** oldest is the time of the oldest change: where a failure caused by them starts. */
  oldest: number;
  plan: Plan;
}

/** PendingChanges computes ContainerChanges by high-water mark, each at most once. */
export class PendingChanges {
  private readonly byMark = new Map<string, Promise<ContainerChanges | { failure: { reason: FailureReason; message: string } }>>();
  private readonly archives = new Map<PlanReady, Promise<PlannedArchive>>();
  private matcher?: IgnoreMatcher;

  constructor(
    private readonly spec: LiveUpdateSpec,
    private readonly mon: Monitor,
    private readonly startedUs: number,
    private readonly nowUs: number,
    private readonly cwd: string | undefined,
    private readonly log: Logger,
  ) {}

  /** forContainer gives the changes after highWaterMark, or every file of the sync roots for an initial sync. */
  forContainer(highWaterMark: number, initial: boolean): Promise<ContainerChanges | { failure: { reason: FailureReason; message: string } }> {
    const key = initial ? 'initial' : String(highWaterMark);
    let p = this.byMark.get(key);
    if (!p) {
      p = initial ? this.initial() : this.since(highWaterMark);
      this.byMark.set(key, p);
    }
    return p;
  }

  /**
   * archiveFor plans the tar of a ready plan once, however many containers receive it (each
   * streams it afresh). Docker extracts as the daemon, so for Docker Compose the directories a
   * copy creates are archived too, to be the container user's as the files are.
   */
  archiveFor(p: PlanReady, initial: boolean): Promise<PlannedArchive> {
    let a = this.archives.get(p);
    if (!a) {
      const parents = this.spec.selector.dockerCompose && !initial ? parentDirMappings(this.spec, p.toCopy) : [];
      a = planArchive([...parents, ...p.toCopy], {
        filter: initial ? this.initialSyncFilter() : undefined,
        onSkip: (localPath, why) => this.log.debug('File not copied', { localPath, why }),
      });
      this.archives.set(p, a);
    }
    return a;
  }

  /** initialSyncFilter is the ignore matcher an initial sync archives through. */
  initialSyncFilter(): IgnoreMatcher {
    this.matcher ??= createIgnoreMatcher(this.mon.ignores());
    return this.matcher;
  }

  private async since(highWaterMark: number): Promise<ContainerChanges> {
    const { files, newest, oldest } = this.mon.changedSince(highWaterMark);
    return { files, newest, oldest, plan: await plan(this.spec, files, { cwd: this.cwd }) };
  }

  private async initial(): Promise<ContainerChanges | { failure: { reason: FailureReason; message: string } }> {
    let files: string[];
    try {
      files = await walkSyncRoots(this.spec, this.initialSyncFilter(), this.log);
    } catch (err) {
      return { failure: { reason: 'InitialSyncError', message: `Failed to collect files for initial sync: ${errorText(err)}` } };
    }
    const { mappings } = await syncRootMappings(this.spec);
    return { files, newest: this.nowUs, oldest: this.startedUs, plan: await plan(this.spec, files, { cwd: this.cwd, mappingsOverride: mappings }) };
  }
}

/** walkSyncRoots lists every file under the sync roots that the ignores keep (initial sync). */
export async function walkSyncRoots(spec: LiveUpdateSpec, matcher: IgnoreMatcher, log: Logger): Promise<string[]> {
  const out: string[] = [];
  // Entries are typed by the listing itself: no stat per file (links are not followed).
  const walkDir = async (dir: string): Promise<void> => {
    if (matcher.matchesEntireDir(dir)) return;
    for (const child of await fsp.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, child.name);
      if (child.isDirectory()) await walkDir(p);
      else if (!matcher.matches(p)) out.push(p);
    }
  };
  const walk = async (p: string): Promise<void> => {
    if ((await fsp.lstat(p)).isDirectory()) return walkDir(p);
    if (!matcher.matches(p)) out.push(p);
  };
  for (const s of resolveSyncs(spec)) {
    try {
      await fsp.stat(s.localPath);
    } catch {
      log.warn('Initial sync: sync path does not exist', { localPath: s.localPath });
      continue;
    }
    await walk(s.localPath);
  }
  return [...new Set(out)].sort();
}

/** syncPathsCondition is the LiveUpdate condition that is False while a sync's localPath does not exist. */
export const syncPathsCondition = 'SyncPathsFound';

/**
 * syncPathConditions checks that every sync's localPath exists. When some do not, it is one
 * condition `SyncPathsFound` False (reason `SyncPathNotFound`) naming them, keeping prev's
 * transition time while the message is the same; when all exist, none. The live update goes on
 * for the others: a missing path may be a build output not made yet, or a typo the user sees here.
 */
export function syncPathConditions(spec: LiveUpdateSpec, prev: readonly Condition[] | undefined, now: Date): Condition[] {
  const missing = (spec.syncs ?? []).filter((s) => !existsSync(resolveLocal(spec.basePath, s.localPath)));
  if (missing.length === 0) return [];
  const shown = missing.map((s) => JSON.stringify(s.localPath));
  const message = `sync localPath ${shown.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist (basePath ${spec.basePath}): nothing is synced from it until it does`;
  const old = prev?.find((c) => c.type === syncPathsCondition);
  const lastTransitionTime = old?.status === 'False' && old.lastTransitionTime ? old.lastTransitionTime : toTime(now);
  return [{ type: syncPathsCondition, status: 'False', reason: 'SyncPathNotFound', message, lastTransitionTime }];
}
