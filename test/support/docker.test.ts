import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import {
  cleanupContainers,
  execIn,
  readFileIn,
  requireDocker,
  runContainer,
  statIn,
  testImages,
  testLabel,
  testRegistry,
} from './docker.ts';
import { waitFor } from './wait.ts';

describe('docker test helpers', () => {
  let docker: Docker;

  before(async () => {
    docker = await requireDocker();
  });

  after(cleanupContainers);

  it('runs a labelled busybox container, execs in it and reads its files', async () => {
    const c = await runContainer(docker, { image: testImages.busybox, labels: { purpose: 'helpers' } });
    const info = await docker.getContainer(c.id).inspect();
    assert.equal(info.State.Running, true);
    assert.equal(info.Config.Labels[testLabel], '1');
    assert.equal(info.Config.Labels.purpose, 'helpers');

    const echo = await execIn(docker, c.id, ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual(echo, { exitCode: 3, stdout: 'out\n', stderr: 'err\n' });

    const write = await execIn(docker, c.id, ['sh', '-c', 'cat >/tmp/in.txt'], { stdin: 'from stdin' });
    assert.equal(write.exitCode, 0);
    assert.equal(await readFileIn(docker, c.id, '/tmp/in.txt'), 'from stdin');
    await assert.rejects(readFileIn(docker, c.id, '/tmp/missing.txt'));

    for (const applet of ['tar', 'inotifyd', 'nc', 'wget', 'mkfifo', 'stat', 'find']) {
      const which = await execIn(docker, c.id, ['which', applet]);
      assert.equal(which.exitCode, 0, `${applet} is in ${testImages.busybox}`);
    }
  });

  it('runs the user image as uid 1000 with a root-owned file in /app', async () => {
    const c = await runContainer(docker, { image: testImages.busyboxUser });
    const id = await execIn(docker, c.id, ['id', '-u']);
    assert.equal(id.stdout.trim(), '1000');
    assert.equal((await execIn(docker, c.id, ['pwd'])).stdout.trim(), '/app');
    assert.deepEqual(await statIn(docker, c.id, '/app/owned-by-root.txt'), {
      type: 'file',
      uid: 0,
      gid: 0,
      mode: 0o644,
      size: 5,
    });
    const app = await statIn(docker, c.id, '/app');
    assert.equal(app.uid, 1000);
    const overwrite = await execIn(docker, c.id, ['sh', '-c', 'echo x >/app/owned-by-root.txt']);
    assert.notEqual(overwrite.exitCode, 0, 'uid 1000 cannot write the root-owned file');
  });

  it('has no tar in the notar image, not even through the shell', async () => {
    const c = await runContainer(docker, { image: testImages.notar });
    const direct = await execIn(docker, c.id, ['tar', '--help']);
    assert.notEqual(direct.exitCode, 0);
    assert.match(direct.stdout + direct.stderr, /executable file not found/);
    const viaShell = await execIn(docker, c.id, ['sh', '-c', 'tar --help']);
    assert.equal(viaShell.exitCode, 127);
    assert.equal((await execIn(docker, c.id, ['ls', '/'])).exitCode, 0);
  });

  it('reports file events with inotifyd', async () => {
    const c = await runContainer(docker, {
      image: testImages.busybox,
      cmd: ['sh', '-c', 'mkdir -p /w && inotifyd - /w:n >/tmp/events'],
    });
    await waitForInotifyWatch(docker, c.id);
    await execIn(docker, c.id, ['touch', '/w/new.txt']);
    const events = await waitFor(async () => (await readFileIn(docker, c.id, '/tmp/events')) || undefined);
    assert.equal(events, 'n\t/w\tnew.txt\n');
  });

  it('pushes to the registry on the test address', async () => {
    const repo = `${testRegistry}/ferry-test/helpers`;
    const tag = `t${process.pid}`;
    await docker.getImage(testImages.busybox).tag({ repo, tag });
    try {
      // Engine 20.10 rejects a push without an X-Registry-Auth header, even an empty one.
      const authconfig = { serveraddress: testRegistry };
      const progress = await docker.getImage(`${repo}:${tag}`).push({ authconfig });
      const events = await new Promise<{ error?: string }[]>((resolve, reject) =>
        docker.modem.followProgress(progress, (err, out) => (err ? reject(err) : resolve(out))),
      );
      assert.deepEqual(events.filter((e) => e.error), []);
      const res = await fetch(`http://${testRegistry}/v2/ferry-test/helpers/tags/list`);
      const body = (await res.json()) as { tags: string[] };
      assert.ok(body.tags.includes(tag), `${tag} in ${JSON.stringify(body.tags)}`);
    } finally {
      await docker.getImage(`${repo}:${tag}`).remove();
    }
  });
});

/** waitForInotifyWatch waits until a process in the container holds an inotify watch. */
async function waitForInotifyWatch(docker: Docker, id: string): Promise<void> {
  await waitFor(
    async () => {
      const fdinfo = 'cat /proc/[0-9]*/fdinfo/* 2>/dev/null | grep -c "^inotify wd:"';
      return Number((await execIn(docker, id, ['sh', '-c', fdinfo])).stdout.trim()) > 0;
    },
    { message: 'an inotify watch' },
  );
}
