/**
 * `ferry doctor` on this machine's real Docker Engine and registry, and on broken setups made by
 * injecting the environment: a missing Docker socket, an unwritable data directory, an
 * unreachable registry, low inotify limits; and the dev cluster a KubernetesApply with no
 * `cluster` deploys to: the test cluster fixture, none, or ferry's own API server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { registerDoctor, runDoctor, type CheckResult, type DoctorReport } from '../../src/cli/doctor.ts';
import { CliError } from '../../src/cli/context.ts';
import { FerryClient } from '../../src/client/client.ts';
import { requireDocker, testRegistry } from '../support/docker.ts';
import { startTestApiServer, type TestApiServer } from '../support/apiserver.ts';
import { KubeCluster } from '../fixtures/kube-cluster/index.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-doctor-'));

function check(report: DoctorReport, name: string): CheckResult {
  const c = report.checks.find((x) => x.name === name);
  assert.ok(c, `a ${name} check in\n${report.lines.join('\n')}`);
  return c;
}

/** freeClosedPort finds a loopback port nothing listens on. */
async function freeClosedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** procWith makes a /proc-like directory holding the inotify limits. */
function procWith(watches: number, instances: number): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'proc-'));
  fs.mkdirSync(path.join(dir, 'sys/fs/inotify'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'sys/fs/inotify/max_user_watches'), `${watches}\n`);
  fs.writeFileSync(path.join(dir, 'sys/fs/inotify/max_user_instances'), `${instances}\n`);
  return dir;
}

/** cleanEnv is this process's environment without what the doctor reads, plus overrides. */
function cleanEnv(overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: tmp };
  for (const k of ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'FERRY_REGISTRY', 'FERRY_DATA_DIR', 'KUBECONFIG']) delete env[k];
  return { ...env, ...overrides };
}

