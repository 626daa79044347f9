import type Docker from 'dockerode';
import type { Clock } from '../../util/clock.ts';
import { DockerContainerUpdater } from '../containers/docker.ts';
import type { ChannelSettings } from '../containers/channel/pool.ts';
import type { ContainerUpdater } from '../containers/updater.ts';
import { DockerodeImageClient, type ImageClient } from '../images/docker.ts';
import { defaultDockerHost, resolveDockerConnection, type DockerConnection, type DockerConnectionOptions } from './connection.ts';
import type { DockerClient } from './docker-client.ts';
import { DockerodeClient } from './dockerode-client.ts';
import { DockerodeContainerLogs, type ContainerLogs } from './container-logs.ts';
import { openDockerode } from './dockerode.ts';
import { errorText } from '../../util/errors.ts';

/** DockerVersion is what a Docker Engine says about itself (`docker version`). */
export interface DockerVersion {
  /** version is the Engine version, e.g. 20.10.24. */
  version: string;
  /** apiVersion is the Engine API version, e.g. 1.41. */
  apiVersion: string;
  /** arch is the Engine's architecture in Go's naming, e.g. amd64, arm64. */
  arch: string;
}

/** DockerEngineInfo is what a ping learns of a Docker Engine. */
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
  /** ping reaches the Engine at host (default: the daemon's Engine: DOCKER_HOST, the docker context, else the local socket). */
  ping(host?: string): Promise<DockerEngineInfo>;
  /** address is where a ping to host goes, as shown to the user. Without it: host, else defaultDockerHost. */
  address?(host?: string): string;
}

/**
 * DockerEngine is ferry's one connection to a Docker Engine, made from one reading of the
 * environment (resolveDockerConnection). It hands each user the narrow interface it needs:
 * the container view (DockerClient), the image store (ImageClient), container updates
 * (ContainerUpdater) and health (DockerPinger). dockerode stays inside src/adapters.
 */
export class DockerEngine {
  /** connection is where this Engine is and how it is reached. */
  readonly connection: DockerConnection;
  private untimed?: Docker;
  /** timed is the connection for health checks, whose every request is bounded by timeoutMs. */
  private timed?: { timeoutMs: number; docker: Docker };
  private dockerClient?: DockerClient;
  private imageClient?: ImageClient;

  constructor(connection: DockerConnection) {
    this.connection = connection;
  }

  /** docker is the connection without a timeout (event streams, pushes and execs run long), opened on first use. */
  private get docker(): Docker {
    this.untimed ??= openDockerode(this.connection);
    return this.untimed;
  }

  /** connect resolves the Engine from the environment (or opts.host) and connects to it lazily: nothing is dialled yet. */
  static connect(opts: DockerConnectionOptions = {}): DockerEngine {
    return new DockerEngine(resolveDockerConnection(opts));
  }

  /** host is the Engine's address as configured, e.g. unix:///var/run/docker.sock. */
  get host(): string {
    return this.connection.host;
  }

  /** version asks the Engine who it is; timeoutMs (default 5,000) bounds the request. */
  async version(opts: { timeoutMs?: number } = {}): Promise<DockerVersion> {
    const timeoutMs = opts.timeoutMs ?? 5_000;
    if (this.timed?.timeoutMs !== timeoutMs) this.timed = { timeoutMs, docker: openDockerode(this.connection, { timeoutMs }) };
    const v = await this.timed.docker.version();
    return { version: v.Version ?? '', apiVersion: v.ApiVersion ?? '', arch: v.Arch ?? '' };
  }

  /** client is the container view: find, inspect, remove containers and follow events. */
  client(): DockerClient {
    this.dockerClient ??= new DockerodeClient({ dockerode: this.docker });
    return this.dockerClient;
  }

  /** containerLogs follows what containers print (the log streams). */
  containerLogs(): ContainerLogs {
    return new DockerodeContainerLogs(this.docker);
  }

  /** images is the Engine's image store: inspect, tag, push. */
  images(): ImageClient {
    this.imageClient ??= new DockerodeImageClient(this.docker);
    return this.imageClient;
  }

  /**
   * containerUpdater updates files in this Engine's containers (LiveUpdate). stepTimeoutMs
   * defaults to 60,000; channel tunes the sync channels (its onEvent hears their fallbacks).
   */
  containerUpdater(opts: { clock: Clock; stepTimeoutMs?: number; channel?: ChannelSettings }): ContainerUpdater {
    return new DockerContainerUpdater({ docker: this.docker, clock: opts.clock, stepTimeoutMs: opts.stepTimeoutMs, channel: opts.channel });
  }

  /** pinger checks Engines for the Cluster kind: this one when no host is given, else the host given. */
  pinger(opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): DockerPinger {
    return new DockerodePinger({ ...opts, engine: this });
  }
}

/**
 * DockerodePinger is the DockerPinger over dockerode (GET /version). Without a host it pings
 * `engine` (default: the Engine resolved from the environment); with one, that host.
 */
export class DockerodePinger implements DockerPinger {
  private readonly timeoutMs: number;
  private readonly env?: NodeJS.ProcessEnv;
  private readonly own?: DockerEngine;
  private readonly engines = new Map<string, DockerEngine>();

  /** timeoutMs bounds one ping. Default 5,000. engine is the one pinged without a host. */
  constructor(opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; engine?: DockerEngine } = {}) {
    this.timeoutMs = opts.timeoutMs ?? 5_000;
    this.env = opts.env;
    this.own = opts.engine;
  }

  address(host?: string): string {
    try {
      return this.resolve(host).host;
    } catch {
      return host || defaultDockerHost;
    }
  }

  async ping(host?: string): Promise<DockerEngineInfo> {
    let engine: DockerEngine | undefined;
    try {
      engine = this.engine(host);
      const v = await engine.version({ timeoutMs: this.timeoutMs });
      return { host: engine.host, version: v.version, arch: v.arch };
    } catch (err) {
      const at = engine?.host ?? host ?? defaultDockerHost;
      throw new Error(`Cannot connect to the Docker daemon at ${at}. Is the docker daemon running? (${errorText(err)})`, { cause: err });
    }
  }

  private resolve(host: string | undefined): DockerConnection {
    if (!host && this.own) return this.own.connection;
    return resolveDockerConnection({ host, env: this.env });
  }

  private engine(host: string | undefined): DockerEngine {
    if (!host && this.own) return this.own;
    const key = host ?? '';
    let engine = this.engines.get(key);
    if (!engine) {
      engine = new DockerEngine(this.resolve(host));
      this.engines.set(key, engine);
    }
    return engine;
  }
}

