/**
 * The channel agent: a POSIX `sh` script started once per container (one exec, the container's
 * user) that reads framed operations on stdin and acknowledges each with one line on stdout.
 *
 * A frame is a header line `OP SEQ SIZE MODE UMASK MTIME`, a path line, then OP's body:
 *
 * - `W` write a file: SIZE content bytes, then the trailer line `E SEQ ok` (or `E SEQ abort`:
 *   the file changed while it was sent; the temporary file is dropped). The content goes to a
 *   temporary name in the same directory, gets its mode (UMASK, or `chmod MODE` when UMASK is
 *   `-`) and its mtime (MTIME, seconds since the epoch, by `touch -d @MTIME`: busybox runs it
 *   without a process, about 0.15 ms; where touch cannot, the file keeps its arrival time),
 *   then is renamed over the path: an application's own watcher sees one complete file.
 * - `M` make a directory (`mkdir -p`, `chmod MODE`).
 * - `L` make a symlink: the target on the next line (`ln -sfn`).
 * - `D` delete (`rm -rf`).
 * - `N` make sure a directory exists (`mkdir -p` with the agent's umask when it does not; no
 *   process started when it does).
 * - `T` extract a tar: the header's MODE is the byte length of the list of directories that
 *   receive files (`/app/src`, one a line) that follows the path line (unused); then SIZE bytes
 *   of a tar stream, then the trailer `E SEQ ok`. The tar holds each file of directory D as
 *   `D/.ferry-PID-SEQ/NAME` (PID the agent's, SEQ the frame's): a staging directory inside D,
 *   so a rename stays on one filesystem and no two frames or agents share a name. It is
 *   extracted at `/` by one `tar -x -o` under umask 0 (exact modes, the archive's mtimes, the
 *   agent's user as owner); then each staging directory's entries are renamed into D by one
 *   `mv -f` (and one more for dotfiles when there are: the names come from globs, so no
 *   process is started per file), and every staging directory is removed by one `rm -rf`,
 *   whatever happened: an application's watcher sees each file appear whole, by a rename.
 *   Where `mv` fails (a directory in the way of a file), the directories in the way are removed
 *   and it is tried once more. A file (or a link to no directory) where D goes is removed
 *   before the extraction: not every tar replaces a file by a directory. Whatever tar leaves
 *   unread is drained, so the next frame starts where it should even when tar fails.
 *   Directories and symlinks in the tar are extracted in place. An agent killed mid-frame
 *   leaves its staging directories: ferry removes them on the per-call path.
 * - `P` heartbeat.
 *
 * Answers: `SEQ ok`, `SEQ err WHAT`, `SEQ aborted`; `SEQ desync` (a trailer that does not match
 * its header: a frame boundary was lost) ends the agent. The first line is
 * `ferry-agent 1 PID TAR`, TAR being `tar` when the container has a `tar` (`T` frames work)
 * and `-` otherwise. Paths and link targets cannot hold a newline (they go per call).
 *
 * Content is read with `dd iflag=fullblock`, which reads exactly the bytes asked for from a
 * pipe. busybox's `head -c` reads ahead through stdio and swallows the next frames (measured:
 * `printf abcdef | head -c 2 >/dev/null; cat` prints nothing), so it cannot be used; plain `dd`
 * without fullblock stops at a short read of the pipe. Up to 1 MiB is copied by one `dd` (one
 * process for a whole small file or tar frame); more, 64 KiB at a time, so a large file is never
 * held whole. An image whose `dd` lacks fullblock says so at start and
 * gets the per-call path.
 */

/** agentGreeting starts the agent's first line; the protocol version and its pid follow. */
export const agentGreeting = 'ferry-agent 1 ';

