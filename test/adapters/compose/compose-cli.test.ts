import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  ComposeCli,
  ComposeError,
  composeMessage,
  defaultProjectName,
  imageOverrideYaml,
  normalizeProjectName,
  projectFlags,
  serviceConfig,
  type ComposeForm,
  type ComposeProjectArgs,
} from '../../../src/adapters/compose/index.ts';
import { requireDocker, testImages } from '../../support/docker.ts';

const run = promisify(execFile);

describe('compose project helpers', () => {
  test('project flags name the project, files, directory, profiles and env file', () => {
    const flags = projectFlags({ name: 'p', configPaths: ['a.yml', 'b.yml'], projectDirectory: '/d', profiles: ['x'], envFile: '.env' });
    assert.deepEqual(flags, ['-p', 'p', '-f', 'a.yml', '-f', 'b.yml', '--project-directory', '/d', '--profile', 'x', '--env-file', '.env']);
  });

  test('both command forms put the project flags after the command', () => {
    const cli = new ComposeCli();
    const p: ComposeProjectArgs = { name: 'p', configPaths: ['c.yml'] };
    assert.deepEqual(cli.argv('plugin', p, ['up', '-d']), ['docker', 'compose', '-p', 'p', '-f', 'c.yml', 'up', '-d']);
    assert.deepEqual(cli.argv('standalone', p, ['up', '-d']), ['docker-compose', '-p', 'p', '-f', 'c.yml', 'up', '-d']);
  });

  test('project names are normalised the way Compose does', () => {
    assert.equal(normalizeProjectName('My App.v2'), 'myappv2');
    assert.equal(defaultProjectName({ configPaths: ['/src/Web App/docker-compose.yml'], fallback: 'x' }), 'webapp');
    assert.equal(defaultProjectName({ projectPath: '/src/api', configPaths: ['/other/c.yml'], fallback: 'x' }), 'api');
    assert.equal(defaultProjectName({ fallback: 'From-Yaml' }), 'from-yaml');
  });

  test('service config reads image, build and container name from resolved YAML', () => {
    const yaml = 'services:\n  web:\n    image: foo:1\n    container_name: w\n  api:\n    build:\n      context: /x\n  bare:\n';
    assert.deepEqual(serviceConfig(yaml, 'web'), { image: 'foo:1', hasBuild: false, containerName: 'w' });
    assert.deepEqual(serviceConfig(yaml, 'api'), { image: undefined, hasBuild: true, containerName: undefined });
    assert.deepEqual(serviceConfig(yaml, 'bare'), { image: undefined, hasBuild: false, containerName: undefined });
    assert.equal(serviceConfig(yaml, 'nope'), undefined);
  });

  test('the image override only sets the service image', () => {
    assert.equal(imageOverrideYaml('web', 'img:abc'), 'services:\n  web:\n    image: img:abc\n');
  });

  test('error messages drop progress lines', () => {
    const stderr = 'Creating network "p_default" with the default driver\nPulling web (x:1)...\nERROR: pull access denied for x\n';
    assert.equal(composeMessage(stderr), 'ERROR: pull access denied for x');
    assert.equal(composeMessage(' Container p-web-1  Creating\nError response from daemon: No such image: x:1\n'), 'Error response from daemon: No such image: x:1');
  });
});

/**
 * pluginShim makes a Docker CLI config directory whose `docker compose` plugin hands the command
 * to the standalone binary, so the plugin command form runs for real through the docker CLI on a
 * machine that has only Compose v1.
 */
async function pluginShim(dir: string): Promise<NodeJS.ProcessEnv> {
  const plugins = path.join(dir, 'cli-plugins');
  await mkdir(plugins, { recursive: true });
  const shim = path.join(plugins, 'docker-compose');
  await writeFile(shim, [
    '#!/bin/sh',
    'if [ "$1" = docker-cli-plugin-metadata ]; then',
    '  echo \'{"SchemaVersion":"0.1.0","Vendor":"ferry tests","Version":"v2.0.0","ShortDescription":"Docker Compose"}\'',
    '  exit 0',
    'fi',
    'shift',
    'echo "$@" >>"$(dirname "$0")/calls.log"',
    'exec docker-compose "$@"',
    '',
  ].join('\n'));
  await chmod(shim, 0o755);
  return { ...process.env, DOCKER_CONFIG: dir };
}

