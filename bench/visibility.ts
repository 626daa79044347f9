/**
 * Visibility: when files become visible inside a container, as busybox `inotifyd` exec'd into it
 * reports each completed write (close-after-write, or rename into the directory). Shared by the
 * benches that time a copy from inside the container.
 */
import { PassThrough } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type Docker from 'dockerode';

/** Visibility follows inotifyd's reports of completed writes in the container directory. */
export class Visibility {
  private readonly seen = new Map<string, number>();
  private waiters: { names: string[]; resolve: (t: number) => void }[] = [];
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
    this.buf += text;
    let i: number;
    while ((i = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 1);
      const name = line.split('\t')[2];
      // A name with a leading dot is a temporary file of a write that is not done yet.
      if (name && !name.startsWith('.') && !this.seen.has(name)) this.seen.set(name, now);
    }
    this.waiters = this.waiters.filter((w) => {
      if (!w.names.every((n) => this.seen.has(n))) return true;
      w.resolve(Math.max(...w.names.map((n) => this.seen.get(n)!)));
      return false;
    });
  }

  allSeen(names: string[], timeoutMs = 60_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not visible within ${timeoutMs} ms: ${names.filter((n) => !this.seen.has(n)).slice(0, 3).join(', ')}...`)), timeoutMs);
      this.waiters.push({
        names,
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
      });
      this.onData('');
    });
  }
}
