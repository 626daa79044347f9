import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DockerComposeService } from '../../../src/apis/dockercomposeservice.ts';
import type { ImageMap } from '../../../src/apis/imagemap.ts';
import type { ConfigMap } from '../../../src/apis/configmap.ts';
import { requireDocker, testImages } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';
import { Fixture, run } from './fixture.ts';

const keepRunning = `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`;

function twoServices(image = testImages.busybox): string {
  return [
    'services:',
    '  web:',
    `    image: ${image}`,
    `    command: ${keepRunning}`,
    '    labels: {ferry-test: "1"}',
    '  db:',
    `    image: ${testImages.busybox}`,
    `    command: ${keepRunning}`,
    '    labels: {ferry-test: "1"}',
    '',
  ].join('\n');
}

function dcs(name: string, spec: DockerComposeService['spec']): DockerComposeService {
  return { kind: 'DockerComposeService', metadata: { name }, spec };
}

async function containerExists(id: string): Promise<boolean> {
  return run('docker', ['inspect', id]).then(() => true, () => false);
}

describe('DockerComposeService against the Docker Engine', () => {
  let f: Fixture;
  before(async () => {
    await requireDocker();
    f = await Fixture.start();
  });
  after(async () => {
    await f?.close();
  });

  test('a project of two services: each object finds its own container, and state follows Docker', async () => {
    const file = await f.writeFile('two.yml', twoServices());
    const project = f.projectName('two');
    await f.create(dcs('two-web', { service: 'web', project: { configPaths: [file], name: project } }));
    await f.create(dcs('two-db', { service: 'db', project: { configPaths: [file], name: project } }));

    const web = await f.waitDCS('two-web', (o) => o.status?.containerState?.running === true, 'web running');
    const db = await f.waitDCS('two-db', (o) => o.status?.containerState?.running === true, 'db running');
    assert.notEqual(web.status!.containerID, db.status!.containerID);
    const { stdout: nets } = await run('docker', ['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`]);
    assert.equal(nets.trim().split('\n').length, 1, 'services of one project come up one at a time: one network');
    assert.equal(web.status!.containerName, `${project}_web_1`);
    assert.equal(db.status!.containerName, `${project}_db_1`);
    assert.equal(web.status!.containerState!.status, 'running');
    assert.ok(web.status!.lastApplyStartTime && web.status!.lastApplyFinishTime);
    assert.equal(web.status!.applyError, undefined);
    const { stdout: labels } = await run('docker', ['inspect', '-f', '{{index .Config.Labels "com.docker.compose.service"}}', web.status!.containerID!]);
    assert.equal(labels.trim(), 'web');
    assert.ok(f.output.some((o) => o.resource === 'two-web' && /web/.test(o.line)), 'Compose output is reported under the object name');

    const id = web.status!.containerID!;
    await run('docker', ['stop', '-t', '5', id]);
    let s = await f.waitDCS('two-web', (o) => o.status?.containerState?.status === 'exited', 'web exited after stop');
    assert.equal(s.status!.containerState!.running, false);
    assert.equal(s.status!.containerState!.exitCode, 0);
    assert.ok(s.status!.containerState!.finishedAt);

    await run('docker', ['start', id]);
    await f.waitDCS('two-web', (o) => o.status?.containerState?.running === true, 'web running after start');

    await run('docker', ['kill', id]);
    s = await f.waitDCS('two-web', (o) => o.status?.containerState?.status === 'exited', 'web exited after kill');
    assert.equal(s.status!.containerState!.exitCode, 137);

    await run('docker', ['restart', '-t', '1', id]);
    s = await f.waitDCS('two-web', (o) => o.status?.containerState?.running === true, 'web running after restart');
    assert.equal(s.status!.containerID, id, 'a restart keeps the container');

    let steady = await f.steadyState('two-web');
    assert.equal(steady.after, steady.before, 'nothing changes when nothing happened');

    await run('docker', ['rm', '-f', id]);
    s = await f.waitDCS('two-web', (o) => o.status?.containerID === undefined, 'web removed');
    assert.equal(s.status!.containerState, undefined);
    // The other service is untouched.
    assert.equal((await f.get<DockerComposeService>('DockerComposeService', 'two-db'))!.status!.containerID, db.status!.containerID);

    steady = await f.steadyState('two-db');
    assert.equal(steady.after, steady.before);
  });

  test('an ImageMap image replaces the service image; a new image recreates the container', async () => {
    const repo = `ferry-test/dcs-app-${f.id}`;
    // Interpolation: the image is resolved by Compose itself.
    const file = await f.writeFile('mapped.yml', twoServices(`\${FERRY_TEST_UNSET_IMAGE:-${repo}}:dev`));
    const project = f.projectName('mapped');
    await f.create<ImageMap>({ kind: 'ImageMap', metadata: { name: 'app-image' }, spec: { selector: repo } });
    await f.create(dcs('mapped-web', { service: 'web', project: { configPaths: [file], name: project }, imageMaps: ['app-image'] }));

    // No image yet: the service waits, without an error and without a container.
    await f.waitDCS('mapped-web', (o) => o.status?.disableStatus?.state === 'Enabled', 'first status');
    let steady = await f.steadyState('mapped-web');
    assert.equal(steady.after, steady.before);
    let s = (await f.get<DockerComposeService>('DockerComposeService', 'mapped-web'))!;
    assert.equal(s.status!.applyError, undefined);
    assert.equal(s.status!.containerID, undefined);
    assert.equal(s.status!.lastApplyStartTime, undefined);

    const setImage = async (image: string) => {
      const im = (await f.get<ImageMap>('ImageMap', 'app-image'))!;
      await f.mgr.client.updateStatus<ImageMap>({ ...im, status: { image, imageFromLocal: image, imageFromCluster: image, buildStartTime: new Date().toISOString() } });
    };
    const first = `${repo}:ferry-build-1`;
    await f.tagImage(testImages.busybox, first);
    await setImage(first);
    s = await f.waitDCS('mapped-web', (o) => o.status?.containerState?.running === true, 'container with the first image');
    const firstId = s.status!.containerID!;
    const image = async (id: string) => (await run('docker', ['inspect', '-f', '{{.Config.Image}}', id])).stdout.trim();
    assert.equal(await image(firstId), first);

    const second = `${repo}:ferry-build-2`;
    await f.tagImage(testImages.busyboxUser, second);
    await setImage(second);
    s = await f.waitDCS('mapped-web', (o) => o.status?.containerID !== firstId && o.status?.containerState?.running === true, 'container recreated with the second image');
    assert.equal(await image(s.status!.containerID!), second);
    assert.equal(await containerExists(firstId), false, 'the old container is gone');

    steady = await f.steadyState('mapped-web');
    assert.equal(steady.after, steady.before);
  });

  test('a broken Compose file and a missing image give applyError, and the controller carries on', async () => {
    const broken = await f.writeFile('broken.yml', 'services:\n  web:\n    image: [\n');
    const missing = await f.writeFile('missing.yml', `services:\n  web:\n    image: ferry-test/missing-${f.id}:1\n    labels: {ferry-test: "1"}\n`);
    const good = await f.writeFile('good.yml', twoServices());
    await f.create(dcs('broken', { service: 'web', project: { configPaths: [broken], name: f.projectName('broken') } }));
    await f.create(dcs('missing', { service: 'web', project: { configPaths: [missing], name: f.projectName('missing') } }));

    let s = await f.waitDCS('broken', (o) => !!o.status?.applyError, 'broken applyError');
    assert.match(s.status!.applyError!, /while parsing|yaml/i);
    assert.equal(s.status!.containerID, undefined);
    s = await f.waitDCS('missing', (o) => !!o.status?.applyError, 'missing applyError', 60_000);
    assert.match(s.status!.applyError!, /missing|pull|registry|no such host|not found/i);
    assert.equal(s.status!.containerID, undefined);

    // The controller still brings up other services.
    await f.create(dcs('after-errors', { service: 'db', project: { configPaths: [good], name: f.projectName('aftererrors') } }));
    await f.waitDCS('after-errors', (o) => o.status?.containerState?.running === true, 'a good service after errors');

    for (const name of ['broken', 'missing', 'after-errors']) {
      const steady = await f.steadyState(name);
      assert.equal(steady.after, steady.before, `${name} is steady`);
    }
  });

  test('disabling removes the container, enabling brings it back, deleting removes it', async () => {
    const project = f.projectName('toggle');
    await f.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name: 'toggle-disable' }, data: { isDisabled: 'false' } });
    await f.create(dcs('toggle', {
      service: 'web',
      project: { yaml: twoServices(), name: project },
      disableSource: { configMap: { name: 'toggle-disable', key: 'isDisabled' } },
    }));
    let s = await f.waitDCS('toggle', (o) => o.status?.containerState?.running === true, 'running from YAML');
    const id = s.status!.containerID!;

    const setDisabled = async (v: string) => {
      const cm = (await f.get<ConfigMap>('ConfigMap', 'toggle-disable'))!;
      await f.mgr.client.update<ConfigMap>({ ...cm, data: { isDisabled: v } });
    };
    await setDisabled('true');
    s = await f.waitDCS('toggle', (o) => o.status?.disableStatus?.state === 'Disabled', 'disabled');
    assert.equal(s.status!.containerID, undefined);
    assert.equal(await containerExists(id), false, 'disabling removes the container');
    let steady = await f.steadyState('toggle');
    assert.equal(steady.after, steady.before);

    await setDisabled('false');
    s = await f.waitDCS('toggle', (o) => o.status?.disableStatus?.state === 'Enabled' && o.status?.containerState?.running === true, 're-enabled');
    const id2 = s.status!.containerID!;
    steady = await f.steadyState('toggle');
    assert.equal(steady.after, steady.before);

    await f.mgr.client.delete('DockerComposeService', 'toggle');
    await waitFor(async () => !(await containerExists(id2)), { timeoutMs: 30_000, message: 'container removed after delete' });
  });
});

