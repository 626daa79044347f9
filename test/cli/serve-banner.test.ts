/**
 * `ferry serve` starts as the README shows: the banner (where it serves, the kubeconfig, the
 * dashboard link) is the first thing printed, and the start itself is not logged again below it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ferryBin, newDataDir } from '../support/daemon.ts';
import { waitFor } from '../support/wait.ts';

describe('ferry serve banner', () => {
  it('prints the banner first, then only what happens', async () => {
    const dataDir = newDataDir();
    // One pipe for stdout and stderr, so the order is the order a terminal shows.
    const proc = spawn('sh', ['-c', 'exec "$0" "$@" 2>&1', process.execPath, ferryBin, '--data-dir', dataDir, 'serve', '--log-format', 'pretty', '--port', '0', '--dashboard-port', 'auto', '--storage', 'memory'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    try {
      await waitFor(() => /one-time link/.test(out), { timeoutMs: 60_000, intervalMs: 50 });
      const lines = out.split('\n');
      assert.match(lines[0], /^ferry \S+ is serving at https:\/\/127\.0\.0\.1:\d+$/, out);
      assert.match(lines[1], /^kubeconfig: /, out);
      assert.match(lines[2], /^ {2}kubectl --kubeconfig /, out);
      assert.match(lines[3], /^dashboard: http:\/\/127\.0\.0\.1:\d+\//, out);
      assert.doesNotMatch(out, /API server listening|Controllers started|ferry is ready/, 'the banner says it');
    } finally {
      proc.kill('SIGTERM');
      await exited;
    }
  });
});
