import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { realClock } from '../../../src/util/clock.ts';
import { planArchive } from '../../../src/adapters/tar/archive.ts';
import { DockerContainerUpdater } from '../../../src/adapters/containers/docker.ts';
import { RunStepFailure, type ContainerTarget, type ContainerUpdate } from '../../../src/adapters/containers/updater.ts';
import { cleanupContainers, execIn, readFileIn, requireDocker, runContainer, statIn, testImages, defaultCmd, testLabel } from '../../support/docker.ts';

after(cleanupContainers);

async function files(t: { after(fn: () => Promise<void>): void }, content: Record<string, string>): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-upd-'));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  for (const [name, data] of Object.entries(content)) {
    await fsp.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fsp.writeFile(path.join(dir, name), data);
  }
  return dir;
}

function target(id: string): ContainerTarget {
  return { containerId: id, containerName: '', podName: '', namespace: '' };
}

function update(id: string, u: Partial<ContainerUpdate>): ContainerUpdate {
  return { target: target(id), deletePaths: [], execs: [], restart: false, ...u };
}

test('files arrive owned by the container user, replacing root-owned files, with no tar needed', async (t) => {
  const docker = await requireDocker(t);
  if (!docker) return;
  const updater = new DockerContainerUpdater({ docker, clock: realClock });
  const dir = await files(t, { 'new.txt': 'new', 'owned-by-root.txt': 'replaced' });

  for (const image of [testImages.busyboxUser, testImages.notar]) {
    const c = await runContainer(docker, { image });
    const plan = await planArchive([{ localPath: dir, containerPath: '/app' }]);
    await updater.update(update(c.id, { archive: plan.stream }));
    assert.equal(await readFileIn(docker, c.id, '/app/new.txt'), 'new');
    if (image === testImages.busyboxUser) {
      assert.equal(await readFileIn(docker, c.id, '/app/owned-by-root.txt'), 'replaced');
      const st = await statIn(docker, c.id, '/app/new.txt');
      assert.equal(st.uid, 1000);
    }
  }
});

test('deletions run before the copy, and execs run after it in order', async (t) => {
  const docker = await requireDocker(t);
  if (!docker) return;
  const updater = new DockerContainerUpdater({ docker, clock: realClock });
  const c = await runContainer(docker, { image: testImages.busybox });
  await execIn(docker, c.id, ['sh', '-c', 'mkdir -p /app/old && echo x > /app/old/f && echo y > /app/keep']);
  const dir = await files(t, { 'a.txt': 'A' });
  const plan = await planArchive([{ localPath: path.join(dir, 'a.txt'), containerPath: '/app/a.txt' }]);
  const output: string[] = [];
  await updater.update(
    update(c.id, {
      deletePaths: ['/app/old', '/app/missing'],
      archive: plan.stream,
      execs: [
        { args: ['sh', '-c', 'cat /app/a.txt > /app/seen; echo ran-first'], timeoutMs: 10_000 },
        { args: ['sh', '-c', 'echo second >> /app/seen'], timeoutMs: 10_000 },
      ],
      onOutput: (s) => output.push(s),
    }),
  );
  assert.equal((await execIn(docker, c.id, ['ls', '/app/old'])).exitCode !== 0, true);
  assert.equal(await readFileIn(docker, c.id, '/app/keep'), 'y\n');
  assert.equal(await readFileIn(docker, c.id, '/app/seen'), 'Asecond\n');
  assert.match(output.join(''), /ran-first/);
});

test('an exec that exits non-zero is a RunStepFailure with the exit code in the message', async (t) => {
  const docker = await requireDocker(t);
  if (!docker) return;
  const updater = new DockerContainerUpdater({ docker, clock: realClock });
  const c = await runContainer(docker, { image: testImages.busybox });
  await assert.rejects(
    updater.update(update(c.id, { execs: [{ args: ['sh', '-c', 'exit 3'], timeoutMs: 10_000 }, { args: ['touch', '/never'], timeoutMs: 10_000 }] })),
    (err: unknown) => {
      assert.ok(err instanceof RunStepFailure);
      assert.equal(err.message, `executing on container ${c.id.slice(0, 10)}: command "exit 3" failed with exit code: 3`);
      return true;
    },
  );
  assert.notEqual((await execIn(docker, c.id, ['ls', '/never'])).exitCode, 0);
  await assert.rejects(updater.update(update(c.id, { execs: [{ args: ['no-such-binary'], timeoutMs: 10_000 }] })), (err: unknown) => {
    assert.ok(err instanceof RunStepFailure);
    assert.match(err.message, /command "no-such-binary" failed with exit code: 12[67] \(not found in PATH or not executable\)/);
    return true;
  });
});

test('a hung exec fails the update with its timeout instead of hanging', async (t) => {
  const docker = await requireDocker(t);
  if (!docker) return;
  const updater = new DockerContainerUpdater({ docker, clock: realClock });
  const c = await runContainer(docker, { image: testImages.busybox });
  await assert.rejects(updater.update(update(c.id, { execs: [{ args: ['sleep', '30'], timeoutMs: 300 }] })), (err: unknown) => {
    assert.ok(!(err instanceof RunStepFailure));
    assert.equal((err as Error).message, `executing on container ${c.id.slice(0, 10)}: command "sleep 30" timed out after 300ms`);
    return true;
  });
});

test('a container that dies during an exec fails the update saying so', async (t) => {
  const docker = await requireDocker(t);
  if (!docker) return;
  const updater = new DockerContainerUpdater({ docker, clock: realClock, livenessIntervalMs: 100 });
  const c = await runContainer(docker, { image: testImages.busybox });
  const running = updater.update(update(c.id, { execs: [{ args: ['sh', '-c', 'touch /started; sleep 30'], timeoutMs: 60_000 }] }));
  const outcome = running.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  for (let i = 0; i < 100 && (await execIn(docker, c.id, ['ls', '/started'])).exitCode !== 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await docker.getContainer(c.id).kill();
  const err = await outcome;
  assert.ok(err instanceof Error);
  assert.match(err.message, /container .* is exited|exit code: 137/);
});

test('a read-only target gives a clear copy error', async (t) => {
  const docker = await requireDocker(t);
  if (!docker) return;
  const updater = new DockerContainerUpdater({ docker, clock: realClock });
  const created = await docker.createContainer({
    Image: testImages.busybox,
    Cmd: defaultCmd,
    Labels: { [testLabel]: '1' },
    HostConfig: { ReadonlyRootfs: true },
  });
  t.after(() => created.remove({ force: true }));
  await created.start();
  const dir = await files(t, { 'a.txt': 'A' });
  const plan = await planArchive([{ localPath: dir, containerPath: '/app' }]);
  await assert.rejects(updater.update(update(created.id, { archive: plan.stream })), (err: unknown) => {
    assert.match((err as Error).message, /^copying changed files: .*read-only/);
    return true;
  });
});

test('restart restarts the container in place', async (t) => {
  const docker = await requireDocker(t);
  if (!docker) return;
  const updater = new DockerContainerUpdater({ docker, clock: realClock });
  const c = await runContainer(docker, { image: testImages.busybox });
  const before = (await docker.getContainer(c.id).inspect()).State.StartedAt;
  await updater.update(update(c.id, { restart: true }));
  const info = await docker.getContainer(c.id).inspect();
  assert.equal(info.State.Running, true);
  assert.notEqual(info.State.StartedAt, before);
});
