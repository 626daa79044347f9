/**
 * startTestApiServer runs the real embedded API server in-process on an ephemeral
 * port with memory storage, and gives a client-node KubeConfig for it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../src/apiserver/server.ts';
import { silentLogger } from '../../src/log.ts';

export interface TestApiServer {
  server: ApiServer;
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

export async function startTestApiServer(opts: Partial<ApiServerOptions> = {}): Promise<TestApiServer> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-test-'));
  const server = await startApiServer({ storage: 'memory', log: silentLogger(), ...opts, dataDir });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(server.kubeconfig);
  return {
    server,
    kubeConfig,
    kubeconfigPath: server.kubeconfigPath,
    url: server.url,
    dataDir,
    async close() {
      await server.close();
      if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
