// The sync channel's events in the daemon's log: a warning per fallback, an unusable container
// or a channel that cannot open said once, and nothing above debug in a healthy run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logChannelEvents } from '../../../src/adapters/containers/channel/log.ts';
import type { ChannelEvent } from '../../../src/adapters/containers/channel/pool.ts';

function recording() {
  const lines: { level: string; message: string; meta: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, meta: Record<string, unknown>) => void lines.push({ level, message, meta });
  const log = { debug: at('debug'), info: at('info'), warn: at('warn') };
  return { lines, onEvent: logChannelEvents(log as never) };
}

const docker = { containerId: 'abcdef0123456789', containerName: 'web-1', podName: '', namespace: '' };
const pod = { containerId: 'c1', containerName: 'main', podName: 'web-7f', namespace: 'dev' };
const ev = (kind: ChannelEvent['kind'], message?: string, target = docker): ChannelEvent => ({ kind, key: target.containerId, target, message });

test('channel log: a healthy run logs at debug only; a fallback is one warning with the container and the reason', () => {
  const { lines, onEvent } = recording();
  onEvent(ev('opened', 'with tar'));
  onEvent(ev('closed', 'the agent exited with code 0'));
  assert.deepEqual(lines.map((l) => l.level), ['debug', 'debug']);
  onEvent(ev('fallback', 'write /app/a: the agent exited with code 137', pod));
  assert.equal(lines.length, 3);
  assert.equal(lines[2]!.level, 'warn');
  assert.deepEqual(lines[2]!.meta, { container: 'dev/web-7f main', reason: 'write /app/a: the agent exited with code 137' });
});

test('channel log: an image without the agent is said once; a channel that cannot open is said once until it opens', () => {
  const { lines, onEvent } = recording();
  onEvent(ev('unsupported', 'the agent could not start (exit code 127)'));
  onEvent(ev('open-failed', 'container is not running'));
  onEvent(ev('open-failed', 'container is not running'));
  onEvent(ev('opened', 'with tar'));
  onEvent(ev('open-failed', 'container is not running'));
  assert.deepEqual(
    lines.filter((l) => l.level !== 'debug').map((l) => [l.level, l.meta.container]),
    [
      ['info', 'web-1'],
      ['info', 'web-1'],
      ['info', 'web-1'],
    ],
  );
});
