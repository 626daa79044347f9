/**
 * An object the server acknowledged survives kill -9: restart on the same data directory
 * and every acknowledged object is there, with its resourceVersion, in order.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FerryClient } from '../../src/client/client.ts';
import type { KubeObject } from '../../src/apis/meta.ts';
import { loadKubeConfig } from '../../src/client/kubeconfig.ts';
import { startFerryProcess } from '../support/daemon.ts';
import { waitFor } from '../support/wait.ts';

describe('durability', () => {
  it('keeps every acknowledged object across kill -9', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-durable-'));
    const first = await startFerryProcess({ dataDir });
    const client = new FerryClient(loadKubeConfig(first.kubeconfigPath));
    const acked: Array<{ name: string; rv: number }> = [];
    let stop = false;
    const writers = [0, 1, 2, 3].map(async (w) => {
      for (let i = 0; !stop; i++) {
        const name = `cm-${w}-${i}`;
        try {
          const obj = await client.create({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ConfigMap', metadata: { name }, data: { i: String(i) } } as KubeObject);
          acked.push({ name, rv: Number(obj.metadata.resourceVersion) });
        } catch {
          return; // the server died under this request: it was never acknowledged
        }
      }
    });
    await waitFor(() => acked.length >= 400, { timeoutMs: 60_000 });
    await first.kill9();
    stop = true;
    await Promise.all(writers);
    client.close();

    const second = await startFerryProcess({ dataDir });
    const after = new FerryClient(loadKubeConfig(second.kubeconfigPath));
    try {
      const list = await after.list('ConfigMap');
      const stored = new Map(list.items.map((o) => [o.metadata.name!, Number(o.metadata.resourceVersion)]));
      for (const a of acked) assert.equal(stored.get(a.name), a.rv, `${a.name} was acknowledged at rv ${a.rv}`);
      const rvs = acked.map((a) => a.rv).sort((x, y) => x - y);
      assert.equal(new Set(rvs).size, rvs.length, 'resourceVersions are unique');
      const next = await after.create<KubeObject>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ConfigMap', metadata: { name: 'after-restart' } });
      assert.ok(Number(next.metadata.resourceVersion) > rvs[rvs.length - 1], 'resourceVersions keep growing across the restart');
    } finally {
      after.close();
      await second.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
