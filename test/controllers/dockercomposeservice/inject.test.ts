/**
 * DockerComposeService injects ImageMaps as a KubernetesApply does: the image, environment
 * values with matchInEnvVars, overrideCommand / overrideArgs as the entrypoint / command, with
 * matchExact honoured. Checked in the running container.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DockerComposeService } from '../../../src/apis/dockercomposeservice.ts';
import type { ImageMap } from '../../../src/apis/imagemap.ts';
import { requireDocker, testImages } from '../../support/docker.ts';
import { Fixture, run } from './fixture.ts';

describe('DockerComposeService injection against the Docker Engine', () => {
  let f: Fixture;
  before(async () => {
    await requireDocker();
    f = await Fixture.start();
  });
  after(async () => {
    await f?.close();
  });

  test('the override command and args run, and a matching env var gets the built image', async () => {
    const repo = `ferry-test/dcs-inject-${f.id}`;
    const built = `${repo}:ferry-build-1`;
    await f.tagImage(testImages.busybox, built);
    const file = await f.writeFile('inject.yml', [
      'services:',
      '  web:',
      `    image: ${repo}:dev`,
      `    command: ["sh", "-c", "echo original; sleep 3600"]`,
      '    environment:',
      `      APP_IMAGE: ${repo}:dev`,
      `      OLD_IMAGE: ${repo}:old`,
      '      OTHER: busybox',
      '    labels: {ferry-test: "1"}',
      '',
    ].join('\n'));
    await f.create<ImageMap>({
      kind: 'ImageMap',
      metadata: { name: 'inject-image' },
      spec: {
        selector: `${repo}:dev`,
        matchExact: true,
        matchInEnvVars: true,
        overrideCommand: { command: ['sh', '-c'] },
        overrideArgs: { args: ['echo "seen $APP_IMAGE" > /tmp/seen; exec sleep 3599'] },
      },
    });
    const im = (await f.get<ImageMap>('ImageMap', 'inject-image'))!;
    await f.mgr.client.updateStatus<ImageMap>({ ...im, status: { image: built, imageFromLocal: built, imageFromCluster: built, buildStartTime: new Date().toISOString() } });
    await f.create<DockerComposeService>({
      kind: 'DockerComposeService',
      metadata: { name: 'inject-web' },
      spec: { service: 'web', project: { configPaths: [file], name: f.projectName('inject') }, imageMaps: ['inject-image'] },
    });

    const s = await f.waitDCS('inject-web', (o) => o.status?.containerState?.running === true, 'container running with the injected image');
    assert.equal(s.status!.applyError, undefined);
    const id = s.status!.containerID!;
    const inspect = JSON.parse((await run('docker', ['inspect', '-f', '{{json .Config}}', id])).stdout) as { Image: string; Entrypoint: string[]; Cmd: string[] };
    assert.equal(inspect.Image, built);
    assert.deepEqual(inspect.Entrypoint, ['sh', '-c']);
    assert.deepEqual(inspect.Cmd, ['echo "seen $APP_IMAGE" > /tmp/seen; exec sleep 3599']);

    const ps = (await run('docker', ['exec', id, 'ps', '-o', 'pid,args'])).stdout;
    assert.match(ps, /^\s*1\s+sleep 3599\s*$/m, `the override command runs as PID 1:\n${ps}`);
    assert.equal((await run('docker', ['exec', id, 'cat', '/tmp/seen'])).stdout.trim(), `seen ${built}`, 'the $ reached the container shell');

    const env = new Map((await run('docker', ['exec', id, 'env'])).stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const));
    assert.equal(env.get('APP_IMAGE'), built, 'the matching env var has the built image');
    assert.equal(env.get('OLD_IMAGE'), `${repo}:old`, 'matchExact: another tag is not a match');
    assert.equal(env.get('OTHER'), 'busybox');

    const steady = await f.steadyState('inject-web');
    assert.equal(steady.after, steady.before);
  });

  test('a command override that finds no container is the service\'s applyError', async () => {
    const repo = `ferry-test/dcs-noinject-${f.id}`;
    const built = `${repo}:ferry-build-1`;
    await f.tagImage(testImages.busybox, built);
    const file = await f.writeFile('noinject.yml', `services:\n  web:\n    image: ${testImages.busybox}\n    environment: {APP_IMAGE: "${repo}"}\n    labels: {ferry-test: "1"}\n`);
    await f.create<ImageMap>({
      kind: 'ImageMap',
      metadata: { name: 'noinject-image' },
      spec: { selector: repo, matchInEnvVars: true, overrideCommand: { command: ['run', 'it'] } },
    });
    const im = (await f.get<ImageMap>('ImageMap', 'noinject-image'))!;
    await f.mgr.client.updateStatus<ImageMap>({ ...im, status: { image: built, imageFromLocal: built, imageFromCluster: built } });
    await f.create<DockerComposeService>({
      kind: 'DockerComposeService',
      metadata: { name: 'noinject-web' },
      spec: { service: 'web', project: { configPaths: [file], name: f.projectName('noinject') }, imageMaps: ['noinject-image'] },
    });
    const s = await f.waitDCS('noinject-web', (o) => !!o.status?.applyError, 'applyError');
    assert.equal(
      s.status!.applyError,
      `could not inject command [run it] into entity: web. No container found matching ref: ${built}. Note: command overrides only supported on containers with images, not on CRDs`,
    );
    assert.equal(s.status!.containerID, undefined);
  });
});
