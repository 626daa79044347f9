/** Container updaters: how live updates reach running containers. */
export * from './updater.ts';
export { DockerContainerUpdater, dockerMessage, type DockerContainerUpdaterDeps } from './docker.ts';
export { ExecContainerUpdater, restartUnsupported, type ExecContainerUpdaterDeps } from './kubernetes-exec.ts';
export { FakeContainerUpdater, type FakeUpdateCall } from './fake.ts';
export { kubernetesUpdaters } from './per-cluster.ts';
export { ChannelPool, channelMaxEntries, type ChannelEvent, type ChannelPoolOptions } from './channel/pool.ts';
export { logChannelEvents } from './channel/log.ts';
