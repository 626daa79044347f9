/**
 * What the dashboard server sends the page: the shapes of its JSON routes and of the events on
 * its one stream. Types only, shared by the server (src/dashboard) and the page (ui/), which
 * imports them with `import type`.
 */

/** UpdateState is a resource's build and live-update state, as the overview shows it. */
export type UpdateState = 'none' | 'pending' | 'building' | 'ok' | 'error' | 'disabled';
/** RuntimeState is a resource's runtime (container, pod, server process) state. */
export type RuntimeState = 'none' | 'pending' | 'ok' | 'error' | 'disabled';

/** BuildRecord is one CmdImage build, as the dashboard saw it finish (or still running). */
export interface BuildRecord {
  image: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  reason?: string;
  error?: string;
  /** building is true while the build runs. */
  building?: boolean;
}

/** SyncRecord is one live update into one container. */
export interface SyncRecord {
  liveUpdate: string;
  container: string;
  /** time is the newest file event the sync carried (LiveUpdate status `lastFileTimeSynced`). */
  time: string;
  /** files are the changed paths of the FileWatch events the sync covered, as far as known. */
  files: string[];
  /** latencyMs is from the file event to the dashboard seeing the new status: an upper bound. */
  latencyMs?: number;
  error?: string;
}

/** ResourceSummary is one row of the overview. */
export interface ResourceSummary {
  name: string;
  /** objects are the resource's objects as `Kind/name`. */
  objects: string[];
  /** labels are the objects' labels as `key=value`. */
  labels: string[];
  updateState: UpdateState;
  /** updateReason says what the update waits for, or what runs. */
  updateReason?: string;
  runtimeState: RuntimeState;
  runtimeReason?: string;
  lastBuild?: BuildRecord;
  lastSync?: SyncRecord;
  /** lastError is the newest error of the resource's targets, builds and live updates. */
  lastError?: string;
  disabled: boolean;
  /** triggerQueued is true while the resource waits in the trigger queue. */
  triggerQueued: boolean;
  /** canDisable is false when no object of the resource can be disabled. */
  canDisable: boolean;
  /** revision changes whenever any object of the resource changes (the page refetches its detail). */
  revision: string;
}

/** ContainerView is one container a LiveUpdate tracks. */
export interface ContainerView {
  name: string;
  pod?: string;
  id?: string;
  lastFileTimeSynced?: string;
  lastExecError?: string;
  waiting?: string;
  /** syncs are the newest syncs into this container the dashboard saw, newest first. */
  syncs: SyncRecord[];
}

/** LiveUpdateView is a LiveUpdate of the resource and its containers. */
export interface LiveUpdateView {
  name: string;
  syncs: Array<{ localPath: string; containerPath: string }>;
  stopPaths: string[];
  failed?: { reason?: string; message?: string; time?: string };
  containers: ContainerView[];
}

/** FileEventView is one batch of file changes and what ferry did with each file. */
export interface FileEventView {
  time: string;
  files: Array<{ path: string; verdict: string }>;
}

/** FileWatchView is a FileWatch of the resource and its recent events. */
export interface FileWatchView {
  name: string;
  watchedPaths: string[];
  /** ignores are the FileWatch's ignore rules, as `basePath: patterns`. */
  ignores: string[];
  error?: string;
  lastEventTime?: string;
  events: FileEventView[];
}

/** ResourceDetail is what a resource's page shows besides its logs. */
export interface ResourceDetail {
  summary: ResourceSummary;
  builds: BuildRecord[];
  liveUpdates: LiveUpdateView[];
  fileWatches: FileWatchView[];
}

/** LogCategory groups a resource's log lines by what wrote them. */
export type LogCategory = 'build' | 'runtime' | 'sync';

/** LogEntry is one log line of a resource. */
export interface LogEntry {
  seq: number;
  time: string;
  resource: string;
  source: string;
  stream: 'stdout' | 'stderr' | 'ferry';
  category: LogCategory;
  line: string;
}

/**
 * The stream (`GET /api/events`, server-sent events). Every event's id is `<state>.<log>`: the
 * last state change and log line sent so far, so a reconnect (Last-Event-ID) resumes both.
 * - `snapshot`: SnapshotEvent, every resource (first event, and after a resume too old to replay)
 * - `resource`: ResourceSummary, one resource added or changed
 * - `removed`: `{ name }`, a resource gone
 * - `log`: LogEntry[], new log lines of every resource
 */
export interface SnapshotEvent {
  resources: ResourceSummary[];
}
