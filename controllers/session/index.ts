/**
 * The Session controller: targets for every resource and the exit condition of a run.
 * `setup` wires it into a Manager; `ensureDefaultSession` creates the daemon's `Tiltfile` Session.
 */
import type { Logger } from 'winston';
import type { Clock, Controller, Manager, Predicate } from '../../src/runtime/index.ts';
import { SessionReconciler, inputKinds, kind } from './reconciler.ts';
import { isDisableConfigMapName } from './status.ts';

export { SessionReconciler, ensureDefaultSession, defaultSessionName, inputKinds, type SessionReconcilerDeps } from './reconciler.ts';
export {
  computeSessionStatus,
  computeTargets,
  processExitCondition,
  ciSettings,
  cmdTargetType,
  cmdTypeAnnotation,
  defaultCITimeoutMs,
  defaultReadinessTimeoutMs,
  type SessionInputs,
  type CISettings,
} from './status.ts';

/** SessionSetupDeps are what `setup` needs beyond the manager. */
export interface SessionSetupDeps {
  /** log is the parent logger. Default: the manager's. */
  log?: Logger;
  /** clock decides timeouts and grace periods. Default: the manager's. */
  clock?: Clock;
  /** cwd is the daemon's working directory (accepted for symmetry with the other controllers; unused). */
  cwd?: string;
  /** pid is the daemon's process id written to status.pid. Default process.pid. */
  pid?: number;
}

/**
 * setup registers the Session controller with the manager: every Session is recomputed when a
 * Session or any object it summarises changes, and when a timeout or grace period ends.
 */
export function setup(mgr: Manager, deps: SessionSetupDeps = {}): { controller: Controller; reconciler: SessionReconciler } {
  const reconciler = new SessionReconciler({
    client: mgr.client,
    cache: mgr.cache,
    clock: deps.clock ?? mgr.clock,
    log: (deps.log ?? mgr.log).child({ controller: 'session' }),
    pid: deps.pid,
  });
  const allSessions = () => mgr.cache.list(kind).map((s) => s.metadata.name!);
  let builder = mgr.controller('session').for(kind);
  for (const k of inputKinds) {
    // Of the ConfigMaps, only a resource's disable ConfigMap changes a Session.
    const predicate: Predicate | undefined = k === 'ConfigMap' ? (ev) => isDisableConfigMapName(ev.obj.metadata.name) : undefined;
    builder = builder.watches(k, allSessions, predicate);
  }
  const controller = builder.complete(reconciler);
  return { controller, reconciler };
}
