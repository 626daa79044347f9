import { defineKind } from './kind.ts';
import { Obj, Opt, Str, StrList, MicroTime, Type, type Static } from './schema.ts';
import { disableSourceField, disableStatusField } from './common.ts';
import { required } from './field-errors.ts';
import type { KubeObject } from './meta.ts';
import { Condition } from './kubernetesapply.ts';

export const IgnoreDef = Obj('Describes sets of file paths that the FileWatch should ignore.', {
  basePath: Str('BasePath is the base path for the patterns. It cannot be empty.\n\nIf no patterns are specified, everything under it will be recursively ignored.'),
  patterns: Opt(StrList('Patterns are dockerignore style rules. Absolute-style patterns will be rooted to the BasePath.\n\nSee https://docs.docker.com/engine/reference/builder/#dockerignore-file.')),
});
export type IgnoreDef = Static<typeof IgnoreDef>;

export const FileWatchSpec = Obj('FileWatchSpec defines the desired state of FileWatch', {
  watchedPaths: StrList('WatchedPaths are paths of directories or files to watch for changes to. It cannot be empty.'),
  ignores: Opt(Type.Array(IgnoreDef, { description: 'Ignores are optional rules to filter out a subset of changes matched by WatchedPaths.' })),
  disableSource: disableSourceField('FileWatch'),
});
export type FileWatchSpec = Static<typeof FileWatchSpec>;

export const FileEvent = Obj('A batch of file changes seen together', {
  time: MicroTime('Time is an approximate timestamp for a batch of file changes.\n\nThis will NOT exactly match any inode attributes (e.g. ctime, mtime) at the filesystem level and is purely informational or for use as an opaque watermark.'),
  seenFiles: StrList('SeenFiles is a list of paths which changed (create, modify, or delete).'),
});
export type FileEvent = Static<typeof FileEvent>;

export const FileWatchStatus = Obj('FileWatchStatus defines the observed state of FileWatch', {
  monitorStartTime: Opt(MicroTime('MonitorStartTime is the timestamp of when filesystem monitor was started. It is zero if the monitor has not been started yet.')),
  lastEventTime: Opt(MicroTime('LastEventTime is the timestamp of the most recent file event. It is zero if no events have been seen yet.\n\nIf the specifics of which files changed are not important, this field can be used as a watermark without needing to inspect FileEvents.')),
  fileEvents: Opt(Type.Array(FileEvent, { description: 'FileEvents summarizes batches of file changes (create, modify, or delete) that have been seen in ascending chronological order. Only the most recent 20 events are included.' })),
  error: Opt(Str('Error is set if there is a problem with the filesystem watch. If non-empty, consumers should assume that no filesystem events will be seen and that the file watcher is in a failed state.')),
  disableStatus: disableStatusField('FileWatch'),
  conditions: Opt(Type.Array(Condition, { description: 'Conditions of the watcher (ferry). `Polling` is True, with its reason (`UnsupportedFilesystem` or `Requested`) and a message, while the paths are watched by polling instead of kernel file events; absent otherwise.' })),
});
export type FileWatchStatus = Static<typeof FileWatchStatus>;

export type FileWatch = KubeObject<FileWatchSpec, FileWatchStatus>;

export const fileWatchKind = defineKind({
  kind: 'FileWatch',
  plural: 'filewatches',
  singular: 'filewatch',
  shortNames: ['fw'],
  description: 'FileWatch specifies a set of paths to watch for changes.',
  hasStatus: true,
  fields: { spec: FileWatchSpec, status: Opt(FileWatchStatus) },
  requiredFields: ['spec'],
  validate(obj: FileWatch) {
    const errs = [];
    if (!obj.spec?.watchedPaths?.length) errs.push(required('spec.watchedPaths', 'cannot be an empty list'));
    obj.spec?.ignores?.forEach((ig, i) => {
      if (!ig.basePath) errs.push(required(`spec.ignores[${i}].basePath`, 'base path cannot be empty'));
    });
    return errs;
  },
  columns: [
    { name: 'Paths', type: 'string', jsonPath: '.spec.watchedPaths', description: 'Watched paths', value: (o) => ((o.spec as FileWatchSpec)?.watchedPaths ?? []).join(',') },
    { name: 'Last Event', type: 'date', jsonPath: '.status.lastEventTime', description: 'Time of the last batch of changes' },
    { name: 'Error', type: 'string', jsonPath: '.status.error', description: 'Watcher error', priority: 1 },
  ],
});
