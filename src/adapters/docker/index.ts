/** Docker: a narrow DockerClient over the Engine API, and its dockerode implementation. */
export * from './docker-client.ts';
export { DockerodeClient, type DockerodeClientOptions } from './dockerode-client.ts';
