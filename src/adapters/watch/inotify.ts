import fs from 'node:fs';
import path from 'node:path';

/**
 * inotifyWatchInodes lists the inode numbers this process holds inotify watches on, read from
 * /proc/self/fdinfo of its inotify descriptors (Linux only; empty elsewhere).
 */
export function inotifyWatchInodes(): number[] {
  const inodes: number[] = [];
  let fds: string[];
  try {
    fds = fs.readdirSync('/proc/self/fd');
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== 'anon_inode:inotify') continue;
    let info: string;
    try {
      info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of info.split('\n')) {
      const m = /^inotify wd:\S+ ino:([0-9a-f]+) /.exec(line);
      if (m) inodes.push(parseInt(m[1]!, 16));
    }
  }
  return inodes;
}

/** inotifyWatchCount is the number of inotify watches this process holds. */
export function inotifyWatchCount(): number {
  return inotifyWatchInodes().length;
}

/**
 * inotifyWatchesUnder counts this process's inotify watches on dir or anything below it
 * (matched by inode number; symbolic links are not followed).
 */
export function inotifyWatchesUnder(dir: string): number {
  const watched = new Set(inotifyWatchInodes());
  if (watched.size === 0) return 0;
  let n = 0;
  const visit = (p: string): void => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return;
    }
    if (watched.has(st.ino)) n++;
    if (!st.isDirectory()) return;
    for (const name of fs.readdirSync(p)) visit(path.join(p, name));
  };
  visit(dir);
  return n;
}
