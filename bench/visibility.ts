/**
 * Visibility: when files become visible inside a container, as busybox `inotifyd` exec'd into it
 * reports each completed write (close-after-write, or rename into the directory). Shared by the
 * benches that time a copy from inside the container.
 */
import { PassThrough } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type Docker from 'dockerode';

/** Visibility follows inotifyd's reports of completed writes in the container directory. */
/** Waiter waits for a set of names: the names it still misses, and the latest time seen so far. */
interface Waiter {
  missing: Set<string>;
  latest: number;
  resolve: (t: number) => void;
}

export class Visibility {
  private readonly seen = new Map<string, number>();
  private readonly waiters = new Set<Waiter>();
  /** waiting maps a name to the waiters that still miss it: a line costs the same however many names are awaited. */
  private readonly waiting = new Map<string, Set<Waiter>>();
  private buf = '';

  static async start(docker: Docker, id: string, dir: string): Promise<{ v: Visibility; stop: () => void }> {
    const v = new Visibility();
    const exec = await docker.getContainer(id).exec({ Cmd: ['inotifyd', '-', `${dir}:wy`], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out = new PassThrough();
    out.on('data', (b: Buffer) => v.onData(b.toString('utf8')));
    docker.modem.demuxStream(stream, out, new PassThrough());
    // Let inotifyd set its watch before anything is measured.
    await new Promise((r) => setTimeout(r, 300));
    return { v, stop: () => stream.destroy() };
  }

  private onData(text: string): void {
    const now = performance.now();
    const lines = (this.buf + text).split('\n');
    this.buf = lines.pop() ?? '';
    for (const line of lines) {
      const name = line.split('\t')[2];
      // A name with a leading dot is a temporary file of a write that is not done yet.
      if (!name || name.startsWith('.') || this.seen.has(name)) continue;
      this.seen.set(name, now);
      const ws = this.waiting.get(name);
      if (!ws) continue;
      this.waiting.delete(name);
      for (const w of ws) {
        w.missing.delete(name);
        w.latest = Math.max(w.latest, now);
        if (w.missing.size === 0) {
          this.waiters.delete(w);
          w.resolve(w.latest);
        }
      }
    }
  }

  allSeen(names: string[], timeoutMs = 60_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const w: Waiter = { missing: new Set<string>(), latest: 0, resolve: () => undefined };
      for (const n of names) {
        const t = this.seen.get(n);
        if (t === undefined) w.missing.add(n);
        else w.latest = Math.max(w.latest, t);
      }
      if (w.missing.size === 0) return resolve(w.latest);
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        for (const n of w.missing) this.waiting.get(n)?.delete(w);
        reject(new Error(`not visible within ${timeoutMs} ms: ${[...w.missing].slice(0, 3).join(', ')}...`));
      }, timeoutMs);
      w.resolve = (t) => {
        clearTimeout(timer);
        resolve(t);
      };
      this.waiters.add(w);
      for (const n of w.missing) {
        let ws = this.waiting.get(n);
        if (!ws) this.waiting.set(n, (ws = new Set()));
        ws.add(w);
      }
    });
  }
}
