import fs from 'node:fs';
import https from 'node:https';
import Docker from 'dockerode';
import type { DockerConnection } from './connection.ts';

/**
 * openDockerode makes the dockerode connection for a resolved DockerConnection. Every option is
 * set, so dockerode's own reading of DOCKER_HOST never mixes in. timeoutMs bounds each request
 * (default: none, as event streams, pushes and execs run long).
 */
export function openDockerode(conn: DockerConnection, opts: { timeoutMs?: number } = {}): Docker {
  return new Docker({ ...dockerodeOptions(conn), timeout: opts.timeoutMs });
}

/** dockerodeOptions are dockerode's connection options for conn; TLS files are read here. */
export function dockerodeOptions(conn: DockerConnection): Docker.DockerOptions {
  const none = { socketPath: undefined, host: undefined, port: undefined, protocol: undefined, ca: undefined, cert: undefined, key: undefined };
  switch (conn.transport) {
    case 'unix':
    case 'npipe':
      return { ...none, socketPath: conn.socketPath };
    case 'ssh':
      return { ...none, protocol: 'ssh', host: conn.hostname, port: conn.port, username: conn.username, sshOptions: {} };
    case 'tcp': {
      if (!conn.tls) return { ...none, protocol: 'http', host: conn.hostname, port: conn.port };
      const read = (f: string | undefined) => (f ? fs.readFileSync(f) : undefined);
      const ca = conn.tls.verify ? read(conn.tls.caFile) : undefined;
      const cert = read(conn.tls.certFile);
      const key = read(conn.tls.keyFile);
      const options: Docker.DockerOptions = { ...none, protocol: 'https', host: conn.hostname, port: conn.port, ca, cert, key };
      // Without verification the Engine's certificate is accepted as it is (DOCKER_TLS without DOCKER_TLS_VERIFY).
      if (!conn.tls.verify) (options as { agent?: https.Agent }).agent = new https.Agent({ rejectUnauthorized: false, cert, key });
      return options;
    }
  }
}
