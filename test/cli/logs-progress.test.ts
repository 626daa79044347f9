/**
 * `ferry logs -f` on a terminal: the daemon's long work in a status line below the log lines,
 * read from the daemon's activity route (which needs the token, like the API).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, type Daemon } from '../../src/daemon.ts';
import { followActivity } from '../../src/cli/logs-progress.ts';
import { activityPath } from '../../src/runtime/activity.ts';
import { silentLogger } from '../../src/log.ts';
import { rawRequest } from '../support/apiserver.ts';
import { waitFor } from '../support/wait.ts';

const clear = '\r\x1b[2K';

/** screen replays writes as a terminal shows them: finished lines, then the current one. */
function screen(writes: string[]): { lines: string[]; current: string } {
  const parts = writes.join('').replaceAll(clear, '\u0000');
  const lines: string[] = [];
  let current = '';
  for (const ch of parts) {
    if (ch === '\u0000') current = '';
    else if (ch === '\n') {
      lines.push(current);
      current = '';
    } else current += ch;
  }
  return { lines, current };
}

describe('ferry logs -f progress', () => {
  let daemon: Daemon;
  let dataDir: string;
  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-logs-progress-'));
    daemon = await startDaemon({ dataDir, storage: 'memory', log: silentLogger() });
  });
  after(async () => {
    await daemon.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the work that runs, with the token only', async () => {
    const build = daemon.activity.start({ resource: 'web', object: 'CmdImage/web', action: 'building', phase: 'pushing' });
    try {
      const server = { url: daemon.api!.url, caCert: daemon.api!.caCert, token: daemon.api!.token };
      const r = await rawRequest(server, { path: activityPath });
      assert.equal(r.status, 200);
      const snap = JSON.parse(r.body.toString());
      assert.deepEqual(snap.items.map((a: { resource: string; phase: string }) => [a.resource, a.phase]), [['web', 'pushing']]);
      assert.equal(typeof snap.now, 'number');
      assert.equal((await rawRequest(server, { path: activityPath, token: null })).status, 401);
    } finally {
      build.end('ok');
    }
  });

  it('shows the work in a status line below the lines, and removes it when the work ends', async () => {
    const writes: string[] = [];
    const follower = followActivity(daemon.kubeConfig, { write: (t) => void writes.push(t), columns: () => undefined, intervalMs: 20 });
    try {
      const build = daemon.activity.start({ resource: 'web', object: 'CmdImage/web', action: 'building', phase: 'pushing' });
      await waitFor(() => /^… web building \d+s \(pushing\)$/.test(screen(writes).current), { message: 'the status line' });
      follower.out('web  build │ Pushing localhost:5000/web');
      assert.deepEqual(screen(writes).lines, ['web  build │ Pushing localhost:5000/web']);
      assert.match(screen(writes).current, /^… web building/, 'drawn again below the line');
      build.end('ok');
      await waitFor(() => screen(writes).current === '', { message: 'the line gone' });
    } finally {
      follower.stop();
    }
  });

  it('shows only the resources asked for', async () => {
    const writes: string[] = [];
    const follower = followActivity(daemon.kubeConfig, { resources: ['api'], write: (t) => void writes.push(t), columns: () => undefined, intervalMs: 20 });
    const build = daemon.activity.start({ resource: 'web', object: 'CmdImage/web', action: 'building' });
    const apply = daemon.activity.start({ resource: 'api', object: 'KubernetesApply/api', action: 'applying' });
    try {
      await waitFor(() => screen(writes).current.startsWith('… api applying'), { message: 'the api line' });
      assert.ok(!writes.join('').includes('web'), JSON.stringify(writes));
    } finally {
      build.end('ok');
      apply.end('ok');
      follower.stop();
    }
    assert.equal(screen(writes).current, '', 'stopping removes the line');
  });
});
