/**
 * The Dockerfile builds and the image serves: `ferry version`, `ferry serve` answering /healthz
 * on its published port, the HEALTHCHECK turning healthy, a non-root process that reaches the
 * Docker Engine through the mounted socket.
 *
 * No image can be pulled here, so the test builds FROM images it makes itself:
 * - one base image, `docker import`ed from a root filesystem holding this machine's Node (with the
 *   shared libraries `ldd` lists), npm, the docker CLI and a static busybox for the Dockerfile's
 *   RUN steps. It serves as BASE, BUILD_BASE and DOCKER_CLI_IMAGE, and is kept between runs
 *   (tagged by a hash of what went in).
 * - node_modules comes prebuilt (NODE_MODULES=prebuilt): the workspace's own, hard-linked into a
 *   staged build context, so the image runs the same native modules the other tests run, for the
 *   same Node and libc. Compiling better-sqlite3 inside the build would need python3, make and
 *   g++ in the base and a minute of CPU; the Dockerfile's prune step still runs.
 * Identical inputs give identical layers, so a second run is mostly cache hits.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { requireDocker, readFileIn, statIn, testLabel } from '../support/docker.ts';
import { waitFor } from '../support/wait.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const image = 'ferry-test/ferry:dockerfile-test';
/** imageLabel marks the images this test builds, so that the ones it replaced can be pruned. */
const imageLabel = 'ferry-test.image=dockerfile-test';
const contextEntries = ['Dockerfile', '.dockerignore', 'package.json', 'package-lock.json', 'tsconfig.json', 'bin', 'src', 'controllers'];
const buildTimeoutMs = 10 * 60_000;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** attempt runs a command without input and resolves with its exit code and output. */
function attempt(cmd: string, args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && code === -1 ? String(err) : '') });
    }).stdin?.end();
  });
}

