import { test } from 'node:test';
import assert from 'node:assert/strict';
import { marker, pickContainer, projectName, readPosition } from '../../../controllers/dockercomposelogstream/position.ts';
import type { DockerComposeLogStream, DockerComposeProject } from '../../../src/apis/index.ts';

const stream = (annotations: Record<string, string> = {}, project: DockerComposeProject = {}): DockerComposeLogStream => ({
  metadata: { name: 'web', annotations },
  spec: { service: 'app', project },
});

test('a new run of the service is marked: a restart, or a new container', () => {
  assert.equal(marker(undefined, { container: 'abc', startedAt: 't1' }), undefined);
  assert.equal(marker({ container: 'abc', startedAt: 't1', time: 'x' }, { container: 'abc', startedAt: 't1' }), undefined);
  assert.equal(marker({ container: 'abc', startedAt: 't1' }, { container: 'abc', startedAt: 't2' }), '[container restarted]');
  assert.equal(marker({ container: 'abc' }, { container: '0123456789abcdef' }), '[new container 0123456789ab]');
});

test('the read position is read from its annotation, and a broken one is ignored', () => {
  assert.deepEqual(readPosition(stream({ 'ferry.dev/log-position': '{"container":"abc","time":"t"}' })), { container: 'abc', time: 't' });
  assert.equal(readPosition(stream({ 'ferry.dev/log-position': '{oops' })), undefined);
  assert.equal(readPosition(stream({ 'ferry.dev/log-position': '[]' })), undefined);
  assert.equal(readPosition(stream()), undefined);
});

test('the container followed is a running one, else the newest', () => {
  const c = (id: string, state: string, createdMs: number) => ({ id, name: id, image: 'i', labels: {}, state, createdMs });
  assert.equal(pickContainer([c('old', 'running', 1), c('new', 'exited', 2)])?.id, 'old');
  assert.equal(pickContainer([c('old', 'exited', 1), c('new', 'exited', 2)])?.id, 'new');
  assert.equal(pickContainer([]), undefined);
});

test('the Compose project is named as Compose names it', () => {
  assert.equal(projectName(stream({}, { name: 'shop' }), '/src'), 'shop');
  assert.equal(projectName(stream({}, { configPaths: ['app/compose.yaml'] }), '/src'), 'app');
  assert.equal(projectName(stream({}, { yaml: 'services: {}' }), '/src'), 'web');
});
