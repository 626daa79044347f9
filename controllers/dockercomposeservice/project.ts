import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DockerComposeService } from '../../src/apis/dockercomposeservice.ts';
import { parse } from 'yaml';
import { defaultProjectName, environmentMap, normalizeProjectName, overrideYaml, type ComposeProjectArgs, type ComposeServiceConfig, type ServiceOverride } from '../../src/adapters/compose/index.ts';

/**
 * projectName is the Compose project name of a DockerComposeService: its spec's, else Compose's
 * default, followed by `suffix` when one is given (`ferry ci` runs its own projects beside a dev
 * daemon's that way).
 */
export function projectName(obj: DockerComposeService, cwd: string = process.cwd(), suffix = ''): string {
  const p = obj.spec?.project;
  let name: string;
  if (p?.name) name = p.name;
  else {
    const configPaths = p?.yaml ? [] : p?.configPaths?.map((f) => path.resolve(cwd, f));
    const projectPath = p?.projectPath ? path.resolve(cwd, p.projectPath) : undefined;
    name = defaultProjectName({ projectPath, configPaths, fallback: obj.metadata.name ?? '' });
  }
  return suffix ? normalizeProjectName(name + suffix) : name;
}

/**
 * ProjectFiles are the files ferry writes for one object: the project YAML (when the spec gives
 * YAML rather than files) and the image override. They live in one directory per object.
 */
export class ProjectFiles {
  /** dir holds the written files; cwd is what relative paths of the spec resolve against. */
  constructor(
    readonly dir: string,
    readonly cwd: string = process.cwd(),
    /** projectSuffix follows every project name (see projectName). */
    readonly projectSuffix = '',
  ) {}

  /**
   * args are the Compose arguments for the object, writing its YAML to disk when the spec gives
   * YAML. With an `override` that sets anything, a last file sets it on the service.
   */
  async args(obj: DockerComposeService, override?: ServiceOverride): Promise<ComposeProjectArgs> {
    const spec = obj.spec!;
    const p = spec.project;
    let configPaths: string[];
    if (p.yaml) {
      await mkdir(this.dir, { recursive: true });
      const file = path.join(this.dir, 'docker-compose.yml');
      await writeIfChanged(file, p.yaml);
      configPaths = [file];
    } else {
      // As Compose resolves `-f`: against the working directory.
      configPaths = (p.configPaths ?? []).map((f) => path.resolve(this.cwd, f));
    }
    if (override && Object.keys(override).length > 0) {
      await mkdir(this.dir, { recursive: true });
      const file = path.join(this.dir, 'ferry-image-override.yml');
      await writeIfChanged(file, overrideYaml(spec.service, override));
      configPaths = [...configPaths, file];
    }
    const args: ComposeProjectArgs = { name: projectName(obj, this.cwd, this.projectSuffix), configPaths };
    if (p.projectPath) args.projectDirectory = path.resolve(this.cwd, p.projectPath);
    if (p.profiles?.length) args.profiles = p.profiles;
    if (p.envFile) args.envFile = path.resolve(this.cwd, p.envFile);
    return args;
  }

  /** remove deletes the object's files. */
  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function writeIfChanged(file: string, content: string): Promise<void> {
  const old = await readFile(file, 'utf8').catch(() => undefined);
  if (old !== content) await writeFile(file, content);
}

/**
 * configInputsHash identifies the project configuration as Compose will read it: the spec's
 * project and service, and the current content of its files (an edited file is a new input).
 */
export async function configInputsHash(obj: DockerComposeService, cwd: string = process.cwd()): Promise<string> {
  const spec = obj.spec!;
  const h = createHash('sha256');
  h.update(JSON.stringify({ service: spec.service, project: spec.project }));
  if (!spec.project.yaml) {
    const files = (spec.project.configPaths ?? []).map((f) => path.resolve(cwd, f));
    if (spec.project.envFile) files.push(path.resolve(cwd, spec.project.envFile));
    for (const full of files) {
      const content = await readFile(full).catch(() => Buffer.from('\0missing'));
      h.update('\0').update(full).update('\0').update(content);
    }
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * plainServiceConfig reads a service's image straight from the project files, later files
 * overriding earlier ones, when that is certain: every file parses, the service is defined, and
 * nothing needs Compose to resolve (no `${...}` interpolation, no `extends`, no `env_file`). Undefined otherwise:
 * ask Compose.
 */
export async function plainServiceConfig(configPaths: string[], service: string): Promise<ComposeServiceConfig | undefined> {
  let found = false;
  const out: ComposeServiceConfig = { hasBuild: false };
  for (const file of configPaths) {
    let doc: unknown;
    try {
      const text = await readFile(file, 'utf8');
      if (text.includes('$')) return undefined;
      doc = parse(text);
    } catch {
      return undefined;
    }
    if (!doc || typeof doc !== 'object') return undefined;
    const services = (doc as { services?: unknown }).services;
    if (services === undefined) continue;
    if (!services || typeof services !== 'object') return undefined;
    const svc = (services as Record<string, unknown>)[service];
    if (svc === undefined) continue;
    if (svc !== null && typeof svc !== 'object') return undefined;
    const s = (svc ?? {}) as Record<string, unknown>;
    if (s.extends !== undefined || s.env_file !== undefined) return undefined;
    found = true;
    if (typeof s.image === 'string' && s.image !== '') out.image = s.image;
    if (s.build !== undefined && s.build !== null) out.hasBuild = true;
    if (typeof s.container_name === 'string') out.containerName = s.container_name;
    if (s.environment !== undefined && s.environment !== null) {
      const env = environmentMap(s.environment);
      if (!env) return undefined;
      out.environment = { ...out.environment, ...env };
    }
  }
  return found ? out : undefined;
}
