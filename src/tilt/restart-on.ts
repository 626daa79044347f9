/**
 * Tilt's `restartOn`: a Cmd or KubernetesApply runs again when a FileWatch it names sees a file
 * event newer than its last run.
 */
import type { FileWatch } from '../apis/filewatch.ts';
import { microTimeValue } from '../apis/meta.ts';

/**
 * lastRestartEventUs is the time (µs since the epoch) of the newest file event among the
 * FileWatches named in `restartOn.fileWatches` (NaN when there is none). A FileWatch that is
 * missing or disabled contributes nothing.
 */
export function lastRestartEventUs(fileWatches: readonly string[] | undefined, getFileWatch: (name: string) => FileWatch | undefined): number {
  let best = NaN;
  for (const name of fileWatches ?? []) {
    const fw = getFileWatch(name);
    if (!fw || fw.status?.disableStatus?.disabled) continue;
    const times = [fw.status?.lastEventTime, ...(fw.status?.fileEvents ?? []).map((e) => e.time)];
    for (const t of times) {
      const us = microTimeValue(t);
      if (!Number.isNaN(us) && !(us <= best)) best = us;
    }
  }
  return best;
}