/** run runs a command and fails with its output when it exits non-zero. */
async function run(cmd: string, args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<string> {
  const res = await attempt(cmd, args, opts);
  if (res.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${res.code}:\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

/** nodeBaseImage imports (once per recipe) a base image holding this machine's Node, npm and docker CLI. */
async function nodeBaseImage(): Promise<string> {
  const node = process.execPath;
  const npmDir = path.resolve(path.dirname(fs.realpathSync(node)), '../lib/node_modules/npm');
  const dockerCli = (await run('bash', ['-c', 'command -v docker'])).trim();
  const busybox = (await run('bash', ['-c', 'command -v busybox'])).trim();
  const inputs = [node, dockerCli, busybox, path.join(npmDir, 'package.json')].map((f) => {
    const s = fs.statSync(f);
    return `${f}:${s.size}:${s.mtimeMs}`;
  });
  const script = String.raw`
    set -euo pipefail
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    mkdir -p "$root/bin" "$root/usr/bin" "$root/usr/lib/node_modules" "$root/usr/local/bin" \
      "$root/usr/local/libexec/docker/cli-plugins" "$root/etc" "$root/tmp" "$root/root"
    chmod 1777 "$root/tmp"
    cp "$NODE" "$root/usr/bin/node"
    # The shared libraries both need (a static docker CLI needs none).
    for lib in $(for f in "$NODE" "$DOCKER_CLI"; do ldd "$f" 2>/dev/null | grep -o '/[^ ]*' || true; done | sort -u); do
      mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib"
    done
    cp -a "$NPM_DIR" "$root/usr/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
    cp "$DOCKER_CLI" "$root/usr/local/bin/docker"
    cp "$BUSYBOX" "$root/bin/busybox"
    for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"; done
    ln -s /bin/busybox "$root/usr/bin/env" # npm's #!/usr/bin/env node
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\n' >"$root/etc/group"
    tar -C "$root" -c . | docker import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
      --change "LABEL $LABEL=1" - "$TAG" >/dev/null
  `;
  const recipe = crypto.createHash('sha256').update(`${inputs.join('\n')}\n${script}`).digest('hex').slice(0, 12);
  const tag = `ferry-test/node-base:${process.version}-${recipe}`;
  if ((await attempt('docker', ['image', 'inspect', tag])).code === 0) return tag;
  await run('bash', ['-c', script], {
    env: { NODE: node, NPM_DIR: npmDir, DOCKER_CLI: dockerCli, BUSYBOX: busybox, TAG: tag, LABEL: testLabel },
  });
  return tag;
}

/** stageContext makes a build context: the files the image needs, and node_modules as .prebuilt/node_modules. */
async function stageContext(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-image-'));
  // Hard links when the temporary directory shares the repository's file system, copies otherwise.
  const copy = async (from: string, to: string) => {
    const linked = await attempt('cp', ['-al', from, to]);
    if (linked.code !== 0) await run('cp', ['-a', from, to]);
  };
  for (const entry of contextEntries) await copy(path.join(repo, entry), path.join(dir, entry));
  fs.mkdirSync(path.join(dir, '.prebuilt'));
  await copy(path.join(repo, 'node_modules'), path.join(dir, '.prebuilt', 'node_modules'));
  return dir;
}

function httpsGet(url: string, opts: { ca: Buffer; token?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: opts.ca, headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {}, timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

describe('Dockerfile', () => {
  let docker: Docker | undefined;
  let context: string | undefined;
  const containers: string[] = [];

  before(async () => {
    try {
      docker = await requireDocker();
    } catch (err) {
      // requireDocker's rule: skip only outside CI, when asked to.
      if (process.env.FERRY_SKIP_DOCKER === '1' && process.env.CI !== 'true') return;
      throw err;
    }
    const base = await nodeBaseImage();
    context = await stageContext();
    await run(
      'docker',
      ['build', '-q', '--force-rm', '-t', image, '--label', `${testLabel}=1`, '--label', imageLabel,
        '--build-arg', `BASE=${base}`, '--build-arg', `BUILD_BASE=${base}`, '--build-arg', `DOCKER_CLI_IMAGE=${base}`,
        '--build-arg', 'NODE_MODULES=prebuilt', context],
      { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: buildTimeoutMs },
    );
    // The image this replaced, if any, is now untagged: drop it (its layers stay cached if shared).
    await run('docker', ['image', 'prune', '-f', '--filter', `label=${imageLabel}`]);
  });

  after(async () => {
    for (const id of containers) await attempt('docker', ['rm', '-f', '-v', id]);
    if (context) fs.rmSync(context, { recursive: true, force: true });
  });

  it('runs `ferry version` as the entrypoint, as a non-root user', async (t) => {
    if (!docker) return t.skip('docker not available');
    const out = await run('docker', ['run', '--rm', '--label', `${testLabel}=1`, image, 'version']);
    const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string };
    assert.match(out, new RegExp(`^Client Version: ${pkg.version.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(out, /^Server: ferry is not running/m);
    const info = await docker.getImage(image).inspect();
    assert.equal(info.Config.User, '10001:10001');
    assert.deepEqual(info.Config.Entrypoint, ['node', '/app/bin/ferry.js']);
    assert.ok(info.Config.Volumes && '/data' in info.Config.Volumes, 'the data directory is a volume');
  });

  it('keeps dev dependencies out of the image', async (t) => {
    if (!docker) return t.skip('docker not available');
    const out = await run('docker', ['run', '--rm', '--label', `${testLabel}=1`, '--entrypoint', 'node', image, '-e',
      "const fs=require('fs');console.log(['typescript','tsx','better-sqlite3'].map(m=>m+'='+fs.existsSync('/app/node_modules/'+m)).join(' '))"]);
    assert.equal(out.trim(), 'typescript=false tsx=true better-sqlite3=true');
  });

  it('serves /healthz, turns healthy, and reaches the Docker Engine through the mounted socket', async (t) => {
    if (!docker) return t.skip('docker not available');
    const socketGid = String(fs.statSync('/var/run/docker.sock').gid);
    const id = (await run('docker', ['run', '-d', '--label', `${testLabel}=1`,
      '--group-add', socketGid, '-v', '/var/run/docker.sock:/var/run/docker.sock',
      '--health-interval', '1s', '--health-start-period', '60s', '--health-retries', '3',
      '-p', '127.0.0.1::7443', image])).trim();
    containers.push(id);
    const c = docker.getContainer(id);

    // The daemon writes its kubeconfig once it serves: the address and the CA to trust.
    const kubeconfig = await waitFor(() => readFileIn(docker!, id, '/data/kubeconfig'), {
      timeoutMs: 60_000, intervalMs: 200, message: 'the kubeconfig in /data',
    }).catch(async (err) => {
      const logs = await attempt('docker', ['logs', id]);
      throw new Error(`ferry serve did not start:\n${logs.stdout}${logs.stderr}`, { cause: err });
    });
    assert.match(kubeconfig, /server: https:\/\/127\.0\.0\.1:7443/);
    const ca = Buffer.from(/certificate-authority-data: *(\S+)/.exec(kubeconfig)![1], 'base64');
    const token = /token: *(\S+)/.exec(kubeconfig)![1];

    const info = await c.inspect();
    const hostPort = info.NetworkSettings.Ports['7443/tcp']![0].HostPort;
    const base = `https://127.0.0.1:${hostPort}`;
    const health = await waitFor(() => httpsGet(`${base}/healthz`, { ca }), { timeoutMs: 30_000, message: '/healthz' });
    assert.equal(health.status, 200);
    assert.equal((await httpsGet(`${base}/apis/tilt.dev/v1alpha1`, { ca })).status, 401, 'the token is still required');
    assert.equal((await httpsGet(`${base}/apis/tilt.dev/v1alpha1`, { ca, token })).status, 200);

    const status = await waitFor(async () => {
      const s = (await c.inspect()).State.Health?.Status;
      return s === 'starting' ? undefined : s;
    }, { timeoutMs: 90_000, intervalMs: 250, message: 'a health status other than starting' });
    assert.equal(status, 'healthy');

    const uid = await run('docker', ['exec', id, 'node', '-e', 'process.stdout.write(String(process.getuid()))']);
    assert.equal(uid, '10001');
    const data = await statIn(docker, id, '/data');
    assert.equal(data.uid, 10001);
    assert.equal(data.mode & 0o777, 0o700);
    const engine = await run('docker', ['exec', id, 'docker', 'version', '--format', '{{.Server.Version}}']);
    assert.equal(engine.trim(), (await docker.version()).Version);
  });
});