describe('DockerComposeService teardown without a readable project', () => {
  test('deleting removes the container even after its Compose file broke', async (t) => {
    if (!(await requireDocker(t))) return;
    const f = await Fixture.start();
    try {
      const file = await f.writeFile('later-broken.yml', twoServices());
      await f.create(dcs('later-broken', { service: 'web', project: { configPaths: [file], name: f.projectName('laterbroken') } }));
      const s = await f.waitDCS('later-broken', (o) => o.status?.containerState?.running === true, 'running');
      const id = s.status!.containerID!;
      await f.writeFile('later-broken.yml', 'services:\n  web:\n    image: [\n');
      await f.mgr.client.delete('DockerComposeService', 'later-broken');
      await waitFor(async () => !(await containerExists(id)), { timeoutMs: 30_000, message: 'container removed after delete' });
    } finally {
      await f.close();
    }
  });
});

describe('DockerComposeService with the plugin command form', () => {
  test('brings a service up through `docker compose`', async (t) => {
    if (!(await requireDocker(t))) return;
    const { mkdtemp, mkdir, writeFile, chmod, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const cfg = await mkdtemp(path.join(os.tmpdir(), 'ferry-dcs-plugin-'));
    await mkdir(path.join(cfg, 'cli-plugins'));
    const shim = path.join(cfg, 'cli-plugins', 'docker-compose');
    await writeFile(shim, '#!/bin/sh\nif [ "$1" = docker-cli-plugin-metadata ]; then echo \'{"SchemaVersion":"0.1.0","Vendor":"ferry tests","Version":"v2.0.0"}\'; exit 0; fi\nshift\necho "$@" >>"$(dirname "$0")/calls.log"\nexec docker-compose "$@"\n');
    await chmod(shim, 0o755);
    const f = await Fixture.start({ form: 'plugin', env: { ...process.env, DOCKER_CONFIG: cfg } });
    try {
      const project = f.projectName('plugin');
      await f.create(dcs('plugin-web', { service: 'web', project: { yaml: twoServices(), name: project } }));
      const s = await f.waitDCS('plugin-web', (o) => o.status?.containerState?.running === true, 'running through the plugin form');
      assert.equal(s.status!.applyError, undefined);
      const { stdout } = await run('cat', [path.join(cfg, 'cli-plugins', 'calls.log')]);
      assert.match(stdout, new RegExp(`^-p ${project} -f \\S+ up -d --no-deps web$`, 'm'));
      const steady = await f.steadyState('plugin-web');
      assert.equal(steady.after, steady.before);
    } finally {
      await f.close();
      await rm(cfg, { recursive: true, force: true });
    }
  });
});
