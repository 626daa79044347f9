import type Docker from 'dockerode';
import type {
  ContainerDetails,
  ContainerRunState,
  ContainerSummary,
  NetworkSummary,
  DockerClient,
  DockerEvent,
  DockerEventsOptions,
  PortBinding,
} from './docker-client.ts';
import { resolveDockerConnection } from './connection.ts';
import { openDockerode } from './dockerode.ts';
import { LineSplitter } from '../../util/lines.ts';

/** DockerodeClientOptions configure DockerodeClient; without any, the Engine is resolved from the environment. */
export interface DockerodeClientOptions {
  /** host is a Docker host URL (unix:///var/run/docker.sock, tcp://host:2375, ssh://user@host); default: resolveDockerConnection(). */
  host?: string;
  /** dockerode shares an open connection to that Engine (DockerEngine passes its own). */
  dockerode?: Docker;
}

/** DockerodeClient is the DockerClient that talks to a Docker Engine through dockerode. */
export class DockerodeClient implements DockerClient {
  private readonly docker: Docker;

  constructor(opts: DockerodeClientOptions = {}) {
    this.docker = opts.dockerode ?? openDockerode(resolveDockerConnection({ host: opts.host }));
  }

  async ping(): Promise<void> {
    await this.docker.ping();
  }

  async inspectContainer(idOrName: string): Promise<ContainerDetails | undefined> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(idOrName).inspect();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw new Error('inspecting container', { cause: err });
    }
    return {
      id: info.Id,
      name: info.Name.replace(/^\//, ''),
      image: info.Config?.Image ?? '',
      imageId: info.Image,
      labels: info.Config?.Labels ?? {},
      state: runState(info.State),
      ports: portBindings(info.NetworkSettings?.Ports),
    };
  }

  async listContainers(filter: { labels?: Record<string, string> } = {}): Promise<ContainerSummary[]> {
    const label = Object.entries(filter.labels ?? {}).map(([k, v]) => `${k}=${v}`);
    let list: Docker.ContainerInfo[];
    try {
      list = await this.docker.listContainers({ all: true, filters: { label } });
    } catch (err) {
      throw new Error('listing containers', { cause: err });
    }
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names?.[0] ?? '').replace(/^\//, ''),
      image: c.Image,
      labels: c.Labels ?? {},
      state: c.State,
      createdMs: c.Created * 1000,
    }));
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true });
    } catch (err) {
      const code = (err as { statusCode?: number }).statusCode;
      if (code === 404) return;
      // 409: removal already in progress.
      if (code === 409) return;
      throw new Error('removing container', { cause: err });
    }
  }

  async listNetworks(filter: { labels?: Record<string, string> } = {}): Promise<NetworkSummary[]> {
    const label = Object.entries(filter.labels ?? {}).map(([k, v]) => `${k}=${v}`);
    try {
      const list = await this.docker.listNetworks({ filters: { label } });
      return list.map((n) => ({ id: n.Id, name: n.Name }));
    } catch (err) {
      throw new Error('listing networks', { cause: err });
    }
  }

  async removeNetwork(id: string): Promise<void> {
    try {
      await this.docker.getNetwork(id).remove();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return;
      throw new Error('removing network', { cause: err });
    }
  }

  async *events(opts: DockerEventsOptions = {}): AsyncIterable<DockerEvent> {
    const filters: Record<string, string[]> = {};
    if (opts.types?.length) filters.type = opts.types;
    if (opts.labels?.length) filters.label = opts.labels;
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.getEvents({ filters: JSON.stringify(filters) });
    } catch (err) {
      throw new Error('opening the Docker event stream', { cause: err });
    }
    const destroy = () => (stream as unknown as { destroy?: () => void }).destroy?.();
    if (opts.signal?.aborted) {
      destroy();
      return;
    }
    opts.signal?.addEventListener('abort', destroy, { once: true });
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    try {
      for await (const chunk of stream) {
        splitter.write(chunk as Buffer | string);
        for (const line of lines.splice(0)) {
          const ev = parseEvent(line);
          if (ev) yield ev;
        }
      }
    } catch (err) {
      if (opts.signal?.aborted) return;
      throw new Error('reading the Docker event stream', { cause: err });
    } finally {
      opts.signal?.removeEventListener('abort', destroy);
      destroy();
    }
    if (!opts.signal?.aborted) throw new Error('the Docker event stream ended');
  }
}

interface RawEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  timeNano?: number;
  time?: number;
}

function parseEvent(line: string): DockerEvent | undefined {
  if (line.trim() === '') return undefined;
  let raw: RawEvent;
  try {
    raw = JSON.parse(line) as RawEvent;
  } catch {
    return undefined;
  }
  return {
    type: raw.Type ?? '',
    action: raw.Action ?? raw.status ?? '',
    id: raw.Actor?.ID ?? raw.id ?? '',
    attributes: raw.Actor?.Attributes ?? {},
    timeNano: BigInt(raw.timeNano ?? (raw.time ?? 0) * 1e9),
  };
}

const zeroTime = '0001-01-01T00:00:00Z';

function dockerTime(s: string | undefined): string | undefined {
  if (!s || s === zeroTime) return undefined;
  return s;
}

function runState(s: Docker.ContainerInspectInfo['State'] | undefined): ContainerRunState {
  if (!s) return { status: '', running: false };
  const state: ContainerRunState = { status: s.Status, running: s.Running };
  if (s.Error) state.error = s.Error;
  state.exitCode = s.ExitCode;
  const startedAt = dockerTime(s.StartedAt);
  if (startedAt) state.startedAt = startedAt;
  const finishedAt = dockerTime(s.FinishedAt);
  if (finishedAt) state.finishedAt = finishedAt;
  return state;
}

function portBindings(ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | undefined): PortBinding[] {
  const out: PortBinding[] = [];
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const [port, protocol = 'tcp'] = key.split('/');
    for (const b of bindings ?? []) {
      const binding: PortBinding = { containerPort: Number(port), protocol };
      if (b.HostIp) binding.hostIP = b.HostIp;
      if (b.HostPort) binding.hostPort = Number(b.HostPort);
      out.push(binding);
    }
  }
  out.sort((a, b) => a.containerPort - b.containerPort || (a.hostIP ?? '').localeCompare(b.hostIP ?? '') || (a.hostPort ?? 0) - (b.hostPort ?? 0));
  return out;
}
