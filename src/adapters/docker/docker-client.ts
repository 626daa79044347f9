/**
 * DockerClient is the narrow view of a Docker Engine that discovery needs: find containers,
 * inspect them, and follow the Engine's event stream. Its types are ferry's own; no dockerode
 * type leaks through it.
 */
export interface DockerClient {
  /** ping resolves when the Engine answers, and throws when it does not. */
  ping(): Promise<void>;
  /** inspectContainer is the container's current state, or undefined when it does not exist. */
  inspectContainer(idOrName: string): Promise<ContainerDetails | undefined>;
  /** listContainers lists containers, stopped ones included, that carry every given label. */
  listContainers(filter?: { labels?: Record<string, string> }): Promise<ContainerSummary[]>;
  /** removeContainer stops and removes a container (like `docker rm -f`); a missing one is not an error. */
  removeContainer(id: string): Promise<void>;
  /** listNetworks lists the networks that carry every given label. */
  listNetworks(filter?: { labels?: Record<string, string> }): Promise<NetworkSummary[]>;
  /** removeNetwork removes a network (like `docker network rm`); a missing one is not an error. */
  removeNetwork(id: string): Promise<void>;
  /**
   * events follows the Engine's event stream from now on, filtered as given, until the signal
   * aborts (the iterator then ends) or the connection breaks (the iterator throws).
   */
  events(opts?: DockerEventsOptions): AsyncIterable<DockerEvent>;
}

/** DockerEventsOptions filter the event stream the way `docker events --filter` does. */
export interface DockerEventsOptions {
  /** types keeps only these object types, e.g. `container`. */
  types?: string[];
  /** labels keeps only objects carrying these labels: `key` or `key=value`. */
  labels?: string[];
  signal?: AbortSignal;
}

/** DockerEvent is one event of the Engine's event stream. */
export interface DockerEvent {
  /** type is the object type: container, image, network, volume, ... */
  type: string;
  /** action is what happened: create, start, die, kill, stop, restart, destroy, ... */
  action: string;
  /** id is the object's id (for containers, the full container id). */
  id: string;
  /** attributes are the object's labels and a few event details (name, image, exitCode). */
  attributes: Record<string, string>;
  /** timeNano is when it happened, in nanoseconds since the epoch. */
  timeNano: bigint;
}

/** ContainerRunState is a container's state, as inspect reports it. */
export interface ContainerRunState {
  /** status is created, running, paused, restarting, removing, exited or dead. */
  status: string;
  running: boolean;
  error?: string;
  exitCode?: number;
  /** startedAt is RFC 3339; absent when the container never started. */
  startedAt?: string;
  /** finishedAt is RFC 3339; absent when the container never stopped. */
  finishedAt?: string;
}

/** PortBinding is one published port. */
export interface PortBinding {
  containerPort: number;
  protocol: string;
  hostIP?: string;
  hostPort?: number;
}

/** NetworkSummary is a network as a list reports it. */
export interface NetworkSummary {
  id: string;
  name: string;
}

/** ContainerSummary is a container as a list reports it. */
export interface ContainerSummary {
  id: string;
  /** name is without the leading `/`. */
  name: string;
  image: string;
  labels: Record<string, string>;
  /** state is the status word (running, exited, ...). */
  state: string;
  /** createdMs is the creation time in milliseconds since the epoch. */
  createdMs: number;
}

/** ContainerDetails is a container as inspect reports it. */
export interface ContainerDetails {
  id: string;
  /** name is without the leading `/`. */
  name: string;
  /** image is the image the container was created from, as named at creation. */
  image: string;
  /** imageId is the image's id (sha256:...). */
  imageId: string;
  labels: Record<string, string>;
  state: ContainerRunState;
  ports: PortBinding[];
}
