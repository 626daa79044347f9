import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { DockerComposeService } from '../../../src/apis/dockercomposeservice.ts';
import type { ImageMap } from '../../../src/apis/imagemap.ts';
import { applyInputsHash, containerFields, pickContainer, planImage, waitLogLevel } from '../../../controllers/dockercomposeservice/status.ts';
import { plainServiceConfig, projectName } from '../../../controllers/dockercomposeservice/project.ts';
import { overrideYaml } from '../../../src/adapters/compose/index.ts';
import type { ContainerSummary } from '../../../src/adapters/docker/index.ts';

function im(name: string, selector: string, imageFromLocal?: string, matchExact?: boolean): ImageMap {
  return { metadata: { name }, spec: { selector, matchExact }, status: imageFromLocal ? { imageFromLocal, image: imageFromLocal } : undefined };
}

describe('DockerComposeService image planning', () => {
  const ready = (override: object, imageMaps: string[]) => ({ kind: 'ready', override, imageMaps });

  test('an ImageMap whose selector matches the service image gives the image', () => {
    const maps = new Map([
      ['other', im('other', 'other-app', 'other-app:built')],
      ['app', im('app', 'docker.io/library/app', 'app:ferry-1')],
    ]);
    assert.deepEqual(planImage({ name: 'svc', image: 'app:dev' }, ['other', 'app'], maps), ready({ image: 'app:ferry-1' }, ['app']));
  });

  test('matching ignores tags unless the ImageMap asks for exact matches', () => {
    assert.deepEqual(planImage({ name: 'svc', image: 'app:dev' }, ['m'], new Map([['m', im('m', 'app:prod', 'app:b', true)]])), ready({}, []));
    assert.deepEqual(planImage({ name: 'svc', image: 'app:dev' }, ['m'], new Map([['m', im('m', 'app:dev', 'app:b', true)]])), ready({ image: 'app:b' }, ['m']));
    assert.deepEqual(planImage({ name: 'svc', image: 'myreg/app:dev' }, ['m'], new Map([['m', im('m', 'app', 'app:b')]])), ready({}, []), 'a different repository is not a match');
  });

  test('a named ImageMap without an image, or missing, makes the service wait', () => {
    assert.deepEqual(planImage({ name: 'svc', image: 'app' }, ['a', 'b'], new Map([['a', im('a', 'app')], ['b', undefined]])), { kind: 'waiting', imageMaps: ['a', 'b'] });
  });

  test('command and args overrides become the entrypoint and command; matchInEnvVars rewrites matching values', () => {
    const m: ImageMap = {
      metadata: { name: 'm' },
      spec: { selector: 'app', matchInEnvVars: true, overrideCommand: { command: ['/bin/sh', '-c'] }, overrideArgs: { args: ['echo $IMG'] } },
      status: { image: 'app:b', imageFromLocal: 'app:b' },
    };
    const service = { name: 'svc', image: 'app:dev', environment: { IMG: 'app:dev', OTHER: 'busybox', TEXT: 'Not An Image', HOST: null } };
    assert.deepEqual(planImage(service, ['m'], new Map([['m', m]])), ready({ image: 'app:b', entrypoint: ['/bin/sh', '-c'], command: ['echo $IMG'], environment: { IMG: 'app:b' } }, ['m']));
    const noEnv = { ...m, spec: { ...m.spec!, matchInEnvVars: false } };
    assert.deepEqual(planImage(service, ['m'], new Map([['m', noEnv]])), ready({ image: 'app:b', entrypoint: ['/bin/sh', '-c'], command: ['echo $IMG'] }, ['m']));
  });

  test('an injection error is the plan\'s error', () => {
    const m: ImageMap = { metadata: { name: 'm' }, spec: { selector: 'app', matchInEnvVars: true, overrideCommand: { command: ['run'] } }, status: { image: 'app:b', imageFromLocal: 'app:b' } };
    assert.deepEqual(planImage({ name: 'svc', image: 'busybox', environment: { IMG: 'app' } }, ['m'], new Map([['m', m]])), {
      kind: 'error',
      error: 'could not inject command [run] into entity: svc. No container found matching ref: app:b. Note: command overrides only supported on containers with images, not on CRDs',
    });
    assert.equal(planImage({ name: 'svc', image: 'Bad Image' }, ['m'], new Map([['m', m]])).kind, 'error');
  });

  test('the apply hash changes with the injected override and the project, not with key order', () => {
    const spec = { service: 'web', project: { configPaths: ['a.yml'], name: 'p' } };
    const h1 = applyInputsHash(spec, { image: 'app:1' });
    assert.equal(applyInputsHash({ project: { name: 'p', configPaths: ['a.yml'] }, service: 'web' }, { image: 'app:1' }), h1);
    assert.notEqual(applyInputsHash(spec, { image: 'app:2' }), h1);
    assert.notEqual(applyInputsHash(spec, { image: 'app:1', command: ['x'] }), h1);
    assert.notEqual(applyInputsHash({ ...spec, project: { ...spec.project, profiles: ['x'] } }, { image: 'app:1' }), h1);
  });
});

