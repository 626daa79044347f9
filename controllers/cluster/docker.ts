import Docker from 'dockerode';

/** DockerEngineInfo is what a Docker Engine says about itself. */
export interface DockerEngineInfo {
  /** host is the address used, e.g. unix:///var/run/docker.sock. */
  host: string;
  /** version is the Engine version, e.g. 20.10.24. */
  version: string;
  /** arch is the Engine's architecture in Go's naming, e.g. amd64, arm64. */
  arch: string;
}

/** DockerPinger asks a Docker Engine who it is; it throws when the Engine does not answer. */
export interface DockerPinger {
  /** ping reaches the Engine at host (default: DOCKER_HOST, else the local socket). */
  ping(host?: string): Promise<DockerEngineInfo>;
}

/** defaultDockerHost is where the Engine is when neither the spec nor DOCKER_HOST say. */
export const defaultDockerHost = 'unix:///var/run/docker.sock';

/** effectiveDockerHost is the host a ping goes to: the given one, else DOCKER_HOST, else the local socket. */
export function effectiveDockerHost(host?: string): string {
  return host || process.env.DOCKER_HOST || defaultDockerHost;
}

/** DockerodePinger is the DockerPinger over dockerode (GET /version). */
export class DockerodePinger implements DockerPinger {
  private readonly timeoutMs: number;
  private readonly engines = new Map<string, Docker>();

  /** timeoutMs bounds one ping. Default 5,000. */
  constructor(opts: { timeoutMs?: number } = {}) {
    this.timeoutMs = opts.timeoutMs ?? 5_000;
  }

  async ping(host?: string): Promise<DockerEngineInfo> {
    const effective = effectiveDockerHost(host);
    let docker = this.engines.get(host ?? '');
    if (!docker) {
      // Without an explicit host dockerode reads DOCKER_HOST and the DOCKER_TLS_* settings itself.
      docker = new Docker({ ...(host ? dockerodeOptions(host) : {}), timeout: this.timeoutMs });
      this.engines.set(host ?? '', docker);
    }
    let v: Docker.DockerVersion;
    try {
      v = await docker.version();
    } catch (err) {
      throw new Error(`Cannot connect to the Docker daemon at ${effective}. Is the docker daemon running? (${errorText(err)})`, { cause: err });
    }
    return { host: effective, version: v.Version ?? '', arch: v.Arch ?? '' };
  }
}

/** dockerodeOptions turns a Docker host URL into dockerode's connection options. */
export function dockerodeOptions(host: string): Docker.DockerOptions {
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  if (host.startsWith('/')) return { socketPath: host };
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  if (url.protocol === 'ssh:') {
    return { protocol: 'ssh', host: url.hostname, port: Number(url.port) || 22, username: url.username || undefined };
  }
  const https = url.protocol === 'https:';
  return { protocol: https ? 'https' : 'http', host: url.hostname, port: Number(url.port) || (https ? 2376 : 2375) };
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
