import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogBuffer } from '../../src/util/log-buffer.ts';

test('LogBuffer keeps lines per resource, bounded, and pages by sequence', () => {
  let t = Date.parse('2024-01-01T00:00:00Z');
  const buf = new LogBuffer({ maxLinesPerResource: 3, now: () => new Date(t) });
  for (let i = 1; i <= 5; i++) {
    buf.append('web', { source: 'Cmd/web', stream: 'stdout', line: `web ${i}` });
    buf.append('db', { source: 'Cmd/db', line: `db ${i}` });
    t += 1000;
  }
  assert.deepEqual(buf.lines({ resource: 'web' }).map((l) => l.line), ['web 3', 'web 4', 'web 5']);
  assert.deepEqual(buf.lines({ resource: 'db' }).map((l) => [l.line, l.stream]), [['db 3', 'ferry'], ['db 4', 'ferry'], ['db 5', 'ferry']]);
  const all = buf.lines();
  assert.deepEqual(all.map((l) => l.line), ['web 3', 'db 3', 'web 4', 'db 4', 'web 5', 'db 5']);
  assert.deepEqual(buf.lines({ afterSeq: all[3].seq }).map((l) => l.line), ['web 5', 'db 5']);
  assert.deepEqual(buf.lines({ resource: 'web', sinceMs: Date.parse('2024-01-01T00:00:04Z') }).map((l) => l.line), ['web 5']);
  assert.deepEqual(buf.resources(), ['db', 'web']);
  assert.deepEqual(buf.lines({ resource: 'nope' }), []);
});

test('LogBuffer followers see new lines until they unsubscribe', () => {
  const buf = new LogBuffer();
  const seen: string[] = [];
  const off = buf.subscribe((l) => seen.push(`${l.resource}: ${l.line}`));
  buf.append('a', { source: 'x', line: 'one' });
  off();
  buf.append('a', { source: 'x', line: 'two' });
  assert.deepEqual(seen, ['a: one']);
});
