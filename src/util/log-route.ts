/**
 * The daemon's log route: the log buffer served over the API port at /ferry/v1/logs, as NDJSON
 * (one LogLine per line), optionally followed. `ferry logs` and `ferry ci` read it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LogBuffer } from './log-buffer.ts';

/** logsPath is where the daemon serves its log buffer. */
export const logsPath = '/ferry/v1/logs';

/** logsRoute serves the daemon's log buffer: ?resource=&sinceMs=&follow=true. */
export function logsRoute(buffer: LogBuffer) {
  return (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const resource = url.searchParams.get('resource') || undefined;
    const sinceMs = url.searchParams.get('sinceMs');
    const follow = url.searchParams.get('follow') === 'true';
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    res.flushHeaders();
    for (const l of buffer.lines({ resource, sinceMs: sinceMs ? Number(sinceMs) : undefined })) res.write(JSON.stringify(l) + '\n');
    if (!follow) {
      res.end();
      return;
    }
    const unsubscribe = buffer.subscribe((l) => {
      if (!resource || l.resource === resource) res.write(JSON.stringify(l) + '\n');
    });
    res.on('close', unsubscribe);
  };
}
