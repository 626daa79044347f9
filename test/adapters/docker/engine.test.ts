/**
 * DockerEngine and DockerodePinger on the real Engine, reached through a docker context in a
 * scratch HOME (as `docker context use` leaves it), so the context path is what connects.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DockerEngine, DockerodePinger } from '../../../src/adapters/docker/index.ts';
import { requireDocker } from '../../support/docker.ts';

const engineSocket = 'unix:///var/run/docker.sock';

/** homeWithContext is a scratch HOME whose current docker context `ferry-test` points at host. */
function homeWithContext(t: TestContext, host: string): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-docker-ctx-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  const meta = path.join(home, '.docker', 'contexts', 'meta', createHash('sha256').update('ferry-test').digest('hex'));
  fs.mkdirSync(meta, { recursive: true });
  fs.writeFileSync(path.join(meta, 'meta.json'), JSON.stringify({ Name: 'ferry-test', Endpoints: { docker: { Host: host } } }));
  fs.writeFileSync(path.join(home, '.docker', 'config.json'), JSON.stringify({ currentContext: 'ferry-test' }));
  return home;
}

test('the current docker context reaches the Engine: version, containers and a ping', async (t) => {
  const docker = await requireDocker(t);
  if (!docker || process.env.DOCKER_HOST) return;
  const env = { HOME: homeWithContext(t, engineSocket) };
  const engine = DockerEngine.connect({ env });
  assert.equal(engine.connection.source, 'context');
  assert.equal(engine.connection.context, 'ferry-test');
  const v = await docker.version();
  const mine = await engine.version();
  assert.deepEqual(mine, { version: v.Version, apiVersion: v.ApiVersion, arch: v.Arch });
  assert.ok(Array.isArray(await engine.client().listContainers()));
  assert.deepEqual(await engine.pinger().ping(), { host: engineSocket, version: v.Version, arch: v.Arch });
});

test('a context naming a socket nobody listens on: the ping names that address', async (t) => {
  const env = { HOME: homeWithContext(t, 'unix:///nonexistent/docker.sock') };
  const pinger = new DockerodePinger({ env, timeoutMs: 2_000 });
  assert.equal(pinger.address(), 'unix:///nonexistent/docker.sock');
  await assert.rejects(pinger.ping(), /Cannot connect to the Docker daemon at unix:\/\/\/nonexistent\/docker\.sock/);
  assert.equal(pinger.address('tcp://10.1.2.3'), 'tcp://10.1.2.3');
});