describe('ferry doctor', () => {
  let api: TestApiServer;

  before(async () => {
    api = await startTestApiServer();
  });

  after(async () => {
    await api?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('passes on a healthy setup: Engine, registry, the dev cluster, a running daemon, its data directory', async (t) => {
    const docker = await requireDocker();
    const kube = await KubeCluster.start({ docker });
    t.after(() => kube.stop());
    const kubeconfig = await kube.writeKubeconfig(undefined, { context: 'dev-fixture' });
    const report = await runDoctor({
      env: cleanEnv({ FERRY_REGISTRY: testRegistry, KUBECONFIG: kubeconfig }),
      dataDir: api.dataDir,
      procDir: procWith(524_288, 512),
    });
    assert.equal(report.ok, true, report.lines.join('\n'));
    assert.match(check(report, 'Docker').message, new RegExp(`^Docker Engine ${(await docker.version()).Version.replace(/[.+]/g, '\\$&')} `));
    assert.equal(check(report, 'Registry').status, 'ok');
    assert.match(check(report, 'Registry').message, /FERRY_REGISTRY/);
    const k8s = check(report, 'Kubernetes');
    assert.equal(k8s.status, 'ok', 'the kubeconfig context answers /version');
    const server = kube.kubeConfig().getCurrentCluster()!.server;
    assert.equal(k8s.message, `KubernetesApply with no cluster deploys to context dev-fixture of ${kubeconfig}: ${server} answers (Kubernetes v1.32.0)`);
    assert.equal(check(report, 'inotify').status, 'ok');
    assert.equal(check(report, 'Data directory').status, 'ok');
    assert.equal(check(report, 'Daemon').status, 'ok');
    assert.match(check(report, 'Daemon').message, /answers \/healthz/);
    assert.equal(report.checks.filter((c) => c.status !== 'ok').length, 0, report.lines.join('\n'));
    assert.match(report.lines.at(-1)!, /^ferry can run$/);
  });

  it('says Kubernetes features are unavailable, and Docker ones fine, without a kubeconfig', async () => {
    const report = await runDoctor({ env: cleanEnv(), dataDir: path.join(tmp, 'no-kube-data'), procDir: procWith(524_288, 512), timeoutMs: 1_000 });
    const k8s = check(report, 'Kubernetes');
    assert.equal(k8s.status, 'warn');
    assert.match(k8s.message, /^no kubeconfig \(\$KUBECONFIG unset, no ~\/\.kube\/config\): .*KubernetesApply.* unavailable; Docker ones are fine$/);
    assert.match(k8s.fix!, /KUBECONFIG/);

    const missing = path.join(tmp, 'missing-kubeconfig');
    const named = check(await runDoctor({ env: cleanEnv({ KUBECONFIG: missing }), dataDir: path.join(tmp, 'no-kube-data'), procDir: procWith(524_288, 512), timeoutMs: 1_000 }), 'Kubernetes');
    assert.equal(named.status, 'warn');
    assert.match(named.message, new RegExp(`^no kubeconfig at ${missing}: `));
  });

  it('does not take ferry\'s own API server for the dev cluster, and says how to fix it', async () => {
    const program = new Command('ferry').option('--data-dir <dir>').exitOverride();
    const lines: string[] = [];
    registerDoctor(program, (l) => lines.push(l));
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = api.kubeconfigPath;
    try {
      await program.parseAsync(['--data-dir', api.dataDir, 'doctor', '--timeout-ms', '2000'], { from: 'user' }).catch((err: unknown) => {
        if (!(err instanceof CliError)) throw err;
      });
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
    const text = lines.join('\n');
    const server = api.kubeConfig.getCurrentCluster()!.server;
    assert.match(text, new RegExp(`^\\[warn\\] Kubernetes: context \\S+ of ${api.kubeconfigPath} is ferry's own API server \\(${server.replace(/[.]/g, '\\.')}\\), not a dev cluster`, 'm'));
    assert.match(text, /^ {7}fix: point KUBECONFIG at the dev cluster's kubeconfig .*ferry serve --cluster-kubeconfig FILE$/m);
    assert.doesNotMatch(text, /KubernetesApply with no cluster deploys to/);
  });

  it('checks the registry a Cluster names when none is given', async () => {
    const client = new FerryClient(api.kubeConfig);
    try {
      await client.create({ apiVersion: 'tilt.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'doctor' }, spec: { connection: { docker: {} }, defaultRegistry: { host: testRegistry } } });
    } finally {
      client.close();
    }
    const report = await runDoctor({ env: cleanEnv(), dataDir: api.dataDir, procDir: procWith(524_288, 512) });
    const registry = check(report, 'Registry');
    assert.equal(registry.status, 'ok');
    assert.match(registry.message, new RegExp(`^${testRegistry.replace(/\./g, '\\.')} answers .*a Cluster registry`));
  });

  it('fails on a broken setup and says what to fix', async () => {
    const port = await freeClosedPort();
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, '');
    const report = await runDoctor({
      env: cleanEnv({ DOCKER_HOST: `unix://${path.join(tmp, 'missing', 'docker.sock')}` }),
      registry: `127.0.0.1:${port}`,
      dataDir: path.join(file, 'data'),
      kubeconfig: path.join(tmp, 'no-kubeconfig'),
      procDir: procWith(8_192, 128),
      timeoutMs: 2_000,
    });
    assert.equal(report.ok, false);
    const docker = check(report, 'Docker');
    assert.equal(docker.status, 'fail');
    assert.match(docker.message, /no Docker Engine answers at unix:\/\/.*missing\/docker\.sock/);
    assert.match(docker.fix!, /start the Docker Engine/);
    const registry = check(report, 'Registry');
    assert.equal(registry.status, 'fail');
    assert.match(registry.message, new RegExp(`no registry answers at 127\\.0\\.0\\.1:${port}`));
    assert.match(registry.fix!, /start the registry/);
    const data = check(report, 'Data directory');
    assert.equal(data.status, 'fail');
    assert.match(data.message, /cannot be created: .*a-file is not a directory/);
    assert.match(data.fix!, /--data-dir/);
    const inotify = check(report, 'inotify');
    assert.equal(inotify.status, 'warn');
    assert.match(inotify.fix!, /sysctl -w fs\.inotify\.max_user_watches=524288/);
    assert.equal(check(report, 'Kubernetes').status, 'warn');
    for (const c of report.checks) if (c.status !== 'ok') assert.ok(c.fix, `${c.name} says what to fix`);
    assert.match(report.lines.join('\n'), /^\[fail\] Docker: .*\n {7}fix: /m);
    assert.match(report.lines.at(-1)!, /^3 checks failed, \d+ warnings?: apply the fixes above$/);
  });

  it('follows the current docker context, and names it when its Engine does not answer', async () => {
    const home = fs.mkdtempSync(path.join(tmp, 'home-'));
    const meta = path.join(home, '.docker', 'contexts', 'meta', createHash('sha256').update('remote').digest('hex'));
    fs.mkdirSync(meta, { recursive: true });
    const socket = path.join(tmp, 'no-engine', 'docker.sock');
    fs.writeFileSync(path.join(meta, 'meta.json'), JSON.stringify({ Name: 'remote', Endpoints: { docker: { Host: `unix://${socket}` } } }));
    fs.writeFileSync(path.join(home, '.docker', 'config.json'), JSON.stringify({ currentContext: 'remote' }));
    const report = await runDoctor({ env: { ...cleanEnv(), HOME: home }, dataDir: path.join(tmp, 'ctx-data'), procDir: procWith(524_288, 512), timeoutMs: 2_000 });
    const docker = check(report, 'Docker');
    assert.equal(docker.status, 'fail');
    assert.equal(docker.message.startsWith(`no Docker Engine answers at unix://${socket} (docker context remote)`), true, docker.message);

    fs.writeFileSync(path.join(home, '.docker', 'config.json'), JSON.stringify({ currentContext: 'gone' }));
    const broken = check(await runDoctor({ env: { ...cleanEnv(), HOME: home }, dataDir: path.join(tmp, 'ctx-data'), procDir: procWith(524_288, 512), timeoutMs: 2_000 }), 'Docker');
    assert.equal(broken.status, 'fail');
    assert.match(broken.message, /the current docker context is unusable \(.*docker context "gone" cannot be read/);
    assert.match(broken.fix!, /docker context use/);
  });

  it('fails on an existing data directory it cannot write', async () => {
    // Root may write anywhere, so the directory is made unwritable by what it is: a read-only mount.
    const candidates = ['/proc/sys', '/sys/kernel'];
    const dir = candidates.find((d) => fs.existsSync(d));
    assert.ok(dir);
    const report = await runDoctor({ env: cleanEnv(), dataDir: dir, procDir: procWith(524_288, 512), timeoutMs: 1_000 });
    const data = check(report, 'Data directory');
    assert.equal(data.status, 'fail', data.message);
    assert.match(data.message, /is not writable/);
    assert.match(data.fix!, /chown|--data-dir/);
  });

  it('warns about a data directory others can read, and a daemon that left its kubeconfig behind', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'data-'));
    fs.chmodSync(dir, 0o755);
    const port = await freeClosedPort();
    fs.writeFileSync(path.join(dir, 'kubeconfig'), `apiVersion: v1\nclusters:\n- cluster:\n    server: https://127.0.0.1:${port}\n  name: ferry\n`);
    const report = await runDoctor({ env: cleanEnv(), dataDir: dir, procDir: procWith(524_288, 512), timeoutMs: 1_000 });
    const data = check(report, 'Data directory');
    assert.equal(data.status, 'warn');
    assert.equal(data.fix, `chmod 700 ${dir}`);
    const daemon = check(report, 'Daemon');
    assert.equal(daemon.status, 'warn');
    assert.match(daemon.message, /does not answer/);
  });

  it('exits with 1 through the command when a check fails', async () => {
    const program = new Command('ferry').option('--data-dir <dir>').exitOverride();
    const lines: string[] = [];
    registerDoctor(program, (l) => lines.push(l));
    const port = await freeClosedPort();
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `unix://${path.join(tmp, 'missing.sock')}`;
    try {
      await assert.rejects(
        program.parseAsync(['--data-dir', path.join(tmp, 'cli-data'), 'doctor', '--registry', `127.0.0.1:${port}`, '--timeout-ms', '1000'], { from: 'user' }),
        (err: unknown) => err instanceof CliError && err.exitCode === 1,
      );
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
    assert.match(lines.join('\n'), /^\[fail\] Docker: /m);
    assert.match(lines.join('\n'), /^\[fail\] Registry: /m);
    assert.match(lines.join('\n'), /^\[ok\] {3}Data directory: .*cli-data does not exist yet/m);
  });
});
