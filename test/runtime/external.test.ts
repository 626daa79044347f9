import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Cluster } from '../../src/apis/cluster.ts';
import { loadKubeConfig } from '../../src/client/kubeconfig.ts';
import { Manager } from '../../src/runtime/manager.ts';
import { ClusterReconciler } from '../../controllers/cluster/reconciler.ts';
import { ensureDefaultClusters } from '../../controllers/cluster/defaults.ts';
import type { DockerPinger } from '../../src/adapters/docker/index.ts';
import type { KubernetesProber } from '../../src/adapters/kubernetes/index.ts';
import { waitFor } from './support.ts';
import { silentLogger } from '../../src/log.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

test('controllers in this process reconcile against the API server of another process, through its kubeconfig file', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-external-'));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures', 'serve-api.ts'), dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the API server process exited with ${code}`)));
  });
  const { kubeconfig } = JSON.parse(line) as { kubeconfig: string };

  const mgr = new Manager({ kubeConfig: loadKubeConfig(kubeconfig), log: silentLogger() });
  t.after(() => mgr.stop());
  const docker: DockerPinger = { ping: async () => ({ host: 'unix:///var/run/docker.sock', version: '99.0', arch: 'riscv64' }) };
  const kubernetes: KubernetesProber = {
    probe: async () => {
      throw new Error('no cluster');
    },
  };
  mgr.controller('cluster').for('Cluster').complete(new ClusterReconciler({ client: mgr.client, clock: mgr.clock, docker, kubernetes }));
  await mgr.start();
  assert.deepEqual(await ensureDefaultClusters(mgr.client, { kubeContext: 'kind-kind' }), ['docker', 'default']);

  const get = (name: string) => mgr.client.get<Cluster>('Cluster', name);
  await waitFor(async () => (await get('docker'))?.status?.arch === 'riscv64', 'Cluster docker reconciled');
  await waitFor(async () => (await get('default'))?.status?.error === 'no cluster', 'Cluster default reconciled');
});
