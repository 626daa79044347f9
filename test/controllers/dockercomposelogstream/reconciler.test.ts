/**
 * DockerComposeLogStream against the real Docker Engine and Compose: a service's container
 * prints, is restarted, is replaced; the daemon (the controller's manager) restarts between
 * lines. Every line reaches the resource's logs once, with a marker for each new run.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { apiVersion, type DockerComposeLogStream, type DockerComposeService } from '../../../src/apis/index.ts';
import { DockerEngine, DockerodeClient } from '../../../src/adapters/docker/index.ts';
import { LogBuffer } from '../../../src/util/log-buffer.ts';
import { setup, positionAnnotation } from '../../../controllers/dockercomposelogstream/index.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { requireDocker, testImages } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';

const run = promisify(execFile);

// Each run of the container prints two lines (one on stderr) tagged with a random id, then a
// line for every USR1 it gets, until TERM.
const script = [
  'R=$$(head -c4 /dev/urandom | od -An -tx1 | tr -d " \\n")',
  'echo "run $$R one"',
  'echo "run $$R two" >&2',
  'trap "exit 0" TERM',
  'N=0',
  'trap \'N=$$((N+1)); echo "run $$R poke $$N"\' USR1',
  'while true; do sleep 3600 & wait $$!; done',
].join('; ');

const composeYaml = `version: "3"
services:
  app:
    image: ${testImages.busybox}
    command: ["sh", "-c", ${JSON.stringify(script)}]
`;

describe('DockerComposeLogStream', () => {
  const project = `ferrylogs${randomBytes(3).toString('hex')}`;
  let h: ControllerHarness<ReturnType<typeof setup>>;
  let file: string;
  const logs = new LogBuffer();
  const compose = (...args: string[]) => run('docker-compose', ['-p', project, '-f', file, ...args]);
  const containerId = async () => (await compose('ps', '-q', 'app')).stdout.trim();
  const lines = (resource: string) => logs.lines({ resource }).map((l) => l.line);

  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  before(async () => {
    await requireDocker();
    h = await ControllerHarness.start({ after: (fn: () => Promise<void>) => cleanups.push(fn) }, {
      dirPrefix: 'ferry-dcls-test-',
      setup: (mgr, env) => setup(mgr, { cwd: env.dir, docker: new DockerodeClient(), containerLogs: DockerEngine.connect().containerLogs(), logs, persistMs: 50 }),
      cleanup: async () => {
        await compose('down', '-t', '0').catch(() => undefined);
      },
    });
    file = path.join(h.dir, 'compose.yaml');
    await writeFile(file, composeYaml);
    await compose('up', '-d');
  });

  it('follows the output of a container that prints, restarts and is replaced, marking each new run', async () => {
    await h.create<DockerComposeLogStream>({
      apiVersion,
      kind: 'DockerComposeLogStream',
      metadata: { name: 'app', annotations: { 'tilt.dev/resource': 'web' } },
      spec: { service: 'app', project: { name: project, configPaths: [file] } },
    });
    await waitFor(() => lines('web').length === 2, { message: 'the first run\'s lines', timeoutMs: 20_000 });
    const first = logs.lines({ resource: 'web' });
    assert.deepEqual(new Set(first.map((l) => l.stream)), new Set(['stdout', 'stderr']));
    assert.equal(first[0].source, 'DockerComposeLogStream/app');
    const firstId = await containerId();

    await run('docker', ['restart', '-t', '0', firstId]);
    await waitFor(() => lines('web').length === 5, { message: 'the restarted run\'s lines', timeoutMs: 20_000 });
    assert.equal(lines('web')[2], '[container restarted]');

    await compose('up', '-d', '--force-recreate');
    const secondId = await containerId();
    assert.notEqual(secondId, firstId);
    await waitFor(() => lines('web').length === 8, { message: 'the new container\'s lines', timeoutMs: 20_000 });
    assert.equal(lines('web')[5], `[new container ${secondId.slice(0, 12)}]`);

    const printed = lines('web').filter((l) => !l.startsWith('['));
    assert.equal(printed.length, 6);
    assert.equal(new Set(printed).size, 6, `no line twice: ${printed.join(' | ')}`);
    const runs = new Set(printed.map((l) => l.split(' ')[1]));
    assert.equal(runs.size, 3, 'three runs');

    const obj = await h.waitObject<DockerComposeLogStream>('DockerComposeLogStream', 'app', (o) => !!o.status?.startedAt && (o.metadata.annotations?.[positionAnnotation] ?? '').includes(secondId), 'started');
    assert.equal(obj.status?.error, undefined);
    await h.steadyState('dockercomposelogstream', 'DockerComposeLogStream', 'app', { snapshot: () => lines('web').length, what: 'no line printed again' });
  });

  it('resumes after a daemon restart without printing a line twice, and prints what came meanwhile', async () => {
    const id = await containerId();
    await run('docker', ['kill', '-s', 'USR1', id]);
    await waitFor(() => lines('web').some((l) => l.endsWith('poke 1')), { message: 'the first poke' });
    await h.stop();
    const before = lines('web').length;
    const stored = await h.mustGet<DockerComposeLogStream>('DockerComposeLogStream', 'app');
    assert.ok(stored.metadata.annotations?.[positionAnnotation], 'the read position is recorded');

    await run('docker', ['kill', '-s', 'USR1', id]);
    await h.restart();
    await waitFor(() => lines('web').length === before + 1, { message: 'the poke printed while stopped', timeoutMs: 20_000 });
    await run('docker', ['kill', '-s', 'USR1', id]);
    await waitFor(() => lines('web').length === before + 2, { message: 'a poke after the restart', timeoutMs: 20_000 });
    const printed = lines('web').filter((l) => !l.startsWith('['));
    assert.equal(new Set(printed).size, printed.length, `no line twice: ${printed.join(' | ')}`);
    assert.ok(!lines('web').slice(before).some((l) => l.startsWith('[')), 'the same container after a restart is not marked');
  });

  it('is created for a DockerComposeService that has none, owned by it and in its resource', async () => {
    const svc = await h.create<DockerComposeService>({
      apiVersion,
      kind: 'DockerComposeService',
      metadata: { name: 'svc', annotations: { 'tilt.dev/resource': 'api' } },
      spec: { service: 'app', project: { name: project, configPaths: [file] } },
    });
    const stream = await h.waitObject<DockerComposeLogStream>('DockerComposeLogStream', 'svc', () => true, 'created');
    assert.equal(stream.metadata.annotations?.['tilt.dev/resource'], 'api');
    assert.deepEqual(stream.spec, { service: 'app', project: { name: project, configPaths: [file] } });
    assert.equal(stream.metadata.ownerReferences?.[0]?.uid, svc.metadata.uid);
    await waitFor(() => lines('api').length >= 2, { message: 'the service\'s lines under its resource' });
  });
});
