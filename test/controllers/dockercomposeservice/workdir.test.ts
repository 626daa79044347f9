/**
 * The Compose files ferry writes (a project given as YAML, image overrides) live in the daemon's
 * data directory and are gone once it stops: no `<tmpdir>/ferry-compose-<pid>` folder is left.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon } from '../../../src/daemon.ts';
import { FerryClient } from '../../../src/client/client.ts';
import { silentLogger } from '../../../src/log.ts';
import type { DockerComposeService } from '../../../src/apis/dockercomposeservice.ts';
import { waitFor } from '../../support/wait.ts';

describe('DockerComposeService files', () => {
  it('are written in the data directory and removed on stop', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-dcs-workdir-'));
    const daemon = await startDaemon({ dataDir, storage: 'memory', log: silentLogger(), cwd: dataDir });
    const client = new FerryClient(daemon.kubeConfig);
    try {
      await client.create<DockerComposeService>({
        apiVersion: 'tilt.dev/v1alpha1',
        kind: 'DockerComposeService',
        metadata: { name: 'inline' },
        // A project given as YAML is written to a file for Compose; the ImageMap never comes, so nothing runs.
        spec: { service: 'web', project: { name: 'ferry-workdir-test', yaml: 'services:\n  web:\n    image: never-built\n' }, imageMaps: ['missing'] },
      });
      const file = path.join(dataDir, 'compose', 'inline', 'docker-compose.yml');
      await waitFor(() => fs.existsSync(file), { timeoutMs: 30_000, message: file });
    } finally {
      client.close();
      await daemon.stop();
    }
    assert.ok(!fs.existsSync(path.join(dataDir, 'compose')), 'the files are removed on stop');
    assert.ok(!fs.existsSync(path.join(os.tmpdir(), `ferry-compose-${process.pid}`)), 'and none were written to a temporary folder');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
