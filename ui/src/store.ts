// The page's state: resources and log lines, fed by the dashboard's one event stream.
import type { LogEntry, ResourceSummary, SnapshotEvent } from '../../src/dashboard/wire.ts';

/** maxLogLines is how many lines the page keeps per resource. */
export const maxLogLines = 5000;

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'logged-out';

/** Store holds what the stream said; listeners hear about each batch of changes. */
export class Store {
  resources = new Map<string, ResourceSummary>();
  logs = new Map<string, LogEntry[]>();
  connection: Connection = 'connecting';
  /** version increases with every change, so views know when to render. */
  version = 0;
  private listeners = new Set<() => void>();
  private source?: EventSource;
  private notifyScheduled = false;

  /** subscribe adds a listener (a bound function: one identity for the store's life). */
  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
    };
  };

  private changed(): void {
    this.version++;
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    queueMicrotask(() => {
      this.notifyScheduled = false;
      for (const l of this.listeners) l();
    });
  }

  /** connect opens the stream; EventSource reconnects by itself, sending Last-Event-ID. */
  connect(): void {
    const es = new EventSource('/api/events');
    this.source = es;
    es.addEventListener('open', () => {
      this.connection = 'live';
      this.changed();
    });
    es.addEventListener('error', () => {
      if (es.readyState === EventSource.CLOSED) {
        // A refused reconnect (the daemon restarted and forgot this session): ask for a login.
        void fetch('/api/resources/-', { credentials: 'same-origin' }).then((r) => {
          this.connection = r.status === 401 ? 'logged-out' : 'reconnecting';
          this.changed();
          if (r.status !== 401) setTimeout(() => this.connect(), 1000);
        }, () => {
          this.connection = 'reconnecting';
          this.changed();
          setTimeout(() => this.connect(), 1000);
        });
      } else {
        this.connection = 'reconnecting';
      }
      this.changed();
    });
    es.addEventListener('snapshot', (e) => {
      const snap = JSON.parse((e as MessageEvent).data) as SnapshotEvent;
      this.resources = new Map(snap.resources.map((r) => [r.name, r]));
      this.changed();
    });
    es.addEventListener('resource', (e) => {
      const r = JSON.parse((e as MessageEvent).data) as ResourceSummary;
      this.resources.set(r.name, r);
      this.changed();
    });
    es.addEventListener('removed', (e) => {
      const { name } = JSON.parse((e as MessageEvent).data) as { name: string };
      this.resources.delete(name);
      this.changed();
    });
    es.addEventListener('log', (e) => {
      this.addLogs(JSON.parse((e as MessageEvent).data) as LogEntry[]);
    });
  }

  /** addLogs merges lines (from the stream or a fetch) by sequence number. */
  addLogs(lines: LogEntry[]): void {
    const touched = new Set<string>();
    for (const l of lines) {
      let list = this.logs.get(l.resource);
      if (!list) this.logs.set(l.resource, (list = []));
      const last = list[list.length - 1];
      if (!last || l.seq > last.seq) list.push(l);
      else if (!list.some((x) => x.seq === l.seq)) {
        list.push(l);
        touched.add(l.resource);
      }
    }
    for (const r of touched) this.logs.get(r)!.sort((a, b) => a.seq - b.seq);
    for (const [r, list] of this.logs) if (list.length > maxLogLines * 1.2) this.logs.set(r, list.slice(-maxLogLines));
    this.changed();
  }

  /** loadLogs fetches the lines the daemon keeps for a resource. */
  async loadLogs(resource: string): Promise<void> {
    const r = await fetch(`/api/logs?resource=${encodeURIComponent(resource)}`, { credentials: 'same-origin' });
    if (r.ok) this.addLogs((await r.json()) as LogEntry[]);
  }

  close(): void {
    this.source?.close();
  }
}

/** post sends a button's request; the answer's error text, if any, is returned. */
export async function post(path: string): Promise<string | undefined> {
  try {
    const r = await fetch(path, { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    if (r.ok) return undefined;
    const body = (await r.json().catch(() => ({}))) as { error?: string };
    return body.error ?? `${r.status} ${r.statusText}`;
  } catch (err) {
    return String(err);
  }
}
