/**
 * Timestamps of container log lines, as the Docker Engine and the kubelet write them with
 * `timestamps=true` (RFC 3339 with up to nine fraction digits, e.g. `2026-12-04T22:40:01.12345Z`).
 * Normalised to nine digits and UTC they compare as strings, which is how the log streams resume
 * after a restart without repeating a line.
 */

/** TimedLine is a log line split into its timestamp (normalised, see normalizeLogTime) and its text. */
export interface TimedLine {
  time?: string;
  text: string;
}

const rfc3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * normalizeLogTime renders an RFC 3339 time in UTC with exactly nine fraction digits, so that
 * two normalised times compare as strings; undefined when s is not such a time.
 */
export function normalizeLogTime(s: string): string | undefined {
  const m = rfc3339.exec(s);
  if (!m) return undefined;
  const fraction = (m[2] ?? '').padEnd(9, '0');
  if (m[3] === 'Z') return `${m[1]}.${fraction}Z`;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return `${new Date(ms).toISOString().slice(0, 19)}.${fraction}Z`;
}

/** splitTimestamp splits `<time> <text>` as written with timestamps on; a line without a time keeps all its text. */
export function splitTimestamp(line: string): TimedLine {
  const sp = line.indexOf(' ');
  const time = normalizeLogTime(sp < 0 ? line : line.slice(0, sp));
  if (!time) return { text: line };
  return { time, text: sp < 0 ? '' : line.slice(sp + 1) };
}

/** unixSince renders a normalised time as the Docker Engine's `since`: seconds with nine fraction digits. */
export function unixSince(time: string): string {
  const seconds = Math.floor(Date.parse(time.slice(0, 19) + 'Z') / 1000);
  return `${seconds}.${time.slice(20, 29)}`;
}

/** wholeSeconds renders a normalised time truncated to the second, as Kubernetes' `sinceTime` takes it. */
export function wholeSeconds(time: string): string {
  return time.slice(0, 19) + 'Z';
}
