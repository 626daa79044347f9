/**
 * LogBuffer keeps the most recent output lines of each resource in memory, for `ferry logs`:
 * build output, live update actions, command output, and what containers and pods print
 * (the log streams). Bounded per resource; readers can page by
 * sequence number and follow new lines.
 */

/** LogLine is one line of output of one resource. */
export interface LogLine {
  /** seq increases by one for every line appended to the buffer, across resources. */
  seq: number;
  /** time is when the line was appended, RFC 3339 with milliseconds. */
  time: string;
  resource: string;
  /** source names the object that wrote the line, e.g. `Cmd/hello-world`. */
  source: string;
  /** stream is where the line came from: a process's stdout or stderr, or ferry itself. */
  stream: 'stdout' | 'stderr' | 'ferry';
  line: string;
}

/**
 * LogCategory is what kind of output a line is: `build` (image builds, commands, applies),
 * `runtime` (what containers and pods print, from the log streams) or `sync` (live updates).
 */
export type LogCategory = 'build' | 'runtime' | 'sync';

/** logCategories are the LogCategory values, for validating user input. */
export const logCategories: readonly LogCategory[] = ['build', 'runtime', 'sync'];

/** logCategory is the category of a line, from the kind that wrote it (its source, `Kind/name` or `Kind`). */
export function logCategory(source: string): LogCategory {
  const kind = source.split('/', 1)[0];
  if (kind === 'DockerComposeLogStream' || kind === 'PodLogStream') return 'runtime';
  if (kind === 'LiveUpdate') return 'sync';
  return 'build';
}

/** LogQuery narrows what lines() returns. */
export interface LogQuery {
  /** resource limits the lines to one resource. Default: every resource, in append order. */
  resource?: string;
  /** resources limits the lines to these resources (with resource, to both). */
  resources?: readonly string[];
  /** category limits the lines to one category (see logCategory). */
  category?: LogCategory;
  /** afterSeq returns only lines appended after this sequence number. */
  afterSeq?: number;
  /** sinceMs returns only lines appended at or after this time (ms since the epoch). */
  sinceMs?: number;
}

/** defaultMaxLinesPerResource is how many lines each resource keeps by default. */
export const defaultMaxLinesPerResource = 5_000;

export class LogBuffer {
  private readonly maxLines: number;
  private readonly now: () => Date;
  private readonly byResource = new Map<string, LogLine[]>();
  private readonly listeners = new Set<(line: LogLine) => void>();
  private seq = 0;

  /**
   * LogBuffer keeps `maxLinesPerResource` lines per resource (default 5,000), stamped with
   * `now` (default the wall clock).
   */
  constructor(opts: { maxLinesPerResource?: number; now?: () => Date } = {}) {
    this.maxLines = Math.max(1, opts.maxLinesPerResource ?? defaultMaxLinesPerResource);
    this.now = opts.now ?? (() => new Date());
  }

  /** append stores a line for resource, dropping that resource's oldest line when full. */
  append(resource: string, entry: { source: string; stream?: LogLine['stream']; line: string }): LogLine {
    const line: LogLine = {
      seq: ++this.seq,
      time: this.now().toISOString(),
      resource,
      source: entry.source,
      stream: entry.stream ?? 'ferry',
      line: entry.line,
    };
    let lines = this.byResource.get(resource);
    if (!lines) {
      lines = [];
      this.byResource.set(resource, lines);
    }
    lines.push(line);
    // Trim in chunks, so a full buffer does not shift its array on every line.
    if (lines.length > this.maxLines + Math.max(1, Math.floor(this.maxLines / 10))) {
      lines.splice(0, lines.length - this.maxLines);
    }
    for (const l of this.listeners) {
      try {
        l(line);
      } catch {
        // A failing reader must not break the writer.
      }
    }
    return line;
  }

  /** lines returns the stored lines that match the query, oldest first. */
  lines(q: LogQuery = {}): LogLine[] {
    const names = q.resource !== undefined ? [q.resource] : q.resources ? [...new Set(q.resources)] : undefined;
    const sources = names ? names.map((n) => this.byResource.get(n) ?? []) : [...this.byResource.values()];
    const out: LogLine[] = [];
    for (const lines of sources) {
      for (const l of lines.slice(-this.maxLines)) {
        if (!matches(l, q)) continue;
        out.push(l);
      }
    }
    if (sources.length > 1) out.sort((a, b) => a.seq - b.seq);
    return out;
  }

  /** has says whether resource has lines. */
  has(resource: string): boolean {
    return this.byResource.has(resource);
  }

  /** resources lists the resources that have lines, sorted. */
  resources(): string[] {
    return [...this.byResource.keys()].sort();
  }

  /** subscribe calls fn with every line appended from now on; the result unsubscribes. */
  subscribe(fn: (line: LogLine) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** clear forgets the lines of one resource. */
  clear(resource: string): void {
    this.byResource.delete(resource);
  }
}

/** matches says whether line l passes query q (its resource filters included). */
export function matches(l: LogLine, q: LogQuery): boolean {
  if (q.resource !== undefined && l.resource !== q.resource) return false;
  if (q.resources && !q.resources.includes(l.resource)) return false;
  if (q.category !== undefined && logCategory(l.source) !== q.category) return false;
  if (q.afterSeq !== undefined && l.seq <= q.afterSeq) return false;
  if (q.sinceMs !== undefined && Date.parse(l.time) < q.sinceMs) return false;
  return true;
}
