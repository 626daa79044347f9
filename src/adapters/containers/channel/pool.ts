import type { Clock } from '../../../util/clock.ts';
import type { ArchiveEntry } from '../../tar/archive.ts';
import type { ContainerTarget, ContainerUpdate } from '../updater.ts';
import { framable } from './agent.ts';
import { Channel, NoAgentError, type ChannelTimings } from './channel.ts';
import { ChannelRefused, sendChanges } from './send.ts';
import type { AgentTransport } from './transport.ts';

/**
 * channelMaxEntries is the crossover for a container without `tar`: a batch with more entries
 * and deletions than this goes as one archive through the per-call path. A container with
 * `tar` has no crossover: its batches go as tar frames (send.ts), which were faster than the
 * per-call archive in every run at every size up to 1,000 files and as fast or faster at
 * 10,000 (the first runs, before frames were cut at 500 entries, were slower there): the
 * per-call path is only its fallback.
 *
 * Measured with test/adapters/containers/channel-crossover.measure.ts on the shared 2-core
 * machine (busybox container, files of 100 bytes, median per batch, channel warm, other work
 * running beside: figures vary by 2x and more from run to run; ranges over two or three runs;
 * the first large batch of a run is the slow end). Below 8 files the tar column is per file:
 *
 * | files | Docker: tar frames | per-file frames | archive API | Kubernetes (fixture): tar frames | per-file | `tar` exec |
 * |---|---|---|---|---|---|---|
 * | 1 | | 1.7-2 ms | 38-57 ms | | 2-3 ms | 52-55 ms |
 * | 4 (tarMinEntries 2) | 3.2 ms | 4.8 ms | 40 ms | | | |
 * | 10 | 4.6-7.9 ms | 11.5-20 ms | 41-90 ms | 8-14 ms | 14-20 ms | 62-66 ms |
 * | 100 | 18-47 ms | 112-152 ms | 66-178 ms | 43-90 ms | 157-189 ms | 154-167 ms |
 * | 1,000 | 87-948 ms | 1.1-2.5 s | 0.24-1.5 s | 154-819 ms | 1.3-2.3 s | 0.46-1.7 s |
 * | 10,000 | 0.76-1.1 s | | 0.98-1.3 s | 1.06-1.97 s | | 1.45-3.1 s |
 *
 * One frame per file costs a `dd` and a `mv` in the container (1-1.5 ms); a tar frame costs
 * about three processes once, then what tar takes per file; a per-call copy costs a process
 * start (40-90 ms) and then about what tar takes. Without tar the channel and the archive meet
 * near 100 files on Docker: 100 stays.
 */
export const channelMaxEntries = 100;

/** ChannelPoolOptions configure a ChannelPool. */
export interface ChannelPoolOptions extends ChannelTimings {
  transport: AgentTransport;
  clock: Clock;
  /** maxEntries overrides channelMaxEntries (the crossover of a channel without `tar`). */
  maxEntries?: number;
  /** tarMinEntries overrides the shortest run of entries sent as one tar frame (send.ts's tarMinEntries). */
  tarMinEntries?: number;
  /** onEvent hears what happens to channels (opened, fell back, closed), for logs and tests. */
  onEvent?: (event: ChannelEvent) => void;
}

/** ChannelSettings are a pool's options an updater takes from its caller. */
export type ChannelSettings = Omit<ChannelPoolOptions, 'transport' | 'clock'>;

/** ChannelEvent is something that happened to a container's channel. */
export interface ChannelEvent {
  kind: 'opened' | 'unsupported' | 'open-failed' | 'fallback' | 'closed';
  key: string;
  /** target is the container. */
  target: ContainerTarget;
  message?: string;
}

interface Slot {
  target: ContainerTarget;
  channel?: Channel;
  opening?: Promise<Channel | undefined>;
}

/**
 * ChannelPool keeps one channel (a running agent) per container some owner retains, opened
 * eagerly and reopened on demand after it died (the container restarted) or for a new
 * container id (replaced). A container that cannot run the agent is remembered and never tried
 * again. Channels no owner retains are closed, leaving no process behind.
 */
export class ChannelPool {
  private readonly opts: ChannelPoolOptions;
  private readonly owners = new Map<string, Map<string, ContainerTarget>>();
  private readonly slots = new Map<string, Slot>();
  private readonly noAgent = new Map<string, string>();

  constructor(opts: ChannelPoolOptions) {
    this.opts = opts;
  }

  /** retain sets the containers owner selects; channels to them open now, those nobody retains close. */
  retain(owner: string, targets: ContainerTarget[]): void {
    if (targets.length === 0) this.owners.delete(owner);
    else this.owners.set(owner, new Map(targets.map((t) => [this.opts.transport.key(t), t])));
    const wanted = this.retained();
    for (const [key, slot] of this.slots) {
      if (!wanted.has(key)) this.release(key, slot);
    }
    for (const [key, target] of wanted) {
      if (!this.noAgent.has(key)) void this.channelFor(key, target);
    }
  }

