/** File watching: a FileWatcher interface, its implementations, and the batcher in front of them. */
export type { FileWatcher, FileWatcherFactory, FileWatcherHandlers, FileWatcherOptions } from './file-watcher.ts';
export { rootDirectoryMessage, watchLimitMessage } from './file-watcher.ts';
export { FsWatchWatcher, defaultRescanThreshold, defaultBurstQuietMs } from './fs-watch-watcher.ts';
export { ChokidarWatcher, defaultPollIntervalMs, type ChokidarOptions } from './chokidar-watcher.ts';
export { deliversNoEvents, noEventFilesystems, pollingReason, parseMountInfo, mountOf } from './filesystem.ts';
export { ParcelWatcher } from './parcel-watcher.ts';
export { EventBatcher, defaultQuietMs, defaultMaxBatchMs, tiltQuietMs, type EventBatcherDeps } from './batcher.ts';
export { inotifyWatchCount, inotifyWatchInodes, inotifyWatchesUnder } from './inotify.ts';