describe('DockerComposeService container status', () => {
  const c = (id: string, createdMs: number, oneoff = 'False'): ContainerSummary => ({ id, name: id, image: 'i', labels: { 'com.docker.compose.oneoff': oneoff }, state: 'running', createdMs });

  test('the newest container that is not a one-off is the service container', () => {
    assert.equal(pickContainer([c('old', 1), c('new', 2), c('run', 3, 'True')])?.id, 'new');
    assert.equal(pickContainer([]), undefined);
  });

  test('container fields: state with second-precision times, published ports only', () => {
    const fields = containerFields({
      id: 'abc',
      name: 'p_web_1',
      image: 'i',
      imageId: 'sha256:1',
      labels: {},
      state: { status: 'exited', running: false, exitCode: 137, startedAt: '2024-01-01T00:00:01.123456789Z', finishedAt: '2024-01-01T00:00:02.5Z' },
      ports: [{ containerPort: 80, protocol: 'tcp', hostIP: '0.0.0.0', hostPort: 8080 }, { containerPort: 81, protocol: 'tcp' }],
    });
    assert.deepEqual(fields, {
      containerID: 'abc',
      containerName: 'p_web_1',
      containerState: { status: 'exited', running: false, exitCode: 137, startedAt: '2024-01-01T00:00:01Z', finishedAt: '2024-01-01T00:00:02Z' },
      portBindings: [{ containerPort: 80, hostIP: '0.0.0.0', hostPort: 8080 }],
    });
    assert.deepEqual(containerFields(undefined), {});
  });
});

describe('DockerComposeService project', () => {
  const obj = (project: NonNullable<DockerComposeService['spec']>['project']): DockerComposeService => ({ metadata: { name: 'My-Svc' }, spec: { service: 'web', project } });

  test('the project name is the spec\'s, else the directory\'s, else the object\'s', () => {
    assert.equal(projectName(obj({ name: 'given', configPaths: ['/a/b.yml'] })), 'given');
    assert.equal(projectName(obj({ configPaths: ['/src/Shop/docker-compose.yml'] })), 'shop');
    assert.equal(projectName(obj({ projectPath: '/src/api', yaml: 'services: {}' })), 'api');
    assert.equal(projectName(obj({ yaml: 'services: {}' })), 'my-svc');
  });

  test('the service image is read from the files, later files winning; Compose is asked when unsure', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-dcs-plain-'));
    try {
      const a = path.join(dir, 'a.yml');
      const b = path.join(dir, 'b.yml');
      const interp = path.join(dir, 'c.yml');
      await writeFile(a, 'services:\n  web:\n    image: app:1\n    build: .\n  db:\n    image: db\n');
      await writeFile(b, 'services:\n  web:\n    image: app:2\n');
      await writeFile(interp, 'services:\n  web:\n    image: ${IMAGE}\n');
      assert.deepEqual(await plainServiceConfig([a, b], 'web'), { image: 'app:2', hasBuild: true });
      assert.deepEqual(await plainServiceConfig([a], 'db'), { image: 'db', hasBuild: false });
      assert.equal(await plainServiceConfig([a], 'nope'), undefined);
      assert.equal(await plainServiceConfig([interp], 'web'), undefined, 'interpolation needs Compose');
      assert.equal(await plainServiceConfig([path.join(dir, 'missing.yml')], 'web'), undefined);

      const envA = path.join(dir, 'env-a.yml');
      const envB = path.join(dir, 'env-b.yml');
      const envFile = path.join(dir, 'env-file.yml');
      await writeFile(envA, 'services:\n  web:\n    image: app\n    environment: [IMG=app:1, HOST_VAR, N=1]\n');
      await writeFile(envB, 'services:\n  web:\n    environment: {IMG: app:2, PORT: 80, EMPTY: null}\n');
      await writeFile(envFile, 'services:\n  web:\n    image: app\n    env_file: .env\n');
      assert.deepEqual(await plainServiceConfig([envA, envB], 'web'), {
        image: 'app',
        hasBuild: false,
        environment: { IMG: 'app:2', HOST_VAR: null, N: '1', PORT: '80', EMPTY: null },
      });
      assert.equal(await plainServiceConfig([envFile], 'web'), undefined, 'env files need Compose');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('DockerComposeService override file', () => {
  test('sets what injection decided, with every $ escaped from interpolation', () => {
    assert.equal(overrideYaml('web', { image: 'app:b' }), 'services:\n  web:\n    image: app:b\n');
    assert.equal(
      overrideYaml('web', { image: 'app:b', entrypoint: ['/bin/sh', '-c'], command: ['echo $IMG ${X}'], environment: { IMG: 'app:b' } }),
      'services:\n  web:\n    image: app:b\n    entrypoint:\n      - /bin/sh\n      - -c\n    command:\n      - echo $$IMG $${X}\n    environment:\n      IMG: app:b\n',
    );
  });
});

test('waitLogLevel: a wait is news before the service is up, not when a running one loses its ImageMap', () => {
  assert.equal(waitLogLevel(undefined, undefined), 'info', 'first start');
  assert.equal(waitLogLevel('abc/def', 'up failed'), 'info', 'after a failed apply');
  assert.equal(waitLogLevel('abc/def', undefined), 'debug', 'was up: its ImageMap went away (being deleted)');
  assert.equal(waitLogLevel('waiting', undefined), undefined, 'already waiting');
});
