/**
 * ActivityRegistry: the long work that runs now, keyed by object, and its events.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityRegistry, type ActivityEvent } from '../../src/runtime/activity.ts';

function fixture() {
  let now = 1000;
  const reg = new ActivityRegistry({ now: () => now });
  const events: ActivityEvent[] = [];
  reg.subscribe((e) => events.push(e));
  return { reg, events, at: (ms: number) => (now = ms) };
}

describe('ActivityRegistry', () => {
  it('lists work from start to end, with its phase', () => {
    const f = fixture();
    const build = f.reg.start({ resource: 'web', object: 'CmdImage/web', action: 'building', phase: 'build command' });
    f.at(2000);
    f.reg.start({ resource: 'api', object: 'KubernetesApply/api', action: 'applying' });
    assert.deepEqual(f.reg.list(), [
      { resource: 'web', object: 'CmdImage/web', action: 'building', phase: 'build command', startedAt: 1000 },
      { resource: 'api', object: 'KubernetesApply/api', action: 'applying', phase: '', startedAt: 2000 },
    ]);
    build.phase('pushing');
    assert.equal(f.reg.list()[0].phase, 'pushing');
    f.at(5000);
    build.end('ok');
    assert.deepEqual(f.reg.list().map((a) => a.object), ['KubernetesApply/api']);
    assert.deepEqual(
      f.events.map((e) => [e.type, e.activity.object, e.activity.phase, e.type === 'ended' ? `${e.result}@${e.endedAt}` : '']),
      [
        ['started', 'CmdImage/web', 'build command', ''],
        ['started', 'KubernetesApply/api', '', ''],
        ['phase', 'CmdImage/web', 'pushing', ''],
        ['ended', 'CmdImage/web', 'pushing', 'ok@5000'],
      ],
    );
  });

  it('ends the old work of an object when new work starts, and ignores the old handle after', () => {
    const f = fixture();
    const first = f.reg.start({ resource: 'web', object: 'CmdImage/web', action: 'building' });
    f.at(3000);
    f.reg.start({ resource: 'web', object: 'CmdImage/web', action: 'building' });
    first.phase('pushing');
    first.end('failed');
    assert.deepEqual(f.reg.list(), [{ resource: 'web', object: 'CmdImage/web', action: 'building', phase: '', startedAt: 3000 }]);
    assert.deepEqual(f.events.map((e) => (e.type === 'ended' ? `ended ${e.result}` : e.type)), ['started', 'ended cancelled', 'started']);
  });

  it('reports an end once, and a phase only when it changes', () => {
    const f = fixture();
    const h = f.reg.start({ resource: 'web', object: 'CmdImage/web', action: 'building', phase: 'build command' });
    h.phase('build command');
    h.end('failed');
    h.end('ok');
    assert.deepEqual(f.events.map((e) => e.type), ['started', 'ended']);
    assert.deepEqual(f.reg.list(), []);
  });

  it('stops telling a listener once it unsubscribes', () => {
    const reg = new ActivityRegistry();
    const seen: string[] = [];
    const off = reg.subscribe((e) => seen.push(e.type));
    reg.start({ resource: 'a', object: 'Cmd/a', action: 'building' });
    off();
    reg.start({ resource: 'b', object: 'Cmd/b', action: 'building' });
    assert.deepEqual(seen, ['started']);
  });
});
