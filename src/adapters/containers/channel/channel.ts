import type { Clock, TimerHandle } from '../../../util/clock.ts';
import type { ContainerTarget } from '../updater.ts';
import { agentCommand, agentGreeting, header } from './agent.ts';
import type { AgentProcess, AgentTransport } from './transport.ts';

/** ChannelTimings bound a channel in time. */
export interface ChannelTimings {
  /** openTimeoutMs bounds the start of the agent, up to its greeting. Default 10,000. */
  openTimeoutMs?: number;
  /**
   * ackTimeoutMs is the longest a channel may go without progress (an acknowledgement, or
   * bytes taken by the container) while an answer is due; then it is killed. Default 10,000.
   */
  ackTimeoutMs?: number;
  /** heartbeatMs is the time between two heartbeats of an idle channel. Default 15,000. */
  heartbeatMs?: number;
}

/** NoAgentError says the container cannot run the agent (no `sh`, no usable `dd`): a fact of its image. */
export class NoAgentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoAgentError';
  }
}

/** ChannelClosedError is an operation that never got its answer: the channel died or was killed. */
export class ChannelClosedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChannelClosedError';
  }
}

/** Answer is the agent's answer to one frame: `ok`, `aborted` or `err WHAT`. */
export type Answer = string;

/** FrameWriter writes frames while it holds the channel (see Channel.exclusive). */
export interface FrameWriter {
  /** nextSeq reserves the sequence number of the next frame. */
  nextSeq(): number;
  /** answer registers seq and resolves with its answer (rejects when the channel dies first). */
  answer(seq: number): Promise<Answer>;
  /** write sends bytes; it resolves when more may be sent. */
  write(data: Buffer): Promise<void>;
}

/**
 * Channel is one running agent in one container: frames go out in order, answers come back in
 * order. Every answer has a deadline (no progress for ackTimeoutMs kills the channel) and an
 * idle channel sends heartbeats. Once dead it stays dead: `closed` resolves with why.
 */
export class Channel {
  readonly pid: number;
  /** tar is true when the container has a `tar`: the agent extracts `T` frames. */
  readonly tar: boolean;
  /** closed resolves with the reason once the channel is over (exited, killed or closed). */
  readonly closed: Promise<string>;
  private readonly proc: AgentProcess;
  private readonly transport: AgentTransport;
  private readonly target: ContainerTarget;
  private readonly clock: Clock;
  private readonly ackTimeoutMs: number;
  private readonly heartbeatMs: number;
  private readonly pending = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  private seq = 0;
  private writing = 0;
  private deadline: TimerHandle | undefined;
  private heartbeat: TimerHandle | undefined;
  private lock: Promise<void> = Promise.resolve();
  private busy = 0;
  private endedWith: string | undefined;
  private resolveClosed!: (why: string) => void;

  private constructor(proc: AgentProcess, pid: number, tar: boolean, transport: AgentTransport, target: ContainerTarget, clock: Clock, t: ChannelTimings) {
    this.proc = proc;
    this.pid = pid;
    this.tar = tar;
    this.transport = transport;
    this.target = target;
    this.clock = clock;
    this.ackTimeoutMs = t.ackTimeoutMs ?? 10_000;
    this.heartbeatMs = t.heartbeatMs ?? 15_000;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    void proc.exited.then((code) => this.end(`the agent exited${code === undefined ? '' : ` with code ${code}`}`));
    this.scheduleHeartbeat();
    this.progress();
  }

  /**
   * open starts the agent in the target container and waits for its greeting. It rejects with
   * a NoAgentError when the container cannot run it, and with another error when it could not
   * be started now (the container is not running, the runtime did not answer in time).
   */
  static async open(transport: AgentTransport, target: ContainerTarget, clock: Clock, t: ChannelTimings = {}): Promise<Channel> {
    const proc = await transport.start(target, agentCommand);
    const timeoutMs = t.openTimeoutMs ?? 10_000;
    const lines = new LineReader();
    let timer: TimerHandle | undefined;
    const greeting = new Promise<{ pid: number; tar: boolean }>((resolve, reject) => {
      timer = clock.setTimeout(() => reject(new Error(`the agent did not start within ${timeoutMs} ms`)), timeoutMs);
      proc.output.on('data', onData);
      function onData(b: Buffer): void {
        for (const line of lines.push(b)) {
          const m = line.startsWith(agentGreeting) ? /^(\d+)(?: (\S+))?$/.exec(line.slice(agentGreeting.length)) : null;
          if (m) resolve({ pid: Number(m[1]), tar: m[2] === 'tar' });
        }
      }
      void proc.exited.then((code) => {
        const said = lines.text().trim();
        const why = `the agent could not start (exit code ${code ?? 'unknown'}${said ? `: ${said.slice(0, 300)}` : ''})`;
        // The image cannot run it: no sh (126/127, "executable file not found"), or no fullblock
        // dd (3). Anything else (the container stopped meanwhile) may work next time.
        const cannot = code === 126 || code === 127 || code === 3 || /executable file not found|ferry-agent unsupported/.test(said);
        reject(cannot ? new NoAgentError(why) : new Error(why));
      });
    });
    let greeted: { pid: number; tar: boolean };
    try {
      greeted = await greeting;
    } catch (err) {
      proc.destroy();
      throw err;
    } finally {
      clock.clearTimeout(timer!);
      proc.output.removeAllListeners('data');
    }
    const ch = new Channel(proc, greeted.pid, greeted.tar, transport, target, clock, t);
    ch.listen(lines);
    return ch;
  }