/** agentScript is the agent's source, run as `sh -c agentScript`. */
export const agentScript = `exec 2>/dev/null
dd if=/dev/null of=/dev/null bs=1 count=0 iflag=fullblock || { echo 'ferry-agent unsupported dd'; exit 3; }
u0=$(umask)
copy() {
  if [ "$1" -le 1048576 ]; then
    [ "$1" -eq 0 ] || dd bs="$1" count=1 iflag=fullblock || return 1
    return 0
  fi
  q=$(($1 / 65536)) r=$(($1 % 65536))
  if [ "$q" -gt 0 ]; then dd bs=65536 count="$q" iflag=fullblock || return 1; fi
  if [ "$r" -gt 0 ]; then dd bs="$r" count=1 iflag=fullblock || return 1; fi
  return 0
}
place() {
  set -f; IFS='
'
  for d in $1; do
    set +f; unset IFS; d=\${d%/} s=\${d%/}/.ferry-$$-$seq
    movein || { unblock && movein; } || return 1
  done
  set +f; unset IFS
}
movein() {
  k=0
  set -- "$s"/*; if [ -e "$1" ] || [ -L "$1" ]; then mv -f "$@" "$d/" || k=1; fi
  set -- "$s"/.[!.]*; if [ -e "$1" ] || [ -L "$1" ]; then mv -f "$@" "$d/" || k=1; fi
  set -- "$s"/..?*; if [ -e "$1" ] || [ -L "$1" ]; then mv -f "$@" "$d/" || k=1; fi
  return "$k"
}
unblock() {
  for f in "$s"/* "$s"/.[!.]* "$s"/..?*; do
    n=$d/\${f##*/}
    if [ -d "$n" ] && [ ! -L "$n" ] && { [ -e "$f" ] || [ -L "$f" ]; }; then rm -rf "$n" || return 1; fi
  done
}
unstage() {
  [ -z "$1" ] && return
  set -f; IFS='
'
  rm -rf $1
  set +f; unset IFS
}
tx=-; command -v tar >/dev/null && tx=tar
echo "${agentGreeting}$$ $tx"
while IFS=' ' read -r op seq size mode um mt; do
  IFS= read -r p || exit 0
  case $op in
  W)
    d="\${p%/*}/" t="\${p%/*}/.\${p##*/}.ferry$$" ok=1
    [ -d "$d" ] || { umask "$u0"; mkdir -p "$d"; }
    if [ "$um" = - ]; then umask 077; else umask "$um"; fi
    if { : >"$t"; } 2>/dev/null; then copy "$size" >"$t" || ok=0; else copy "$size" >/dev/null; ok=0; fi
    IFS=' ' read -r e s how
    if [ "$e $s" != "E $seq" ]; then rm -f "$t"; echo "$seq desync"; exit 2; fi
    if [ "$how" != ok ]; then rm -f "$t"; echo "$seq aborted"; continue; fi
    if [ "$ok" = 1 ] && { [ "$um" != - ] || chmod "$mode" "$t"; }; then
      [ "$mt" = - ] || touch -c -d "@$mt" "$t" || :
      { [ ! -d "$p" ] || [ -L "$p" ] || rm -rf "$p"; } && mv -f "$t" "$p" && { echo "$seq ok"; continue; }
    fi
    rm -f "$t"; echo "$seq err write"
    ;;
  M) umask "$u0"; { [ -d "$p" ] || mkdir -p "$p"; } && chmod "$mode" "$p" && echo "$seq ok" || echo "$seq err mkdir" ;;
  L) IFS= read -r target; ln -sfn "$target" "$p" && echo "$seq ok" || echo "$seq err symlink" ;;
  D) rm -rf "$p" && echo "$seq ok" || echo "$seq err delete" ;;
  N) { [ -d "$p" ] || { umask "$u0"; mkdir -p "$p"; }; } && echo "$seq ok" || echo "$seq err mkdir" ;;
  T)
    umask 0 l= u=
    if [ "$mode" != 0 ]; then l=$(dd bs="$mode" count=1 iflag=fullblock); fi
    set -f; IFS='
'
    for d in $l; do
      u="$u\${d%/}/.ferry-$$-$seq
"
      [ -d "$d" ] || { [ ! -e "$d" ] && [ ! -L "$d" ]; } || rm -f "$d"
    done
    set +f; unset IFS
    copy "$size" | (tar -x -o -f - -C /; r=$?; cat >/dev/null; exit "$r"); r=$?
    IFS=' ' read -r e s how
    if [ "$e $s" != "E $seq" ]; then unstage "$u"; echo "$seq desync"; exit 2; fi
    [ "$r" = 0 ] && place "$l" || r=1
    unstage "$u"
    if [ "$r" = 0 ]; then echo "$seq ok"; else echo "$seq err tar"; fi
    ;;
  P) echo "$seq ok" ;;
  *) echo "$seq desync"; exit 2 ;;
  esac
done
`;

/** agentCommand is the argv that starts the agent. */
export const agentCommand = ['sh', '-c', agentScript];

/** octal renders a mode as the agent reads it (`0644`). */
export function octal(mode: number): string {
  return '0' + (mode & 0o7777).toString(8).padStart(3, '0');
}

/**
 * umaskFor is the umask that gives a new file exactly `mode` (`dd` creates files 0666 less the
 * umask), or `-` when only a chmod can (execute or special bits).
 */
export function umaskFor(mode: number): string {
  if ((mode & 0o7777 & ~0o666) !== 0) return '-';
  return octal(~mode & 0o777);
}

/** tarHeader is a `T` frame's first two lines: a tar of size bytes after a directory list of listBytes. */
export function tarHeader(seq: number, size: number, listBytes: number): Buffer {
  return Buffer.from(`T ${seq} ${size} ${listBytes} - -\n/\n`, 'utf8');
}

/** header is a frame's first two lines. */
export function header(op: 'W' | 'M' | 'N' | 'L' | 'D' | 'P', seq: number, path: string, size = 0, mode = 0, mtime?: Date): Buffer {
  const um = op === 'W' ? umaskFor(mode) : '-';
  const mt = mtime ? String(Math.floor(mtime.getTime() / 1000)) : '-';
  return Buffer.from(`${op} ${seq} ${size} ${octal(mode)} ${um} ${mt}\n${path}\n`, 'utf8');
}

/** trailer ends a `W` frame: `ok` keeps the file, `abort` drops it. */
export function trailer(seq: number, keep: boolean): Buffer {
  return Buffer.from(`E ${seq} ${keep ? 'ok' : 'abort'}\n`);
}

/** framable is false for a path or link target the agent's line-based frames cannot carry. */
export function framable(text: string): boolean {
  return !text.includes('\n') && !text.includes('\0');
}
