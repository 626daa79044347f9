/** Compose: running the Docker Compose CLI (v2 plugin or v1 standalone) for one service. */
export * from './compose-cli.ts';
export * from './project.ts';
