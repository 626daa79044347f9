import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FileBatches } from '../../src/tilt/index.ts';

const ev = (time: string, seenFiles: string[]) => ({ time, seenFiles });

describe('FileBatches', () => {
  it('gives a batch its exact paths, only for the event recorded (uid, time and seenFiles)', () => {
    const b = new FileBatches();
    b.record('uid-1', 't1', ['/src'], ['/src/a', '/src/b']);
    assert.deepEqual(b.pathsOf('uid-1', ev('t1', ['/src'])), ['/src/a', '/src/b']);
    assert.equal(b.pathsOf('uid-2', ev('t1', ['/src'])), undefined, 'another FileWatch (recreated under the same name)');
    assert.equal(b.pathsOf('uid-1', ev('t2', ['/src'])), undefined, 'another event');
    assert.equal(b.pathsOf('uid-1', ev('t1', ['/src', '/lib'])), undefined, 'seenFiles that are not the ones recorded');
    assert.equal(b.pathsOf(undefined, ev('t1', ['/src'])), undefined);
  });

  it('keeps as many batches per FileWatch as its status keeps events, the newest', () => {
    const b = new FileBatches({ perWatch: 2 });
    for (const t of ['t1', 't2', 't3']) b.record('uid-1', t, ['/src'], [`/src/${t}`]);
    b.record('uid-2', 't1', ['/src'], ['/src/other']);
    assert.equal(b.pathsOf('uid-1', ev('t1', ['/src'])), undefined);
    assert.deepEqual(b.pathsOf('uid-1', ev('t2', ['/src'])), ['/src/t2']);
    assert.deepEqual(b.pathsOf('uid-1', ev('t3', ['/src'])), ['/src/t3']);
    assert.deepEqual(b.pathsOf('uid-2', ev('t1', ['/src'])), ['/src/other'], 'another FileWatch keeps its own');
  });

  it('bounds the path text of all batches, dropping the oldest first', () => {
    const b = new FileBatches({ maxChars: 26 });
    b.record('uid-1', 't1', ['/d'], ['/d/aaaaaaaa']); // 13 characters with seenFiles
    b.record('uid-2', 't1', ['/d'], ['/d/bbbbbbbb']); // 26 in all
    b.record('uid-3', 't1', ['/d'], ['/d/cc']); // 33: the oldest goes
    assert.deepEqual(b.pathsOf('uid-3', ev('t1', ['/d'])), ['/d/cc']);
    assert.equal(b.pathsOf('uid-1', ev('t1', ['/d'])), undefined);
    assert.deepEqual(b.pathsOf('uid-2', ev('t1', ['/d'])), ['/d/bbbbbbbb']);
    b.record('uid-4', 't1', ['/d'], ['/d/' + 'e'.repeat(30)]);
    assert.equal(b.pathsOf('uid-4', ev('t1', ['/d'])), undefined, 'a batch larger than the bound is not kept');
    assert.deepEqual(b.pathsOf('uid-2', ev('t1', ['/d'])), ['/d/bbbbbbbb'], 'and drops nothing');
  });

  it('drops the records of events that left the status', () => {
    const b = new FileBatches();
    b.record('uid-1', 't1', ['/src'], ['/src/a']);
    b.record('uid-1', 't2', ['/src'], ['/src/b']);
    b.record('uid-2', 't1', ['/src'], ['/src/c']);
    b.retain('uid-1', ['t2', 't3']);
    assert.equal(b.pathsOf('uid-1', ev('t1', ['/src'])), undefined);
    assert.deepEqual(b.pathsOf('uid-1', ev('t2', ['/src'])), ['/src/b']);
    assert.deepEqual(b.pathsOf('uid-2', ev('t1', ['/src'])), ['/src/c'], 'another FileWatch is left alone');
  });

  it('answers for neither of two batches recorded under the same time', () => {
    const b = new FileBatches();
    b.record('uid-1', 't1', ['/src'], ['/src/a']);
    b.record('uid-1', 't1', ['/src'], ['/src/b']);
    assert.equal(b.pathsOf('uid-1', ev('t1', ['/src'])), undefined, 'the older event would get the newer batch\'s paths');
    b.record('uid-1', 't1', ['/src'], ['/src/c']);
    assert.equal(b.pathsOf('uid-1', ev('t1', ['/src'])), undefined, 'nor a third');
    b.retain('uid-1', []);
    b.record('uid-1', 't1', ['/src'], ['/src/d']);
    assert.deepEqual(b.pathsOf('uid-1', ev('t1', ['/src'])), ['/src/d'], 'once that time has left the status, it can be recorded again');
  });

  it('forgets a deleted FileWatch', () => {
    const b = new FileBatches();
    b.record('uid-1', 't1', ['/src'], ['/src/a']);
    b.record('uid-2', 't1', ['/src'], ['/src/b']);
    b.forget('uid-1');
    assert.equal(b.size, 1);
    assert.equal(b.pathsOf('uid-1', ev('t1', ['/src'])), undefined);
  });
});
