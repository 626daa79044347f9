import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogBuffer, logCategory } from '../../src/util/log-buffer.ts';

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

test('lines are build, runtime or sync by the kind that wrote them', () => {
  assert.equal(logCategory('CmdImage/web'), 'build');
  assert.equal(logCategory('Cmd/api'), 'build');
  assert.equal(logCategory('KubernetesApply/api'), 'build');
  assert.equal(logCategory('DockerComposeService'), 'build');
  assert.equal(logCategory('LiveUpdate'), 'sync');
  assert.equal(logCategory('LiveUpdate/web'), 'sync');
  assert.equal(logCategory('DockerComposeLogStream/web'), 'runtime');
  assert.equal(logCategory('PodLogStream/api-default-api-1'), 'runtime');
});

test('LogBuffer keeps to several resources and one category, in append order', () => {
  const buf = new LogBuffer();
  buf.append('web', { source: 'CmdImage/web', line: 'built' });
  buf.append('api', { source: 'PodLogStream/api', line: 'api up' });
  buf.append('db', { source: 'DockerComposeLogStream/db', line: 'db up' });
  buf.append('web', { source: 'DockerComposeLogStream/web', line: 'web up' });
  assert.deepEqual(buf.lines({ resources: ['web', 'api'] }).map((l) => l.line), ['built', 'api up', 'web up']);
  assert.deepEqual(buf.lines({ resources: ['web', 'api'], category: 'runtime' }).map((l) => l.line), ['api up', 'web up']);
  assert.deepEqual(buf.lines({ category: 'sync' }), []);
  assert.ok(buf.has('db') && !buf.has('nope'));
});