describe('ComposeCli against the Docker Engine', () => {
  const forms: ComposeForm[] = ['standalone', 'plugin'];
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  for (const form of forms) {
    test(`up, config and rm of one service (${form} form)`, async (t) => {
      if (!(await requireDocker(t))) return;
      const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-compose-cli-'));
      const env = form === 'plugin' ? await pluginShim(path.join(dir, 'docker-config')) : process.env;
      const name = `ferrytest${randomBytes(4).toString('hex')}`;
      const file = path.join(dir, 'docker-compose.yml');
      await writeFile(file, [
        'services:',
        '  web:',
        `    image: ${testImages.busybox}`,
        '    command: ["sh", "-c", "trap \'exit 0\' TERM; sleep 3600 & wait"]',
        '    labels: {ferry-test: "1"}',
        '  db:',
        `    image: ${testImages.busybox}`,
        '    command: ["sleep", "3600"]',
        '    labels: {ferry-test: "1"}',
        '',
      ].join('\n'));
      const project: ComposeProjectArgs = { name, configPaths: [file] };
      const cli = new ComposeCli({ form, env });
      cleanups.push(async () => {
        await run('docker-compose', ['-p', name, '-f', file, 'down', '-t', '0']).catch(() => {});
        await rm(dir, { recursive: true, force: true });
      });

      assert.equal(await cli.form(), form);
      const resolved = await cli.config(project);
      assert.equal(serviceConfig(resolved, 'web')?.image, testImages.busybox);

      const lines: string[] = [];
      await cli.up(project, 'web', { onOutput: (l) => lines.push(l) });
      assert.ok(lines.some((l) => /web/.test(l)), `output names the service: ${lines.join(' | ')}`);
      const ps = async () => (await run('docker', ['ps', '-a', '--filter', `label=com.docker.compose.project=${name}`, '--format', '{{.Label "com.docker.compose.service"}} {{.State}}'])).stdout.trim();
      assert.equal(await ps(), 'web running', '--no-deps brings up only the named service');

      await cli.rm(project, 'web');
      assert.equal(await ps(), '');
      const nets = async () => (await run('docker', ['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${name}`])).stdout.trim();
      assert.notEqual(await nets(), '', 'rm leaves the network');
      await cli.down(project);
      assert.equal(await nets(), '', 'down removes the network');

      if (form === 'plugin') {
        const { stdout } = await run('cat', [path.join(dir, 'docker-config', 'cli-plugins', 'calls.log')]);
        assert.match(stdout, new RegExp(`^-p ${name} -f \\S+ up -d --no-deps web$`, 'm'));
      }
    });
  }

  test('detection falls back to the standalone binary when the plugin does not answer', async (t) => {
    if (!(await requireDocker(t))) return;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-compose-cli-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // An empty Docker config directory has no plugins: `docker compose` is unknown there.
    const bare = new ComposeCli({ env: { ...process.env, DOCKER_CONFIG: dir }, dockerBinary: 'docker' });
    const expected = (await run('docker', ['compose', 'version'], { env: { ...process.env, DOCKER_CONFIG: dir } }).then(() => 'plugin', () => 'standalone'));
    assert.equal(await bare.form(), expected);
    const shimmed = new ComposeCli({ env: await pluginShim(path.join(dir, 'with-plugin')) });
    assert.equal(await shimmed.form(), 'plugin');
  });

  test('a broken file and a missing image fail with Compose\'s message', async (t) => {
    if (!(await requireDocker(t))) return;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-compose-cli-'));
    const name = `ferrytest${randomBytes(4).toString('hex')}`;
    const broken = path.join(dir, 'broken.yml');
    const missing = path.join(dir, 'missing.yml');
    await writeFile(broken, 'services:\n  web:\n    image: [\n');
    await writeFile(missing, 'services:\n  web:\n    image: ferry-test/does-not-exist:1\n    labels: {ferry-test: "1"}\n');
    cleanups.push(async () => {
      await run('docker-compose', ['-p', name, '-f', missing, 'down', '-t', '0']).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    });
    const cli = new ComposeCli({ form: 'standalone' });
    await assert.rejects(cli.config({ name, configPaths: [broken] }), (err: unknown) => {
      assert.ok(err instanceof ComposeError);
      assert.match(err.message, /while parsing|yaml/i);
      return true;
    });
    await assert.rejects(cli.up({ name, configPaths: [missing] }, 'web'), (err: unknown) => {
      assert.ok(err instanceof ComposeError);
      assert.notEqual(err.exitCode, 0);
      assert.match(err.message, /does-not-exist|registry|pull|no such host|not found/i);
      assert.doesNotMatch(err.message, /^Creating network/m);
      return true;
    });
  });
});