  /**
   * send applies u's deletions and files through the target's channel, resolving true once the
   * container acknowledged all of them; false when they must go through the per-call path
   * (no channel for this container, a batch above the crossover into a container without
   * `tar`, a path a frame cannot carry, or the channel failed: nothing is lost, the per-call
   * path sends everything again).
   */
  async send(u: ContainerUpdate, signal?: AbortSignal): Promise<boolean> {
    return (await this.attempt(u, signal)) === true;
  }

  /**
   * through sends u's deletions and files through the target's channel where it can (see
   * send) and returns what is left for the per-call path: u without its deletions and files
   * once they were sent; otherwise u itself, deleting first the temporary names a channel that
   * died mid-frame may have left behind (agent.ts).
   */
  async through(u: ContainerUpdate, signal?: AbortSignal): Promise<ContainerUpdate> {
    const r = await this.attempt(u, signal);
    if (r === true) return { ...u, deletePaths: [], archive: undefined, entries: undefined };
    return r.length > 0 ? { ...u, deletePaths: [...r, ...u.deletePaths] } : u;
  }

  /** attempt is send's work: true once sent, else the temporary names to remove on the per-call path. */
  private async attempt(u: ContainerUpdate, signal?: AbortSignal): Promise<true | string[]> {
    const entries: ArchiveEntry[] | undefined = u.entries;
    if (u.archive && !entries) return [];
    const list = entries ?? [];
    if (list.length === 0 && u.deletePaths.length === 0) return true;
    if (!u.deletePaths.every(framable) || !list.every((e) => framable(e.name) && framable(e.linkname ?? ''))) return [];
    const key = this.opts.transport.key(u.target);
    if (!this.retained().has(key) || this.noAgent.has(key) || signal?.aborted) return [];
    const ch = await this.channelFor(key, u.target);
    if (!ch) return [];
    if (!ch.tar && list.length + u.deletePaths.length > (this.opts.maxEntries ?? channelMaxEntries)) return [];
    // Stopping ferry abandons a send under way: the channel is killed, the per-call path refuses.
    const onAbort = () => ch.kill('live update aborted: ferry is stopping');
    signal?.addEventListener('abort', onAbort);
    const staged: string[] = [];
    try {
      await sendChanges(ch, u.deletePaths, list, { tarMinEntries: this.opts.tarMinEntries, staged });
      return true;
    } catch (err) {
      // An update abandoned because ferry is stopping goes nowhere: no fallback to tell.
      if (!signal?.aborted) {
        const message = err instanceof Error ? err.message : String(err);
        this.emit({ kind: 'fallback', key, target: u.target, message });
        u.onNotice?.(`Copying per call: the sync channel failed (${message})`);
      }
      // An operation the agent refused was cleaned up by the agent; a channel that died was not.
      return err instanceof ChannelRefused ? [] : staged;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** close closes every channel (ferry is stopping). */
  async close(): Promise<void> {
    this.owners.clear();
    await Promise.all([...this.slots].map(([key, slot]) => this.release(key, slot)));
  }

  private emit(e: ChannelEvent): void {
    this.opts.onEvent?.(e);
  }

  private retained(): Map<string, ContainerTarget> {
    const all = new Map<string, ContainerTarget>();
    for (const targets of this.owners.values()) for (const [k, t] of targets) all.set(k, t);
    return all;
  }

  private async release(key: string, slot: Slot): Promise<void> {
    this.slots.delete(key);
    const ch = slot.channel ?? (await slot.opening);
    if (ch) await ch.close();
    // Only an image's inability is remembered, per container: a later container gets its own key.
    this.noAgent.delete(key);
  }

  /** channelFor is the live channel to key, opening one when there is none; undefined when it cannot be had. */
  private channelFor(key: string, target: ContainerTarget): Promise<Channel | undefined> {
    let slot = this.slots.get(key);
    if (!slot) this.slots.set(key, (slot = { target }));
    if (slot.channel?.alive) return Promise.resolve(slot.channel);
    if (slot.opening) return slot.opening;
    const s = slot;
    s.channel = undefined;
    s.opening = Channel.open(this.opts.transport, target, this.opts.clock, this.opts).then(
      (ch) => {
        s.opening = undefined;
        if (this.slots.get(key) !== s) {
          void ch.close(); // released while it opened
          return undefined;
        }
        s.channel = ch;
        this.emit({ kind: 'opened', key, target, message: ch.tar ? 'with tar' : 'without tar' });
        void ch.closed.then((why) => this.emit({ kind: 'closed', key, target, message: why }));
        return ch;
      },
      (err: unknown) => {
        s.opening = undefined;
        const message = err instanceof Error ? err.message : String(err);
        if (err instanceof NoAgentError) this.noAgent.set(key, message);
        this.emit({ kind: err instanceof NoAgentError ? 'unsupported' : 'open-failed', key, target, message });
        return undefined;
      },
    );
    return s.opening;
  }
}
