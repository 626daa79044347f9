/**
 * `ferry logs` through the real CLI against a real daemon and Docker: what a Compose service's
 * container prints, beside a Cmd's output, filtered by resource and source, followed, and
 * resumed after the daemon restarts without repeating a line.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ferryBin, runFerry, startFerryProcess, type FerryProcess } from '../support/daemon.ts';
import { requireDocker, testImages } from '../support/docker.ts';
import { waitFor } from '../support/wait.ts';

const run = promisify(execFile);

const script = [
  'R=$$(head -c4 /dev/urandom | od -An -tx1 | tr -d " \\n")',
  'echo "run $$R one"',
  'echo "run $$R two" >&2',
  'N=0',
  'trap \'N=$$((N+1)); echo "run $$R poke $$N"\' USR1',
  'trap "exit 0" TERM',
  'while true; do sleep 3600 & wait $$!; done',
].join('; ');

describe('ferry logs of runtime output', () => {
  const project = `ferrylogscli${randomBytes(3).toString('hex')}`;
  let ferry: FerryProcess;
  let dataDir: string;
  const ferryLogs = (...args: string[]) => runFerry(['--data-dir', dataDir, 'logs', ...args]);
  const squash = (out: string) => out.split('\n').filter(Boolean).map((l) => l.replace(/ +/g, ' '));
  const containerId = async () => (await run('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`])).stdout.trim();
  const poke = async () => run('docker', ['kill', '-s', 'USR1', await containerId()]);

  const objects = `apiVersion: tilt.dev/v1alpha1
kind: DockerComposeService
metadata: {name: web}
spec:
  service: app
  project:
    name: ${project}
    yaml: |
      version: "3"
      services:
        app:
          image: ${testImages.busybox}
          command: ["sh", "-c", ${JSON.stringify(script)}]
---
apiVersion: tilt.dev/v1alpha1
kind: Cmd
metadata:
  name: web-build
  annotations: {tilt.dev/resource: web}
spec:
  args: [sh, -c, echo built it]
`;

  before(async () => {
    await requireDocker();
    ferry = await startFerryProcess();
    dataDir = ferry.dataDir;
    const applied = await runFerry(['--data-dir', dataDir, 'apply', '-f', '-'], { input: objects });
    assert.equal(applied.code, 0, applied.stderr);
  });
  after(async () => {
    await runFerry(['--data-dir', dataDir, 'delete', 'dockercomposeservice', 'web']).catch(() => undefined);
    await ferry.stop();
    const ids = (await run('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`])).stdout.split('\n').filter(Boolean);
    if (ids.length) await run('docker', ['rm', '-f', ...ids]).catch(() => undefined);
    await run('docker', ['network', 'rm', `${project}_default`]).catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints what the container prints, prefixed by resource and source, without colours when piped', async () => {
    const out = await waitFor(async () => {
      const r = await ferryLogs('web');
      return /run \w+ one/.test(r.stdout) && /run \w+ two/.test(r.stdout) && /built it/.test(r.stdout) ? r.stdout : undefined;
    }, { timeoutMs: 60_000, message: 'the container\'s and the Cmd\'s lines' });
    const lines = squash(out);
    assert.ok(lines.some((l) => /^web runtime │ run \w+ one$/.test(l)), lines.join('\n'));
    assert.ok(lines.includes('web build │ built it'), lines.join('\n'));
    assert.ok(!out.includes('\x1b['), 'no colour codes in a pipe');
  });

  it('keeps to one source with --source, and to recent lines with --since', async () => {
    const runtime = squash((await ferryLogs('web', '--source', 'runtime')).stdout);
    assert.ok(runtime.length >= 2 && runtime.every((l) => l.startsWith('web runtime │ ')), runtime.join('\n'));
    const build = squash((await ferryLogs('--source', 'build', 'web')).stdout);
    assert.ok(build.includes('web build │ built it') && build.every((l) => l.startsWith('web build │ ')), build.join('\n'));
    const sync = await ferryLogs('web', '--source', 'sync');
    assert.equal(sync.code, 0);
    assert.equal(sync.stdout, '');
    const recent = squash((await ferryLogs('web', '--since', '1h')).stdout);
    assert.ok(recent.some((l) => l.includes('built it')));
    const bad = await ferryLogs('web', '--source', 'stdout');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--source must be one of build, runtime, sync/);
  });

  it('says a resource is unknown and exits 1', async () => {
    const r = await ferryLogs('nope');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: no resource "nope" \(resources: .*web.*\)/);
    assert.equal(r.stdout, '');
    const mixed = await ferryLogs('web', 'nope');
    assert.equal(mixed.code, 1);
    assert.equal(mixed.stdout, '');
  });

  it('follows new lines with -f', async () => {
    const child = spawn(process.execPath, [ferryBin, '--data-dir', dataDir, 'logs', 'web', '-f', '--source', 'runtime'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    try {
      await waitFor(() => /run \w+ one/.test(out), { timeoutMs: 20_000, message: 'the lines so far' });
      await poke();
      await waitFor(() => /run \w+ poke 1/.test(out), { timeoutMs: 20_000, message: 'the new line' });
    } finally {
      child.kill('SIGINT');
    }
  });

  it('resumes after the daemon restarts without printing a line twice', async () => {
    const before = squash((await ferryLogs('web', '--source', 'runtime')).stdout).map((l) => l.replace('web runtime │ ', ''));
    assert.ok(before.some((l) => l.endsWith('poke 1')));
    await ferry.stop();
    await poke();
    ferry = await startFerryProcess({ dataDir });
    const after = await waitFor(async () => {
      const lines = squash((await ferryLogs('web', '--source', 'runtime')).stdout).map((l) => l.replace('web runtime │ ', ''));
      return lines.some((l) => l.endsWith('poke 2')) ? lines : undefined;
    }, { timeoutMs: 60_000, message: 'the line printed while the daemon was down' });
    assert.equal(after.filter((l) => l.endsWith('poke 2')).length, 1);
    const repeated = after.filter((l) => before.includes(l));
    assert.deepEqual(repeated, [], 'lines read before the restart are not read again');
  });

  it('marks a restart of the service\'s container and follows the new run', async () => {
    const id = await containerId();
    await run('docker', ['restart', '-t', '0', id]);
    const lines = await waitFor(async () => {
      const out = squash((await ferryLogs('web', '--source', 'runtime')).stdout).map((l) => l.replace('web runtime │ ', ''));
      const at = out.lastIndexOf('[container restarted]');
      return at >= 0 && out.slice(at).filter((l) => / one$| two$/.test(l)).length === 2 ? out : undefined;
    }, { timeoutMs: 20_000, message: 'the marker and the new run\'s lines' });
    const printed = lines.filter((l) => !l.startsWith('['));
    assert.equal(new Set(printed).size, printed.length, `no line twice: ${printed.join(' | ')}`);
  });
});
