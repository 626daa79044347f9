/**
 * `ferry serve` names a kubeconfig flag that points nowhere: --kubeconfig (external mode) stops
 * with a plain error, --cluster-kubeconfig (read at each use) gets a warning at start.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runFerry, startFerryProcess } from '../support/daemon.ts';

describe('ferry serve kubeconfig flags', () => {
  it('--kubeconfig naming no file: an error that says which, exit 1', async () => {
    const missing = path.join(os.tmpdir(), 'ferry-no-such-kubeconfig', 'config');
    const r = await runFerry(['serve', '--kubeconfig', missing, '--port', '0', '--dashboard-port', '0']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`cannot read kubeconfig ${missing.replace(/[/.]/g, '\\$&')}: no such file`));
    assert.doesNotMatch(r.stderr, /ENOENT/);
  });

  it('--cluster-kubeconfig naming no file: the daemon starts and warns', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-serve-flags-'));
    const missing = path.join(dataDir, 'no-such-kubeconfig');
    const ferry = await startFerryProcess({ dataDir, args: ['--cluster-kubeconfig', missing, '--dashboard-port', '0'] });
    try {
      const warning = ferry.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((l) => l.level === 'warn');
      assert.equal(warning?.clusterKubeconfig, missing, ferry.output());
      assert.match(warning.message, /kubeconfig does not exist/);
    } finally {
      await ferry.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
