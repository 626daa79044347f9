/**
 * What the Cluster kind needs of a Docker Engine: a ping that says who it is. The implementation
 * (DockerodePinger, over the one Docker adapter) is built by the wiring and passed in.
 */
export { defaultDockerHost, type DockerEngineInfo, type DockerPinger } from '../../src/adapters/docker/index.ts';
