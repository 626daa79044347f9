/**
 * deploy/compose.yaml: Compose validates it, and it publishes the API on loopback only, mounts
 * the Docker socket and the workspace at its own path, and keeps the data in a volume.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { parse } from 'yaml';

const file = path.resolve(import.meta.dirname, '../../deploy/compose.yaml');

function compose(args: string[], env: Record<string, string | undefined>): Promise<{ code: number; stdout: string; stderr: string }> {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
  return new Promise((resolve, reject) => {
    execFile('docker-compose', ['-f', file, ...args], { env: merged }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(err);
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('deploy/compose.yaml', () => {
  it('validates with docker-compose config', async () => {
    const res = await compose(['config'], { FERRY_WORKSPACE: '/home/dev/project', DOCKER_GID: '998', FERRY_PORT: undefined });
    assert.equal(res.code, 0, res.stderr);
    const cfg = parse(res.stdout) as {
      services: { ferry: { ports: unknown[]; volumes: string[]; working_dir: string; group_add: unknown[]; command: string[] } };
      volumes: Record<string, unknown>;
    };
    const ferry = cfg.services.ferry;
    assert.deepEqual(ferry.ports.map(String), ['127.0.0.1:7443:7443/tcp']);
    assert.ok(ferry.volumes.includes('/var/run/docker.sock:/var/run/docker.sock:rw'), 'Docker socket');
    assert.ok(ferry.volumes.includes('/home/dev/project:/home/dev/project:rw'), 'workspace at its own path');
    assert.ok(ferry.volumes.some((v) => v.startsWith('ferry-data:/data')), 'data volume');
    assert.ok('ferry-data' in cfg.volumes);
    assert.equal(ferry.working_dir, '/home/dev/project');
    assert.deepEqual(ferry.group_add.map(String), ['998']);
    assert.deepEqual(ferry.command.slice(0, 3), ['serve', '--host', '0.0.0.0']);
  });

  it('says what to set when the Docker group is missing', async () => {
    const res = await compose(['config', '-q'], { FERRY_WORKSPACE: '/home/dev/project', DOCKER_GID: undefined });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /set DOCKER_GID to the group id of the Docker socket/);
  });
});
