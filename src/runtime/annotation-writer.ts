/**
 * AnnotationWriter keeps one annotation of a kind's objects up to date with something a
 * reconciler tracks in memory and that changes often (a log stream's read position): changes
 * are written at most once per delay, a write that would change nothing is skipped, and a final
 * write can be asked for as the object is forgotten or the daemon stops.
 */
import type { Logger } from 'winston';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { errorText } from '../util/errors.ts';
import type { Client } from '../client/client.ts';
import { isNotFound } from '../client/errors.ts';

/** AnnotationWriterDeps configure an AnnotationWriter. */
export interface AnnotationWriterDeps {
  client: Client;
  clock: Clock;
  log: Logger;
  kind: string;
  /** key is the annotation written. */
  key: string;
  /** delayMs bounds how often one object is written. */
  delayMs: number;
  /** what says in the warning when a write fails (`where the log stream read up to`). */
  what: string;
}

interface Tracked {
  /** value reads what the annotation should hold now; undefined writes nothing. */
  value: () => string | undefined;
  /** written is the annotation's value as last read or written. */
  written?: string;
  timer?: TimerHandle;
}

export class AnnotationWriter {
  private readonly tracked = new Map<string, Tracked>();

  constructor(private readonly deps: AnnotationWriterDeps) {}

  /**
   * track starts following name: value reads what the annotation should hold; written is what
   * the object holds now (nothing is written while the two agree).
   */
  track(name: string, value: () => string | undefined, written: string | undefined): void {
    this.forgetNow(name);
    this.tracked.set(name, { value, written });
  }

  /** changed asks for a write of name within the delay (one write however many changes). */
  changed(name: string): void {
    const t = this.tracked.get(name);
    if (!t || t.timer) return;
    t.timer = this.deps.clock.setTimeout(() => {
      t.timer = undefined;
      void this.write(name, t);
    }, this.deps.delayMs);
  }

  /** forget stops following name; with flush, its value is written first. */
  async forget(name: string, flush: boolean): Promise<void> {
    const t = this.tracked.get(name);
    if (!t) return;
    this.forgetNow(name);
    if (flush) await this.write(name, t);
  }

  private forgetNow(name: string): void {
    const t = this.tracked.get(name);
    if (t?.timer) this.deps.clock.clearTimeout(t.timer);
    this.tracked.delete(name);
  }

  private async write(name: string, t: Tracked): Promise<void> {
    const value = t.value();
    if (value === undefined || value === t.written) return;
    try {
      await this.deps.client.patch(this.deps.kind, name, { metadata: { annotations: { [this.deps.key]: value } } });
      t.written = value;
    } catch (err) {
      if (!isNotFound(err)) this.deps.log.warn(`Could not record ${this.deps.what}`, { name, error: errorText(err) });
    }
  }
}
