/**
 * The daemon's logger: one winston root made in main and passed down as children.
 * JSON lines by default; a readable format for a terminal.
 */
import winston from 'winston';

export type { Logger } from 'winston';

export const logFormats = ['json', 'pretty'] as const;
export type LogFormat = (typeof logFormats)[number];

export interface LoggerOptions {
  format?: LogFormat;
  level?: string;
  /** stream to write to; default stderr. */
  stream?: NodeJS.WritableStream;
}

/**
 * outputSources are the messages that carry one line a command printed (field `line`), with the
 * source `ferry logs` shows them under: on a terminal they read as there, `web build │ <line>`.
 */
const outputSources: Record<string, string> = { 'Build output': 'build', 'Compose output': 'build', 'Command output': 'sync' };

const pretty = winston.format.printf(({ level, message, timestamp, ...fields }) => {
  const { component, object, ...rest } = fields as Record<string, unknown>;
  const source = outputSources[String(message)];
  const owner = rest.resource ?? rest.name;
  if (source && typeof rest.line === 'string' && typeof owner === 'string') {
    return `${String(timestamp).slice(11, 23)} ${level.padEnd(5)} ${owner} ${source} │ ${rest.line}`;
  }
  const who = [component, object].filter(Boolean).join(' ');
  const extra = Object.entries(rest)
    .filter(([k]) => typeof k === 'string')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${String(timestamp).slice(11, 23)} ${level.padEnd(5)} ${who ? `[${who}] ` : ''}${String(message)}${extra ? ' ' + extra : ''}`;
});

export function createLogger(opts: LoggerOptions = {}): winston.Logger {
  const format = opts.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  return winston.createLogger({
    level: opts.level ?? 'info',
    format: format === 'json'
      ? winston.format.combine(winston.format.timestamp(), winston.format.json())
      : winston.format.combine(winston.format.timestamp(), pretty),
    transports: [new winston.transports.Stream({ stream: opts.stream ?? process.stderr })],
  });
}

/** silentLogger discards everything; for tests. Set FERRY_TEST_LOG=debug to see the logs. */
export function silentLogger(): winston.Logger {
  const level = process.env.FERRY_TEST_LOG;
  if (level) return createLogger({ format: 'pretty', level });
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
