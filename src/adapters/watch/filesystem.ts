/**
 * Which filesystems deliver no kernel file events (inotify) for changes made elsewhere: network
 * mounts, FUSE mounts, shared folders of virtual machines and WSL's Windows drives. A FileWatch
 * on one of them is watched by polling.
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * noEventFilesystems are filesystem types (as /proc/self/mountinfo names them) on which a change
 * made by another machine, the host or Windows raises no inotify event here. `fuse.*` covers every
 * FUSE filesystem (sshfs, rclone, gcsfuse, ...).
 */
export const noEventFilesystems = [
  'nfs',
  'nfs4',
  'cifs',
  'smb3',
  'smbfs',
  'ncpfs',
  'fuse',
  'fuseblk',
  '9p', // WSL 2's Windows drives, QEMU shares
  'drvfs', // WSL 1's Windows drives
  'vboxsf', // VirtualBox shared folders
  'vmhgfs', // VMware shared folders
  'prl_fs', // Parallels shared folders
  'afs',
  'ceph',
  'glusterfs',
  'lustre',
] as const;

/** Mount is one line of /proc/self/mountinfo: where it is mounted and its filesystem type. */
export interface Mount {
  mountPoint: string;
  fsType: string;
}

/** parseMountInfo reads the text of /proc/self/mountinfo (see proc(5)). */
export function parseMountInfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    if (sep < 5 || fields.length < sep + 2) continue;
    out.push({ mountPoint: unescapeMountPath(fields[4]!), fsType: fields[sep + 1]! });
  }
  return out;
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** mountOf is the mount holding the absolute path p: the one with the longest mount point above it (the last one mounted wins a tie). */
export function mountOf(p: string, mounts: readonly Mount[]): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) {
    const under = m.mountPoint === '/' || p === m.mountPoint || p.startsWith(m.mountPoint + '/');
    if (under && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/** deliversNoEvents is true for the filesystem types of noEventFilesystems, and every `fuse.*`. */
export function deliversNoEvents(fsType: string): boolean {
  return (noEventFilesystems as readonly string[]).includes(fsType) || fsType.startsWith('fuse.');
}

/**
 * pollingReason says why paths must be polled: `"<path> is on <type>"` for the first path
 * (resolved through its links when it exists) on a filesystem that delivers no events;
 * undefined when every path can be watched with kernel events, or when the mounts cannot be
 * read (not Linux).
 */
export function pollingReason(paths: readonly string[], mountInfoText?: string): string | undefined {
  let text = mountInfoText;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      return undefined;
    }
  }
  const mounts = parseMountInfo(text);
  for (const p of paths) {
    const m = mountOf(resolved(path.resolve(p)), mounts);
    if (m && deliversNoEvents(m.fsType)) return `${p} is on ${m.fsType}`;
  }
  return undefined;
}

/** resolved is p through its links when it exists, else p as written (a path not created yet). */
function resolved(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}
