/**
 * A CmdImage build reports itself to the activity registry while it runs: its resource, its
 * phases (command, tagging, pushing) and how it ended; the status's building.startedAt is the
 * same start.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster } from '../../../src/apis/index.ts';
import type { ActivityEvent } from '../../../src/runtime/activity.ts';
import { waitFor } from '../../support/wait.ts';
import { closeSharedServer, newFixture } from './fixture.ts';

after(closeSharedServer);

function recorder(f: { activity: { subscribe(l: (e: ActivityEvent) => void): () => void } }): string[] {
  const seen: string[] = [];
  f.activity.subscribe((e) => seen.push(`${e.type} ${e.activity.resource} ${e.activity.object} ${e.activity.action}${e.activity.phase ? ` (${e.activity.phase})` : ''}${e.type === 'ended' ? `: ${e.result}` : ''}`));
  return seen;
}

describe('CmdImage activity', () => {
  it('reports a build and its push while they run, then its end', async (t) => {
    const f = await newFixture(t, { cluster: false });
    const seen = recorder(f);
    const cl = await f.create<Cluster>({ kind: 'Cluster', metadata: { name: 'default' }, spec: {} });
    await f.client.updateStatus<Cluster>({ ...cl, status: { registry: { host: 'localhost:5000' } } });
    const gate = f.gatedBuild();
    await f.cmdImage('app', {}, { 'tilt.dev/resource': 'web' });
    await gate.started;
    const building = await f.waitStatus('app', (s) => !!s.building, 'building');
    assert.deepEqual(f.activity.list().map((a) => [a.resource, a.phase, a.startedAt]), [['web', 'build command', Date.parse(building.status!.building!.startedAt!)]]);
    gate.release();
    await f.waitBuilt('app');
    await waitFor(() => seen.some((s) => s.startsWith('ended')));
    assert.deepEqual(seen, [
      'started web CmdImage/app building (build command)',
      'phase web CmdImage/app building (tagging)',
      'phase web CmdImage/app building (pushing)',
      'ended web CmdImage/app building (pushing): ok',
    ]);
    assert.deepEqual(f.activity.list(), []);
  });

  it('reports a failed build as failed, and one whose CmdImage goes away as cancelled', async (t) => {
    const f = await newFixture(t);
    const seen = recorder(f);
    f.runner.enqueue({ exitCode: 2 });
    await f.cmdImage('broken');
    await f.waitStatus('broken', (s) => !!s.completed?.error, 'failed');
    await waitFor(() => seen.length === 2);
    assert.deepEqual(seen, ['started broken CmdImage/broken building (build command)', 'ended broken CmdImage/broken building (build command): failed']);

    seen.length = 0;
    const gate = f.gatedBuild();
    await f.cmdImage('gone');
    await gate.started;
    await f.client.delete('CmdImage', 'gone');
    await waitFor(() => seen.some((s) => s.startsWith('ended')));
    gate.release();
    assert.deepEqual(seen, ['started gone CmdImage/gone building (build command)', 'ended gone CmdImage/gone building (build command): cancelled']);
  });
});
