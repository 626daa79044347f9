/**
 * What `ferry serve` shows of long work: a status line redrawn on a terminal (kept below the log,
 * gone when nothing runs), plain log lines elsewhere. Time is a FakeClock; the terminal is a
 * list of writes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from 'winston';
import { ActivityRegistry } from '../../src/runtime/activity.ts';
import { ActivityView, StatusLine, statusLineStream, statusText } from '../../src/cli/progress.ts';
import { createLogger } from '../../src/log.ts';
import { FakeClock, settle } from '../../src/util/clock.ts';

const clear = '\r\x1b[2K';

/** fakeTerminal records writes and replays them as a terminal would show them (carriage return and erase line only). */
function fakeTerminal() {
  const writes: string[] = [];
  return {
    writes,
    write: (t: string) => void writes.push(t),
    /** screen is the text a terminal shows after every write: finished lines, then the current one. */
    screen(): { lines: string[]; current: string } {
      const lines: string[] = [];
      let current = '';
      for (const ch of writes.join('').replaceAll(clear, '\u0000')) {
        if (ch === '\u0000') current = '';
        else if (ch === '\n') {
          lines.push(current);
          current = '';
        } else current += ch;
      }
      return { lines, current };
    },
  };
}

interface Logged { message: string; fields: Record<string, unknown> }

function fakeLog(): { log: Logger; logged: Logged[] } {
  const logged: Logged[] = [];
  const log = { info: (message: string, fields: Record<string, unknown> = {}) => logged.push({ message, fields }) } as unknown as Logger;
  return { log, logged };
}

function fixture(opts: { tty: boolean; columns?: number }) {
  const clock = new FakeClock();
  const activity = new ActivityRegistry({ now: () => clock.now().getTime() });
  const term = fakeTerminal();
  const statusLine = opts.tty ? new StatusLine(term.write, () => opts.columns) : undefined;
  const { log, logged } = fakeLog();
  const view = new ActivityView({ activity, clock, statusLine, log });
  view.start();
  return { clock, activity, term, statusLine, view, logged };
}

describe('statusText', () => {
  it('names each piece of work with its elapsed seconds and phase, oldest first', () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(
      statusText(
        [
          { resource: 'web', object: 'CmdImage/web', action: 'building', phase: 'pushing', startedAt: t0 },
          { resource: 'api', object: 'KubernetesApply/api', action: 'applying', phase: '', startedAt: t0 + 9_500 },
        ],
        t0 + 12_400,
      ),
      '… web building 12s (pushing) · api applying 2s',
    );
    assert.equal(statusText([], t0), '');
  });
});

describe('ActivityView on a terminal', () => {
  it('redraws the status line as seconds pass and phases change, and removes it when nothing runs', async () => {
    const f = fixture({ tty: true });
    const build = f.activity.start({ resource: 'web', object: 'CmdImage/web', action: 'building', phase: 'build command' });
    assert.equal(f.term.screen().current, '… web building 0s (build command)');
    await f.clock.advance(1000);
    assert.equal(f.term.screen().current, '… web building 1s (build command)');
    build.phase('pushing');
    await f.clock.advance(1000);
    assert.equal(f.term.screen().current, '… web building 2s (pushing)');
    const draws = f.term.writes.length;
    await f.clock.advance(200);
    assert.equal(f.term.writes.length, draws, 'an unchanged line is not written again');
    build.end('ok');
    await f.clock.advance(1000);
    assert.equal(f.term.screen().current, '', 'the line is gone once the work ends');
    assert.deepEqual(f.term.screen().lines, [], 'and it never left a line behind');
    assert.equal(f.clock.pendingTimers(), 0, 'no timer runs while nothing does');
    assert.deepEqual(f.logged, [], 'no plain lines on a terminal');
  });

  it('draws at most once per 250 ms however often the work changes', async () => {
    const f = fixture({ tty: true });
    const build = f.activity.start({ resource: 'web', object: 'CmdImage/web', action: 'building' });
    for (let i = 0; i < 20; i++) build.phase(`step ${i}`);
    assert.equal(f.term.writes.length, 1);
    await f.clock.advance(250);
    assert.equal(f.term.writes.length, 2);
    assert.equal(f.term.screen().current, '… web building 0s (step 19)');
    f.view.stop();
  });

  it('keeps log lines whole and above the status line', async () => {
    const f = fixture({ tty: true });
    const log = createLogger({ format: 'pretty', stream: statusLineStream(f.statusLine!) });
    f.activity.start({ resource: 'web', object: 'CmdImage/web', action: 'building', phase: 'build command' });
    log.info('Build output', { line: 'step 1/3' });
    log.info('Build output', { line: 'step 2/3' });
    await settle();
    const screen = f.term.screen();
    assert.equal(screen.lines.length, 2, JSON.stringify(f.term.writes));
    assert.match(screen.lines[0], /Build output line=step 1\/3$/);
    assert.match(screen.lines[1], /Build output line=step 2\/3$/);
    assert.ok(!screen.lines.some((l) => l.includes('…')), 'no status text mixed into a log line');
    assert.equal(screen.current, '… web building 0s (build command)', 'the status line is drawn again below');
    f.view.stop();
    assert.equal(f.term.screen().current, '', 'stopping removes it');
  });

  it('cuts the line to the terminal width', () => {
    const f = fixture({ tty: true, columns: 20 });
    f.activity.start({ resource: 'a-long-resource-name', object: 'CmdImage/x', action: 'building' });
    assert.equal(f.term.screen().current, '… a-long-resource-…');
    assert.ok(f.term.screen().current.length < 20);
    f.view.stop();
  });

  it('lifts the status line out of the way of another stream', () => {
    const term = fakeTerminal();
    const line = new StatusLine(term.write);
    line.show('… web building 1s');
    line.above(() => term.write('serving at https://127.0.0.1:10351\n'));
    assert.deepEqual(term.screen(), { lines: ['serving at https://127.0.0.1:10351'], current: '… web building 1s' });
  });
});

describe('ActivityView not on a terminal', () => {
  it('writes no redraw and says nothing of short work', async () => {
    const f = fixture({ tty: false });
    const apply = f.activity.start({ resource: 'api', object: 'KubernetesApply/api', action: 'applying' });
    await f.clock.advance(1000);
    apply.end('ok');
    await f.clock.advance(60_000);
    assert.deepEqual(f.term.writes, []);
    assert.deepEqual(f.logged, []);
  });

  it('logs long work once it passes the threshold, then periodically, then its end', async () => {
    const f = fixture({ tty: false });
    const build = f.activity.start({ resource: 'web', object: 'CmdImage/web', action: 'building', phase: 'build command' });
    await f.clock.advance(4_999);
    assert.deepEqual(f.logged, []);
    await f.clock.advance(1);
    build.phase('pushing');
    await f.clock.advance(30_000);
    build.end('failed');
    await f.clock.advance(60_000);
    assert.deepEqual(f.logged, [
      { message: 'Still building', fields: { resource: 'web', object: 'CmdImage/web', phase: 'build command', elapsed: '5s' } },
      { message: 'Still building', fields: { resource: 'web', object: 'CmdImage/web', phase: 'pushing', elapsed: '35s' } },
      { message: 'Done building', fields: { resource: 'web', object: 'CmdImage/web', result: 'failed', elapsed: '35s' } },
    ]);
    assert.deepEqual(f.term.writes, []);
    assert.equal(f.clock.pendingTimers(), 0);
  });
});
