/**
 * FakeProcessRunner records the processes it is asked to start and plays back scripted
 * behaviour, for tests of code that runs commands.
 */
import type { ProcessResult, ProcessRunner, ProcessSpec, RunningProcess } from './runner.ts';

/** FakeScript is how one fake process behaves. */
export interface FakeScript {
  /** lines are delivered to onLine (as stdout) once the process starts. */
  lines?: string[];
  /** run is called with the spec after the lines, and awaited before the process exits. */
  run?: (spec: ProcessSpec) => void | Promise<void>;
  /** exitCode is the exit code. Default 0. */
  exitCode?: number;
  /** signal ends the process by a signal instead of an exit code. */
  signal?: NodeJS.Signals;
  /** error makes the start fail (no such program). */
  error?: Error;
}

/** FakeProcessRunner starts FakeScripts in the order they were queued, then `fallback`. */
export class FakeProcessRunner implements ProcessRunner {
  /** calls are the specs of every start, in order. */
  readonly calls: ProcessSpec[] = [];
  /** running is how many fake processes have not finished yet. */
  running = 0;
  /** maxRunning is the most fake processes that ran at the same time. */
  maxRunning = 0;
  /** fallback is how a start behaves when no script is queued. Default: exit 0 at once. */
  fallback: FakeScript = {};
  private readonly scripts: FakeScript[] = [];
  private nextPid = 1000;

  /** enqueue scripts the next start(s). */
  enqueue(...scripts: FakeScript[]): void {
    this.scripts.push(...scripts);
  }

  start(spec: ProcessSpec): RunningProcess {
    this.calls.push(spec);
    const script = this.scripts.shift() ?? this.fallback;
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    let killed = false;
    let onKill!: () => void;
    const killedPromise = new Promise<'killed'>((resolve) => (onKill = () => resolve('killed')));
    const done = (async (): Promise<ProcessResult> => {
      try {
        await Promise.resolve();
        if (script.error) return { exitCode: null, signal: null, error: script.error };
        for (const line of script.lines ?? []) spec.onLine?.(line, 'stdout');
        // A kill ends the process at once, whatever its script is waiting for.
        const ran = await Promise.race([Promise.resolve(script.run?.(spec)).then(() => 'ran' as const), killedPromise]);
        if (killed || ran === 'killed') return { exitCode: null, signal: 'SIGTERM' };
        if (script.signal) return { exitCode: null, signal: script.signal };
        return { exitCode: script.exitCode ?? 0, signal: null };
      } finally {
        this.running--;
      }
    })();
    spec.signal?.addEventListener('abort', () => {
      killed = true;
      onKill();
    });
    return {
      pid: script.error ? undefined : this.nextPid++,
      done,
      kill: () => {
        killed = true;
        onKill();
      },
    };
  }
}
