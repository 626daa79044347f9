/**
 * External mode: `ferry serve --kubeconfig FILE` starts no API server and runs its
 * controllers, over HTTP, against the API server of another process.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestApiServer } from '../support/apiserver.ts';
import { startFerryProcess } from '../support/daemon.ts';
import { waitFor } from '../support/wait.ts';
import { FerryClient } from '../../src/client/client.ts';
import type { Cluster } from '../../src/apis/cluster.ts';

describe('ferry serve --kubeconfig', () => {
  it('runs the controllers against another process\'s API server', async () => {
    const api = await startTestApiServer();
    const kubeconfig = path.join(api.dataDir, 'external-kubeconfig');
    fs.writeFileSync(kubeconfig, api.server.kubeconfig, { mode: 0o600 });
    const ferry = await startFerryProcess({ kubeconfig, args: ['--health-addr', '127.0.0.1:0'] });
    const client = new FerryClient(api.kubeConfig);
    try {
      assert.match(ferry.output(), /running its controllers against https:\/\/127\.0\.0\.1:/);
      assert.ok(!fs.existsSync(path.join(ferry.dataDir, 'kubeconfig')), 'no embedded server, no kubeconfig of its own');
      // The daemon made its default objects in the external server...
      await waitFor(async () => !!(await client.get('Session', 'Tiltfile')));
      // ...and its Cluster controller reconciles what is created there.
      await client.create<Cluster>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'nowhere' }, spec: { connection: { docker: { host: 'unix:///nonexistent/docker.sock' } } } });
      await waitFor(async () => !!(await client.get<Cluster>('Cluster', 'nowhere'))?.status?.error, { timeoutMs: 20_000 });
      const health = /"address":"([^"]+)"/.exec(ferry.output())?.[1];
      assert.ok(health, 'the health endpoints listen');
      const ready = await fetch(`http://${health}/readyz`);
      assert.equal(ready.status, 200);
      const metrics = await (await fetch(`http://${health}/metrics`)).text();
      assert.match(metrics, /controller_runtime_reconcile_total/);
    } finally {
      client.close();
      assert.equal(await ferry.stop(), 0);
      await api.close();
    }
  });
});
