/**
 * startTestApiServer runs the real embedded API server in-process on an ephemeral
 * port with memory storage, and gives a client-node KubeConfig for it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../src/apiserver/server.ts';
import { ensureCredentials } from '../../src/apiserver/security.ts';
import { silentLogger } from '../../src/log.ts';

export interface TestApiServer {
  server: ApiServer;
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

let sharedCredentials: Promise<string> | undefined;

/** Key generation takes a second: every test server of a process shares one set of credentials. */
function credentialsDir(): Promise<string> {
  sharedCredentials ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-test-creds-'));
    await ensureCredentials(dir, ['127.0.0.1']);
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  })();
  return sharedCredentials;
}

export async function startTestApiServer(opts: Partial<ApiServerOptions> = {}): Promise<TestApiServer> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-test-'));
  const creds = await credentialsDir();
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  for (const f of ['ca.crt', 'ca.key', 'server.crt', 'server.key', 'token']) {
    if (!fs.existsSync(path.join(dataDir, f))) fs.copyFileSync(path.join(creds, f), path.join(dataDir, f));
  }
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

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  json(): any;
}

/**
 * rawRequest sends one HTTPS request to the server as a hand-made client would: for the
 * malformed bodies, missing tokens and browser headers that no real client sends.
 */
export async function rawRequest(
  server: { url: string; caCert: string; token: string },
  opts: { method?: string; path: string; body?: string | Buffer; headers?: Record<string, string>; token?: string | null },
): Promise<RawResponse> {
  const https = await import('node:https');
  const u = new URL(opts.path, server.url);
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  const token = opts.token === undefined ? server.token : opts.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  // A body is JSON unless told otherwise; a Content-Type of '' sends none at all.
  if (opts.body !== undefined && headers['Content-Type'] === undefined) headers['Content-Type'] = 'application/json';
  if (headers['Content-Type'] === '') delete headers['Content-Type'];
  // Node sends a DELETE body unframed unless its length is given.
  if (opts.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
  return new Promise((resolve, reject) => {
    // A Host header of the test's choosing must not change which name the certificate is checked for.
    const servername = headers.Host === undefined ? undefined : 'localhost';
    const req = https.request(u, { method: opts.method ?? 'GET', headers, ca: server.caCert, servername }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, json: () => JSON.parse(text) });
      });
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}
