import path from 'node:path';
import { parse, stringify } from 'yaml';

/**
 * normalizeProjectName makes a Compose project name the way Compose does: lower case, only
 * letters, digits, `-` and `_`, starting with a letter or digit.
 */
export function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[_-]+/, '');
}

/**
 * defaultProjectName is the name Compose would give a project: the base name of the project
 * directory, else of the directory holding the first config file; `fallback` when neither gives
 * a usable name (a project given only as YAML).
 */
export function defaultProjectName(opts: { projectPath?: string; configPaths?: string[]; fallback: string }): string {
  const dir = opts.projectPath || (opts.configPaths?.[0] ? path.dirname(path.resolve(opts.configPaths[0])) : '');
  const fromDir = dir ? normalizeProjectName(path.basename(path.resolve(dir))) : '';
  return fromDir || normalizeProjectName(opts.fallback) || 'default';
}

/** ComposeServiceConfig is what ferry needs to know of one service of a resolved project. */
export interface ComposeServiceConfig {
  /** image is the service's `image`, when it names one. */
  image?: string;
  /** hasBuild is true when the service has a `build` section. */
  hasBuild: boolean;
  /** containerName is the service's `container_name`, when set. */
  containerName?: string;
  /** environment is the service's `environment` (null: a name without a value, taken from the host). */
  environment?: Record<string, string | null>;
}

/**
 * serviceConfig reads one service out of the output of `compose config`. Undefined when the
 * project has no such service.
 */
export function serviceConfig(resolvedYaml: string, service: string): ComposeServiceConfig | undefined {
  const doc = parse(resolvedYaml) as { services?: Record<string, Record<string, unknown> | null> } | null;
  const svc = doc?.services?.[service];
  if (svc === undefined) return undefined;
  const s = svc ?? {};
  const out: ComposeServiceConfig = {
    image: typeof s.image === 'string' && s.image !== '' ? s.image : undefined,
    hasBuild: s.build !== undefined && s.build !== null,
    containerName: typeof s.container_name === 'string' ? s.container_name : undefined,
  };
  const environment = environmentMap(s.environment);
  if (environment) out.environment = environment;
  return out;
}

/**
 * environmentMap reads a service's `environment` in either of Compose's forms (a map, or a list
 * of `NAME=value` and `NAME`). Undefined when there is none or it is neither form.
 */
export function environmentMap(env: unknown): Record<string, string | null> | undefined {
  const out: Record<string, string | null> = {};
  if (Array.isArray(env)) {
    for (const kv of env) {
      if (typeof kv !== 'string') return undefined;
      const i = kv.indexOf('=');
      if (i < 0) out[kv] = null;
      else out[kv.slice(0, i)] = kv.slice(i + 1);
    }
    return out;
  }
  if (env && typeof env === 'object') {
    for (const [k, v] of Object.entries(env as Record<string, unknown>)) {
      if (v === null || v === undefined) out[k] = null;
      else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
      else return undefined;
    }
    return out;
  }
  return undefined;
}

/** serviceNames lists the services of a resolved project. */
export function serviceNames(resolvedYaml: string): string[] {
  const doc = parse(resolvedYaml) as { services?: Record<string, unknown> } | null;
  return Object.keys(doc?.services ?? {});
}

/**
 * ServiceOverride is what an override file sets on one service: the image, the entrypoint, the
 * command and environment values. Compose merges it over the project's own files.
 */
export interface ServiceOverride {
  image?: string;
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
}

/**
 * overrideYaml is a Compose file that sets override on one service. Compose interpolates
 * `${...}` in every file it reads, so each `$` is written as `$$`: the values reach the
 * container as they are.
 */
export function overrideYaml(service: string, override: ServiceOverride): string {
  const escape = (v: string) => v.replaceAll('$', '$$$$');
  const svc: Record<string, unknown> = {};
  if (override.image !== undefined) svc.image = escape(override.image);
  if (override.entrypoint) svc.entrypoint = override.entrypoint.map(escape);
  if (override.command) svc.command = override.command.map(escape);
  if (override.environment) svc.environment = Object.fromEntries(Object.entries(override.environment).map(([k, v]) => [k, escape(v)]));
  return stringify({ services: { [service]: svc } });
}

/** imageOverrideYaml is a Compose file that only sets the image of one service. */
export function imageOverrideYaml(service: string, image: string): string {
  return overrideYaml(service, { image });
}

/**
 * impliedImageName is the image name Compose gives a service that is built and names no image:
 * `<project>_<service>` for the standalone v1 binary, `<project>-<service>` for the v2 plugin.
 */
export function impliedImageName(form: 'plugin' | 'standalone', project: string, service: string): string {
  return form === 'plugin' ? `${project}-${service}` : `${project}_${service}`;
}
