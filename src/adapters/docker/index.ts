/**
 * Docker: the one reading of where the Engine is (resolveDockerConnection), the one connection
 * to it (DockerEngine), and the narrow interfaces its users see (DockerClient, DockerPinger;
 * ImageClient and ContainerUpdater live with images and containers). dockerode stays inside.
 */
export * from './docker-client.ts';
export {
  defaultDockerHost,
  dockerConfigDir,
  dockerConnectionSources,
  resolveDockerConnection,
  type DockerConnection,
  type DockerConnectionOptions,
  type DockerConnectionSource,
  type DockerTls,
} from './connection.ts';
export { DockerEngine, DockerodePinger, type DockerEngineInfo, type DockerPinger, type DockerVersion } from './engine.ts';
export { DockerodeClient, type DockerodeClientOptions } from './dockerode-client.ts';
export { DockerodeContainerLogs, type ContainerLogs, type ContainerLogLine, type FollowLogsOptions } from './container-logs.ts';
