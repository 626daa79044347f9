/**
 * The daemon's log route: the log buffer served over the API port at /ferry/v1/logs, as NDJSON
 * (one LogLine per line), optionally followed. `ferry logs` and `ferry ci` read it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { logCategories, matches, type LogBuffer, type LogCategory, type LogQuery } from './log-buffer.ts';

/** logsPath is where the daemon serves its log buffer. */
export const logsPath = '/ferry/v1/logs';

/**
 * logResourcesHeader names the response header listing, comma-separated, the requested
 * resources that have lines in the buffer, so a client can tell a quiet resource from an unknown one.
 */
export const logResourcesHeader = 'ferry-log-resources';

/**
 * logsRoute serves the daemon's log buffer: ?resource= (repeatable), &source=build|runtime|sync,
 * &sinceMs=, &follow=true. An unknown source is a 400.
 */
export function logsRoute(buffer: LogBuffer) {
  return (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const resources = url.searchParams.getAll('resource').filter(Boolean);
    const source = url.searchParams.get('source') || undefined;
    const sinceMs = url.searchParams.get('sinceMs');
    const follow = url.searchParams.get('follow') === 'true';
    if (source !== undefined && !logCategories.includes(source as LogCategory)) {
      const message = `source must be one of ${logCategories.join(', ')}, got "${source}"`;
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'BadRequest', code: 400 }));
      return;
    }
    const q: LogQuery = {
      ...(resources.length ? { resources } : {}),
      ...(source ? { category: source as LogCategory } : {}),
      ...(sinceMs ? { sinceMs: Number(sinceMs) } : {}),
    };
    res.writeHead(200, {
      'Content-Type': 'application/x-ndjson',
      [logResourcesHeader]: resources.filter((r) => buffer.has(r)).map(encodeURIComponent).join(','),
    });
    res.flushHeaders();
    for (const l of buffer.lines(q)) res.write(JSON.stringify(l) + '\n');
    if (!follow) {
      res.end();
      return;
    }
    const unsubscribe = buffer.subscribe((l) => {
      if (matches(l, { resources: q.resources, category: q.category })) res.write(JSON.stringify(l) + '\n');
    });
    res.on('close', unsubscribe);
  };
}
