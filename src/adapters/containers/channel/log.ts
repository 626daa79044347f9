import type { Logger } from 'winston';
import type { ContainerTarget } from '../updater.ts';
import type { ChannelEvent } from './pool.ts';

/**
 * logChannelEvents is a ChannelPool's onEvent that writes what a user may need to know to the
 * daemon's log: each time a change could not go through a container's channel and went
 * through the per-call path instead (a warning, with the container and the reason), a
 * container whose image cannot run the agent (once), and a channel that could not be opened
 * (once until one opens). Channels opened and closed are debug lines: a healthy run warns of
 * nothing. An idle channel that dies (the container restarted, a heartbeat unanswered) loses
 * nothing and reopens for the next change: a debug line too.
 */
export function logChannelEvents(log: Pick<Logger, 'debug' | 'info' | 'warn'>): (e: ChannelEvent) => void {
  const openFailed = new Map<string, string>();
  return (e) => {
    const meta = { container: containerLabel(e.target), reason: e.message };
    switch (e.kind) {
      case 'fallback':
        log.warn('Sync channel failed: the change goes through the per-call copy', meta);
        return;
      case 'unsupported':
        log.info('Sync channel unavailable: the container cannot run its agent, changes go through the per-call copy', meta);
        return;
      case 'open-failed':
        if (openFailed.get(e.key) === e.message) return;
        openFailed.set(e.key, e.message ?? '');
        log.info('Sync channel could not be opened: changes go through the per-call copy until it is', meta);
        return;
      case 'opened':
        openFailed.delete(e.key);
        log.debug('Sync channel opened', meta);
        return;
      case 'closed':
        log.debug('Sync channel closed', meta);
        return;
    }
  };
}

/** containerLabel names a container for a log line: `namespace/pod container` or the Docker name (else its short id). */
export function containerLabel(t: ContainerTarget): string {
  if (t.podName) return `${t.namespace}/${t.podName} ${t.containerName}`;
  return t.containerName || t.containerId.slice(0, 12);
}