  /** alive is true until the channel is over. */
  get alive(): boolean {
    return this.endedWith === undefined;
  }

  /**
   * exclusive runs fn with the channel to itself: frames of two callers never interleave. It
   * rejects with ChannelClosedError when the channel is over before or while fn runs.
   */
  exclusive<T>(fn: (w: FrameWriter) => Promise<T>): Promise<T> {
    const run = this.lock.then(async () => {
      if (!this.alive) throw new ChannelClosedError(this.endedWith!);
      this.busy++;
      try {
        return await fn(this.writer);
      } finally {
        this.busy--;
      }
    });
    this.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** close lets the work under way finish, then ends the agent's stdin; it exits on its own. */
  async close(): Promise<void> {
    await this.exclusive(async () => undefined).catch(() => undefined);
    if (!this.alive) return;
    this.proc.hold(true); // until the agent is seen gone
    this.proc.end();
    const timer = this.clock.setTimeout(() => this.kill('the agent did not exit when closed'), this.ackTimeoutMs);
    await this.closed;
    this.clock.clearTimeout(timer);
  }

  /** kill ends the channel now: the connection is dropped and the agent killed in the container. */
  kill(why: string): void {
    if (!this.alive) return;
    this.end(why);
    this.proc.destroy();
    this.transport.kill(this.target, this.pid).catch(() => undefined);
  }

  private readonly writer: FrameWriter = {
    nextSeq: () => ++this.seq,
    answer: (seq) => {
      const answer = new Promise<Answer>((resolve, reject) => {
        if (!this.alive) return reject(new ChannelClosedError(this.endedWith!));
        this.pending.set(seq, { resolve, reject });
        this.progress();
      });
      answer.catch(() => undefined); // a write that failed first is what the caller sees
      return answer;
    },
    write: async (data) => {
      if (!this.alive) throw new ChannelClosedError(this.endedWith!);
      this.writing++;
      this.progress();
      try {
        await Promise.race([this.proc.write(data), this.closed.then((why) => Promise.reject(new ChannelClosedError(why)))]);
      } finally {
        this.writing--;
        this.progress();
      }
    },
  };

  private listen(lines: LineReader): void {
    const onLine = (line: string) => {
      const sp = line.indexOf(' ');
      const seq = Number(line.slice(0, sp));
      const answer = line.slice(sp + 1);
      if (answer === 'desync') return this.kill('the agent lost a frame boundary');
      const p = this.pending.get(seq);
      if (!p) return this.kill(`the agent answered ${JSON.stringify(line)} out of turn`);
      this.pending.delete(seq);
      p.resolve(answer);
      this.progress();
    };
    this.proc.output.on('data', (b: Buffer) => {
      for (const line of lines.push(b)) onLine(line);
    });
    this.proc.output.once('end', () => this.end('the agent closed its output'));
    this.proc.output.once('error', (err: Error) => this.end(`the agent's output failed: ${err.message}`));
  }

  /** progress re-arms the deadline while an answer is due or bytes are on their way. */
  private progress(): void {
    if (this.deadline) this.clock.clearTimeout(this.deadline);
    this.deadline = undefined;
    const busy = this.alive && (this.pending.size > 0 || this.writing > 0);
    this.proc.hold(busy);
    if (!busy) return;
    this.deadline = this.clock.setTimeout(() => this.kill(`no progress within ${this.ackTimeoutMs} ms`), this.ackTimeoutMs);
  }

  private scheduleHeartbeat(): void {
    this.heartbeat = this.clock.setTimeout(() => {
      if (!this.alive) return;
      // A busy channel proves itself by its answers, under their deadline.
      const beat =
        this.busy > 0
          ? Promise.resolve()
          : this.exclusive(async (w) => {
              const seq = w.nextSeq();
              const answer = w.answer(seq);
              await w.write(header('P', seq, ''));
              await answer;
            });
      beat.catch(() => undefined).finally(() => this.scheduleHeartbeat());
    }, this.heartbeatMs);
  }

  private end(why: string): void {
    if (this.endedWith !== undefined) return;
    this.endedWith = why;
    if (this.deadline) this.clock.clearTimeout(this.deadline);
    if (this.heartbeat) this.clock.clearTimeout(this.heartbeat);
    for (const p of this.pending.values()) p.reject(new ChannelClosedError(why));
    this.pending.clear();
    this.proc.destroy();
    this.resolveClosed(why);
  }
}

/** LineReader splits a byte stream into lines. */
class LineReader {
  private rest = '';
  private head = '';

  push(b: Buffer): string[] {
    const text = b.toString('utf8');
    if (this.head.length < 1000) this.head += text;
    const parts = (this.rest + text).split('\n');
    this.rest = parts.pop()!;
    return parts;
  }

  /** text is the start of what was read, to explain an agent that did not start. */
  text(): string {
    return this.head;
  }
}
