/** File watching: a FileWatcher interface, its implementations, and the batcher in front of them. */
export type { FileWatcher, FileWatcherFactory, FileWatcherHandlers, FileWatcherOptions } from './file-watcher.ts';
export { rootDirectoryMessage, watchLimitMessage } from './file-watcher.ts';
export { FsWatchWatcher, defaultRescanThreshold, defaultBurstQuietMs } from './fs-watch-watcher.ts';
export { ChokidarWatcher } from './chokidar-watcher.ts';
export { ParcelWatcher } from './parcel-watcher.ts';
export { EventBatcher, defaultQuietMs, defaultMaxBatchMs } from './batcher.ts';
export { inotifyWatchCount, inotifyWatchInodes, inotifyWatchesUnder } from './inotify.ts';
