import type { Readable } from 'node:stream';
import type { ContainerTarget, ContainerUpdate, ContainerUpdater } from './updater.ts';

/** FakeUpdateCall is what FakeContainerUpdater recorded of one update. */
export interface FakeUpdateCall {
  update: ContainerUpdate;
  /** archiveBytes is the archive the update carried, read whole (empty when none). */
  archiveBytes: Buffer;
}

/**
 * FakeContainerUpdater records every update and replays queued outcomes: each update takes
 * the next queued error (or succeeds when the queue is empty).
 */
export class FakeContainerUpdater implements ContainerUpdater {
  readonly calls: FakeUpdateCall[] = [];
  /** retained is what each owner retains now (owners that released everything are absent). */
  readonly retained = new Map<string, ContainerTarget[]>();
  private readonly outcomes: (Error | undefined)[] = [];

  /** failNext makes the next update reject with err (after recording it). */
  failNext(err: Error): void {
    this.outcomes.push(err);
  }

  retain(owner: string, targets: ContainerTarget[]): void {
    if (targets.length === 0) this.retained.delete(owner);
    else this.retained.set(owner, [...targets]);
  }

  async update(update: ContainerUpdate): Promise<void> {
    const archiveBytes = update.archive ? await readAll(update.archive()) : Buffer.alloc(0);
    this.calls.push({ update, archiveBytes });
    const outcome = this.outcomes.shift();
    if (outcome) throw outcome;
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
