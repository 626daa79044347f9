/**
 * `ferry ci` beside a dev daemon running the same example: it runs its own Compose project, is
 * ready only after its own build, and leaves the dev container running, untouched.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { requireDocker, testImages } from '../support/docker.ts';
import { runFerry, startFerryProcess, type FerryProcess } from '../support/daemon.ts';
import { waitFor } from '../support/wait.ts';

const example = path.resolve(import.meta.dirname, '../../deploy/examples/docker');

describe('ferry ci beside a dev daemon', () => {
  let docker: Docker;
  let dir: string;
  let dev: FerryProcess;
  const env = { EXAMPLE_BASE_IMAGE: testImages.busybox };
  before(async () => {
    docker = await requireDocker();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-ci-beside-'));
    fs.cpSync(example, dir, { recursive: true });
    dev = await startFerryProcess({ cwd: dir, env, args: ['--storage', 'memory', '--port', '0'] });
  });
  after(async () => {
    if (dev) {
      await runFerry(['--data-dir', dev.dataDir, 'delete', '-f', 'ferry.yaml'], { cwd: dir });
      // The DockerComposeService is gone once its container and network are.
      await waitFor(async () => (await runFerry(['--data-dir', dev.dataDir, 'get', 'dc', 'web'], { cwd: dir })).code !== 0, { timeoutMs: 60_000 }).catch(() => undefined);
      await dev.stop();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const devContainer = async () => {
    const list = await docker.listContainers({ filters: { label: ['com.docker.compose.project=ferry-example', 'com.docker.compose.service=web'] } });
    return list.length === 1 && list[0].State === 'running' ? list[0].Id : undefined;
  };

  it('passes, and the dev container keeps running untouched', async () => {
    const applied = await runFerry(['--data-dir', dev.dataDir, 'apply', '-f', 'ferry.yaml'], { cwd: dir });
    assert.equal(applied.code, 0, applied.stderr);
    const id = await waitFor(devContainer, { timeoutMs: 120_000, message: 'the dev container' });
    const started = (await docker.getContainer(id!).inspect()).State.StartedAt;

    const devImage = (await docker.getContainer(id!).inspect()).Config.Image;
    const ci = await runFerry(['ci', '-f', 'ferry.yaml', '--timeout', '2m'], { cwd: dir, env });
    const out = ci.stdout + ci.stderr;
    assert.equal(ci.code, 0, out);
    assert.match(out, /SUCCESS\. All workloads are healthy\./);
    const built = out.indexOf('Build succeeded');
    const ready = out.indexOf('web:runtime: ready');
    assert.ok(built >= 0 && ready > built, `ready only after its own build:\n${out}`);
    const ciProject = /Creating (ferry-example-ci-[0-9a-f]+)_web_1/.exec(out)?.[1];
    assert.ok(ciProject, `ci runs its own Compose project:\n${out}`);

    assert.equal(await devContainer(), id, 'the dev container is still running');
    assert.equal((await docker.getContainer(id!).inspect()).State.StartedAt, started, 'and was not restarted');
    const leftovers = await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${ciProject}`] } });
    assert.deepEqual(leftovers, [], 'ci removed its own container');
    const networks = await docker.listNetworks({ filters: { name: [ciProject!] } });
    assert.deepEqual(networks.map((n) => n.Name), [], 'and its own network');
    assert.doesNotMatch(out, /warn/i, 'a healthy run prints no warning');

    const ciTag = /EXPECTED_TAG=(tilt-build-\d+)/.exec(out)?.[1];
    assert.ok(ciTag, out);
    await assert.rejects(docker.getImage(`ferry-example-web:${ciTag}`).inspect(), 'the build tag ci made is gone');
    await docker.getImage(devImage).inspect(); // the dev container's image is still tagged

  });
});
