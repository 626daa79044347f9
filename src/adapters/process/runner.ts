/**
 * ProcessRunner runs local commands: an argv (no shell unless the argv is one), a working
 * directory, a complete environment, output delivered line by line, and an exit status. Each
 * process leads its own process group, so kill() reaches everything it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { LineSplitter } from '../../util/lines.ts';

/** OutputStream names where a line came from. */
export type OutputStream = 'stdout' | 'stderr';

/** Timers is the part of a clock the runner uses (runtime's Clock satisfies it). */
export interface Timers {
  setTimeout(fn: () => void, ms: number): object;
  clearTimeout(handle: object): void;
}

/** ProcessSpec describes one command to run. */
export interface ProcessSpec {
  /** argv is the program and its arguments; argv[0] is looked up on PATH. */
  argv: string[];
  /** dir is the working directory. Default: the daemon's. */
  dir?: string;
  /** env is the whole environment of the process. Default: the daemon's. */
  env?: Record<string, string>;
  /** onLine receives each line of output without its line ending, as it is written. */
  onLine?: (line: string, stream: OutputStream) => void;
  /** signal kills the process (see kill) when aborted. */
  signal?: AbortSignal;
}

/** ProcessResult is how a process ended. */
export interface ProcessResult {
  /** exitCode is the exit code, or null when a signal ended the process or it never started. */
  exitCode: number | null;
  /** signal is the signal that ended the process, if one did. */
  signal: NodeJS.Signals | null;
  /** error is set when the process could not be started (e.g. no such program). */
  error?: Error;
}

/** RunningProcess is a started process. */
export interface RunningProcess {
  /** pid is the process id (and process group id), undefined when the spawn failed. */
  readonly pid: number | undefined;
  /** done resolves when the process has exited and its output has been delivered. It never rejects. */
  readonly done: Promise<ProcessResult>;
  /**
   * kill sends SIGTERM to the process group, then SIGKILL after the grace period when the
   * group leader is still running. Calling it again sends nothing new.
   */
  kill(graceMs?: number): void;
}

/** ProcessRunner starts processes; FakeProcessRunner stands in for it in tests. */
export interface ProcessRunner {
  start(spec: ProcessSpec): RunningProcess;
}


/** defaultKillGraceMs is how long kill() waits between SIGTERM and SIGKILL. */
export const defaultKillGraceMs = 5_000;

/** outputDrainMs bounds how long a finished process's output is awaited when a child keeps its pipes open. */
const outputDrainMs = 1_000;

const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** LocalProcessRunner runs processes on this machine with child_process. */
export class LocalProcessRunner implements ProcessRunner {
  private readonly timers: Timers;

  /** LocalProcessRunner takes its timers from `deps.clock`, default the real ones. */
  constructor(deps: { clock?: Timers } = {}) {
    this.timers = deps.clock ?? realTimers;
  }

  start(spec: ProcessSpec): RunningProcess {
    if (!spec.argv.length) throw new Error('a process needs at least one argument');
    const timers = this.timers;
    let child: ChildProcess;
    let spawnError: Error | undefined;
    try {
      child = spawn(spec.argv[0]!, spec.argv.slice(1), {
        cwd: spec.dir || undefined,
        env: spec.env ?? process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (err) {
      spawnError = err as Error;
      return { pid: undefined, done: Promise.resolve(startFailure(spec, spawnError)), kill() {} };
    }

    const onLine = spec.onLine ?? (() => {});
    const splitters = [new LineSplitter((line) => onLine(line, 'stdout')), new LineSplitter((line) => onLine(line, 'stderr'))];
    child.stdout!.on('data', (b: Buffer) => splitters[0]!.write(b));
    child.stderr!.on('data', (b: Buffer) => splitters[1]!.write(b));

    let exited = false;
    let killTimer: object | undefined;
    let killed = false;
    const kill = (graceMs = defaultKillGraceMs) => {
      if (killed || exited || child.pid === undefined) return;
      killed = true;
      signalGroup(child, 'SIGTERM');
      killTimer = timers.setTimeout(() => {
        if (!exited) signalGroup(child, 'SIGKILL');
      }, graceMs);
    };
    const onAbort = () => kill();
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    if (spec.signal?.aborted) queueMicrotask(onAbort);

    const done = new Promise<ProcessResult>((resolve) => {
      let result: ProcessResult | undefined;
      let drainTimer: object | undefined;
      const finish = () => {
        if (!result) return;
        if (drainTimer) timers.clearTimeout(drainTimer);
        if (killTimer) timers.clearTimeout(killTimer);
        spec.signal?.removeEventListener('abort', onAbort);
        for (const s of splitters) s.end();
        const r = result;
        result = undefined;
        resolve(r);
      };
      child.once('error', (err) => {
        if (exited) return;
        exited = true;
        result = startFailure(spec, err);
        finish();
      });
      child.once('exit', (code, signal) => {
        exited = true;
        result = { exitCode: code, signal };
        // Output may still be in the pipes; a background child may also hold them open.
        drainTimer = timers.setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          finish();
        }, outputDrainMs);
      });
      child.once('close', () => finish());
    });
    return { pid: child.pid, done, kill };
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function startFailure(spec: ProcessSpec, err: Error): ProcessResult {
  const code = (err as NodeJS.ErrnoException).code;
  const message =
    code === 'ENOENT' && spec.dir && !spec.argv[0]?.includes('/')
      ? `exec: ${JSON.stringify(spec.argv[0])}: executable file not found in $PATH (or no directory ${spec.dir})`
      : code === 'ENOENT'
        ? `exec: ${JSON.stringify(spec.argv[0])}: executable file not found in $PATH`
        : err.message;
  return { exitCode: null, signal: null, error: new Error(message, { cause: err }) };
}

/**
 * exitStatusString describes how a process ended as Go's os/exec does: `exit status 1`,
 * `signal: killed`, or the start error's message.
 */
export function exitStatusString(r: ProcessResult): string {
  if (r.error) return r.error.message;
  if (r.signal) return `signal: ${signalNames[r.signal] ?? r.signal}`;
  return `exit status ${r.exitCode ?? -1}`;
}

const signalNames: Partial<Record<NodeJS.Signals, string>> = {
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGINT: 'interrupt',
  SIGHUP: 'hangup',
  SIGQUIT: 'quit',
  SIGABRT: 'aborted',
  SIGSEGV: 'segmentation fault',
  SIGPIPE: 'broken pipe',
};

/**
 * mergeEnv layers `KEY=VALUE` lists over a base environment; a later value of a key wins.
 * An entry without `=` sets the key to the empty string.
 */
export function mergeEnv(base: NodeJS.ProcessEnv | Record<string, string>, ...layers: (readonly string[] | undefined)[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  for (const layer of layers) {
    for (const kv of layer ?? []) {
      const i = kv.indexOf('=');
      if (i < 0) env[kv] = '';
      else env[kv.slice(0, i)] = kv.slice(i + 1);
    }
  }
  return env;
}

/**
 * displayArgs renders an argv for messages: `sh -c X` as X, otherwise the arguments joined by
 * spaces, each quoted when it contains a space.
 */
export function displayArgs(argv: readonly string[]): string {
  if (argv.length === 3 && argv[0] === 'sh' && argv[1] === '-c') return argv[2]!;
  return argv.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ');
}
