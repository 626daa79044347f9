/**
 * Where a DockerComposeLogStream has read up to, kept in an annotation so that a restarted
 * daemon resumes the stream without repeating a line, and the pure rules the reconciler follows.
 */
import path from 'node:path';
import type { DockerComposeLogStream } from '../../src/apis/dockercomposelogstream.ts';
import { defaultProjectName } from '../../src/adapters/compose/index.ts';
import type { ContainerSummary } from '../../src/adapters/docker/index.ts';

/** positionAnnotation holds the stream's Position as JSON. */
export const positionAnnotation = 'ferry.dev/log-position';

/** Position is the container last followed and the time of the last line read from it. */
export interface Position {
  /** container is the id of the container followed. */
  container: string;
  /** startedAt is when that container last started (a restart changes it). */
  startedAt?: string;
  /** time is the last line's time, normalised (src/util/log-time.ts); absent before the first line. */
  time?: string;
}

/** readPosition parses the annotation; undefined when it is missing or not a Position. */
export function readPosition(obj: DockerComposeLogStream): Position | undefined {
  const raw = obj.metadata.annotations?.[positionAnnotation];
  if (!raw) return undefined;
  try {
    const p = JSON.parse(raw) as Position;
    return typeof p?.container === 'string' ? p : undefined;
  } catch {
    return undefined;
  }
}

/**
 * marker is the line that tells the reader the stream moved to another run of the service: a
 * restart of the same container, or a new container. Nothing for the first container followed.
 */
export function marker(prev: Position | undefined, next: { container: string; startedAt?: string }): string | undefined {
  if (!prev) return undefined;
  if (prev.container !== next.container) return `[new container ${next.container.slice(0, 12)}]`;
  if (prev.startedAt !== next.startedAt) return '[container restarted]';
  return undefined;
}

/**
 * projectName is the Compose project the stream's service belongs to: the spec's name, else
 * what Compose derives from the project path or the first file, else the object's name.
 */
export function projectName(obj: DockerComposeLogStream, cwd: string): string {
  const p = obj.spec?.project;
  if (p?.name) return p.name;
  const configPaths = p?.yaml ? [] : p?.configPaths?.map((f) => path.resolve(cwd, f));
  const projectPath = p?.projectPath ? path.resolve(cwd, p.projectPath) : undefined;
  return defaultProjectName({ projectPath, configPaths, fallback: obj.metadata.name ?? '' });
}

/** pickContainer is the service's container to follow: a running one, else the newest. */
export function pickContainer(list: ContainerSummary[]): ContainerSummary | undefined {
  const sorted = [...list].sort((a, b) => b.createdMs - a.createdMs);
  return sorted.find((c) => c.state === 'running') ?? sorted[0];
}

/** after says whether normalised time a is later than b (a missing b: always). */
export function after(a: string | undefined, b: string | undefined): boolean {
  if (!a) return false;
  return !b || a > b;
}
