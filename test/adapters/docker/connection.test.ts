/**
 * The one reading of where the Docker Engine is: DOCKER_HOST, the TLS settings, ssh hosts and
 * the docker context, each against a scratch HOME, and the dockerode options they become.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultDockerHost, resolveDockerConnection } from '../../../src/adapters/docker/index.ts';
import { dockerodeOptions } from '../../../src/adapters/docker/dockerode.ts';

/** scratchHome is an empty HOME, removed after the test. */
function scratchHome(t: TestContext): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-docker-home-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  return home;
}

/** writeContext writes a docker context as `docker context create` does, and optionally its TLS files. */
function writeContext(home: string, name: string, endpoint: { Host: string; SkipTLSVerify?: boolean }, tls?: { ca: string; cert: string; key: string }) {
  const id = createHash('sha256').update(name).digest('hex');
  const meta = path.join(home, '.docker', 'contexts', 'meta', id);
  fs.mkdirSync(meta, { recursive: true });
  fs.writeFileSync(path.join(meta, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: endpoint } }));
  if (tls) {
    const dir = path.join(home, '.docker', 'contexts', 'tls', id, 'docker');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'ca.pem'), tls.ca);
    fs.writeFileSync(path.join(dir, 'cert.pem'), tls.cert);
    fs.writeFileSync(path.join(dir, 'key.pem'), tls.key);
  }
}

function useContext(home: string, name: string) {
  fs.mkdirSync(path.join(home, '.docker'), { recursive: true });
  fs.writeFileSync(path.join(home, '.docker', 'config.json'), JSON.stringify({ auths: {}, currentContext: name }));
}

test('nothing set: the local socket', (t) => {
  const conn = resolveDockerConnection({ env: { HOME: scratchHome(t) } });
  assert.deepEqual(conn, { host: defaultDockerHost, source: 'default', transport: 'unix', socketPath: '/var/run/docker.sock' });
  assert.equal(dockerodeOptions(conn).socketPath, '/var/run/docker.sock');
  assert.equal(dockerodeOptions(conn).host, undefined, 'no host from the environment mixes in');
});

test('DOCKER_HOST unix:// and a bare path are sockets', (t) => {
  const HOME = scratchHome(t);
  assert.deepEqual(resolveDockerConnection({ env: { HOME, DOCKER_HOST: 'unix:///run/user/1000/docker.sock' } }), {
    host: 'unix:///run/user/1000/docker.sock',
    source: 'DOCKER_HOST',
    transport: 'unix',
    socketPath: '/run/user/1000/docker.sock',
  });
  const bare = resolveDockerConnection({ host: '/tmp/d.sock', env: { HOME } });
  assert.equal(bare.transport === 'unix' && bare.socketPath, '/tmp/d.sock');
});

test('tcp without TLS: http on 2375 unless a port is given', (t) => {
  const HOME = scratchHome(t);
  const conn = resolveDockerConnection({ env: { HOME, DOCKER_HOST: 'tcp://10.0.0.5' } });
  assert.deepEqual(conn, { host: 'tcp://10.0.0.5', source: 'DOCKER_HOST', transport: 'tcp', hostname: '10.0.0.5', port: 2375 });
  const opts = dockerodeOptions(conn);
  assert.deepEqual([opts.protocol, opts.host, opts.port, opts.socketPath], ['http', '10.0.0.5', 2375, undefined]);
  const withPort = resolveDockerConnection({ env: { HOME, DOCKER_HOST: 'tcp://docker.local:4243' } });
  assert.equal(withPort.transport === 'tcp' && withPort.port, 4243);
  const bare = resolveDockerConnection({ env: { HOME, DOCKER_HOST: 'docker.local:4243' } });
  assert.deepEqual(bare.transport === 'tcp' && [bare.hostname, bare.port, bare.tls], ['docker.local', 4243, undefined]);
});

test('tcp with DOCKER_TLS_VERIFY: https on 2376 with the certificates of DOCKER_CERT_PATH', (t) => {
  const HOME = scratchHome(t);
  const certs = path.join(HOME, 'certs');
  fs.mkdirSync(certs);
  for (const f of ['ca.pem', 'cert.pem', 'key.pem']) fs.writeFileSync(path.join(certs, f), `${f} contents`);
  const conn = resolveDockerConnection({ env: { HOME, DOCKER_HOST: 'tcp://build.example', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs } });
  assert.deepEqual(conn, {
    host: 'tcp://build.example',
    source: 'DOCKER_HOST',
    transport: 'tcp',
    hostname: 'build.example',
    port: 2376,
    tls: { verify: true, caFile: path.join(certs, 'ca.pem'), certFile: path.join(certs, 'cert.pem'), keyFile: path.join(certs, 'key.pem') },
  });
  const opts = dockerodeOptions(conn);
  assert.equal(opts.protocol, 'https');
  assert.equal(opts.port, 2376);
  assert.equal(String(opts.ca), 'ca.pem contents');
  assert.equal(String(opts.cert), 'cert.pem contents');
  assert.equal(String(opts.key), 'key.pem contents');
});

test('tcp with TLS: the certificates default to ~/.docker; an empty DOCKER_TLS_VERIFY is unset', (t) => {
  const HOME = scratchHome(t);
  fs.mkdirSync(path.join(HOME, '.docker'));
  fs.writeFileSync(path.join(HOME, '.docker', 'ca.pem'), 'ca');
  const conn = resolveDockerConnection({ env: { HOME, DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1' } });
  assert.deepEqual(conn.transport === 'tcp' && conn.tls, { verify: true, caFile: path.join(HOME, '.docker', 'ca.pem') });
  const plain = resolveDockerConnection({ env: { HOME, DOCKER_HOST: 'tcp://h', DOCKER_TLS_VERIFY: '' } });
  assert.deepEqual(plain.transport === 'tcp' && [plain.port, plain.tls], [2375, undefined]);
});

test('ssh: user, host and port 22 by default', (t) => {
  const HOME = scratchHome(t);
  const conn = resolveDockerConnection({ env: { HOME, DOCKER_HOST: 'ssh://me@builder.example' } });
  assert.deepEqual(conn, { host: 'ssh://me@builder.example', source: 'DOCKER_HOST', transport: 'ssh', hostname: 'builder.example', port: 22, username: 'me' });
  const opts = dockerodeOptions(conn);
  assert.deepEqual([opts.protocol, opts.host, opts.port, opts.username], ['ssh', 'builder.example', 22, 'me']);
  const port = resolveDockerConnection({ env: { HOME, DOCKER_HOST: 'ssh://builder.example:2222' } });
  assert.deepEqual(port.transport === 'ssh' && [port.port, port.username], [2222, undefined]);
});

test('the current docker context of config.json: its endpoint, and its TLS files', (t) => {
  const HOME = scratchHome(t);
  writeContext(HOME, 'colima', { Host: 'unix:///home/me/.colima/default/docker.sock' });
  useContext(HOME, 'colima');
  assert.deepEqual(resolveDockerConnection({ env: { HOME } }), {
    host: 'unix:///home/me/.colima/default/docker.sock',
    source: 'context',
    context: 'colima',
    transport: 'unix',
    socketPath: '/home/me/.colima/default/docker.sock',
  });

  writeContext(HOME, 'remote', { Host: 'tcp://remote.example:2376', SkipTLSVerify: false }, { ca: 'CA', cert: 'CERT', key: 'KEY' });
  useContext(HOME, 'remote');
  const remote = resolveDockerConnection({ env: { HOME } });
  assert.equal(remote.source, 'context');
  assert.equal(remote.context, 'remote');
  assert.ok(remote.transport === 'tcp' && remote.tls?.verify);
  const opts = dockerodeOptions(remote);
  assert.deepEqual([opts.protocol, opts.host, opts.port, String(opts.ca), String(opts.cert), String(opts.key)], ['https', 'remote.example', 2376, 'CA', 'CERT', 'KEY']);
});

test('context `default` is the local socket; a missing context is an error that names it', (t) => {
  const HOME = scratchHome(t);
  useContext(HOME, 'default');
  assert.equal(resolveDockerConnection({ env: { HOME } }).host, defaultDockerHost);
  useContext(HOME, 'gone');
  assert.throws(() => resolveDockerConnection({ env: { HOME } }), /docker context "gone" cannot be read/);
});

test('precedence: an explicit host, then DOCKER_HOST, then DOCKER_CONTEXT, then config.json', (t) => {
  const HOME = scratchHome(t);
  writeContext(HOME, 'fromfile', { Host: 'unix:///file.sock' });
  writeContext(HOME, 'fromenv', { Host: 'unix:///env.sock' });
  useContext(HOME, 'fromfile');
  const env = { HOME, DOCKER_CONTEXT: 'fromenv', DOCKER_HOST: 'unix:///host.sock' };
  assert.equal(resolveDockerConnection({ env, host: 'unix:///explicit.sock' }).host, 'unix:///explicit.sock');
  assert.equal(resolveDockerConnection({ env }).host, 'unix:///host.sock');
  assert.equal(resolveDockerConnection({ env: { HOME, DOCKER_CONTEXT: 'fromenv' } }).host, 'unix:///env.sock');
  assert.equal(resolveDockerConnection({ env: { HOME } }).host, 'unix:///file.sock');
});

test('DOCKER_CONFIG moves the configuration directory', (t) => {
  const HOME = scratchHome(t);
  const alt = path.join(HOME, 'alt');
  writeContext(path.dirname(alt), 'x', { Host: 'unix:///x.sock' });
  fs.renameSync(path.join(HOME, '.docker'), alt);
  fs.writeFileSync(path.join(alt, 'config.json'), JSON.stringify({ currentContext: 'x' }));
  assert.equal(resolveDockerConnection({ env: { HOME, DOCKER_CONFIG: alt } }).host, 'unix:///x.sock');
  assert.equal(resolveDockerConnection({ env: { HOME } }).host, defaultDockerHost);
});

test('an address that is not one is an error naming it', (t) => {
  const env = { HOME: scratchHome(t) };
  assert.throws(() => resolveDockerConnection({ env, host: 'tcp://' }), /"tcp:\/\/" is not a Docker address/);
  assert.throws(() => resolveDockerConnection({ env, host: 'ftp://x' }), /unknown scheme ftp/);
});
