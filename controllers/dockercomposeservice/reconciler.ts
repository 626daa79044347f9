import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'winston';
import type { DockerComposeService, DockerComposeServiceStatus } from '../../src/apis/dockercomposeservice.ts';
import type { ImageMap } from '../../src/apis/imagemap.ts';
import { apiVersion, resourceName, toMicroTime } from '../../src/apis/meta.ts';
import type { Client } from '../../src/client/client.ts';
import { setFinalizer, updateStatusIfChanged, type Cache, type Clock, type ReconcileContext, type Reconciler, type Request, type Result } from '../../src/runtime/index.ts';
import { disableStatusFor } from '../../src/tilt/index.ts';
import {
  ComposeError,
  impliedImageName,
  serviceConfig,
  type ComposeProjectArgs,
  type ComposeRunner,
  type ComposeServiceConfig,
} from '../../src/adapters/compose/index.ts';
import type { DockerClient } from '../../src/adapters/docker/index.ts';
import type { ActivityRegistry } from '../../src/runtime/activity.ts';
import { configInputsHash, plainServiceConfig, ProjectFiles, projectName } from './project.ts';
import { applyInputsHash, containerFields, pickContainer, planImage, waitLogLevel, type ServiceToInject } from './status.ts';

export const kind = 'DockerComposeService';

/**
 * teardownFinalizer is put on a DockerComposeService when ferry first brings its service up, and
 * taken off once the service is torn down after the object's deletion: a service deleted while
 * ferry is down, or while a stop cuts its teardown short, is torn down at the next start.
 */
export const teardownFinalizer = 'ferry.dev/compose-teardown';


/** composeLabels are the labels Compose puts on a service's containers. */
export const composeLabels = { project: 'com.docker.compose.project', service: 'com.docker.compose.service' } as const;

/** DockerComposeServiceReconcilerDeps are what the reconciler needs. */
export interface DockerComposeServiceReconcilerDeps {
  client: Client;
  /** cache must hold DockerComposeService, ImageMap and ConfigMap (setup() arranges it). */
  cache: Cache;
  compose: ComposeRunner;
  docker: DockerClient;
  clock: Clock;
  log: Logger;
  /**
   * workDir holds the files written for projects given as YAML, and image overrides; stop()
   * removes it. Default `<tmpdir>/ferry-compose-<pid>` (the daemon passes `<data dir>/compose`).
   */
  workDir?: string;
  /** cwd is what relative paths in specs resolve against. Default process.cwd(). */
  cwd?: string;
  /** projectSuffix follows every Compose project name: `ferry ci` keeps its projects apart from a dev daemon's. Default none. */
  projectSuffix?: string;
  /** onOutput receives each line of Compose output, under the object's resource name (for `ferry logs`). */
  onOutput?: (resource: string, line: string) => void;
  /** activity is told of each `up` while it runs (its wait for the project's lock included). */
  activity?: ActivityRegistry;
}

/** What the reconciler remembers of one object between reconciles. */
interface ServiceState {
  files: ProjectFiles;
  /** project is what the last up or rm ran with, so a deleted object can still be torn down. */
  project?: ComposeProjectArgs;
  service?: string;
  /** configHash and config: the last `compose config` result, reused while the inputs are the same. */
  configHash?: string;
  config?: { ok: true; service: ComposeServiceConfig | undefined } | { ok: false; error: string };
  /** appliedHash identifies the inputs of the last up, successful or not. */
  appliedHash?: string;
  /** apply holds the apply fields this process wrote last (the cache may not show them yet). */
  apply?: Pick<DockerComposeServiceStatus, 'lastApplyStartTime' | 'lastApplyFinishTime' | 'applyError'>;
}

/**
 * DockerComposeServiceReconciler brings one Compose service up with the images its ImageMaps
 * name (injected as for Kubernetes: image, environment values with matchInEnvVars, command
 * overrides as entrypoint and command), and reports its container. It runs `up -d --no-deps <service>` when the inputs (project,
 * service, injected images) change, waits while a named ImageMap has no image, and removes the
 * container (`rm -s -f`) when the object is disabled or deleted, and the project's network
 * (`down`) once no container of the project is left. Deletion waits on teardownFinalizer until
 * the teardown is done. The container's state is read on every reconcile, and Docker's event
 * stream (DockerEventSource) wakes it.
 */
export class DockerComposeServiceReconciler implements Reconciler {
  private readonly deps: DockerComposeServiceReconcilerDeps;
  private readonly workDir: string;
  private readonly states = new Map<string, ServiceState>();
  /** projectLocks serialise Compose commands per project: concurrent `up`s race to create its network. */
  private readonly projectLocks = new Map<string, Promise<void>>();

  constructor(deps: DockerComposeServiceReconcilerDeps) {
    this.deps = deps;
    this.workDir = deps.workDir ?? path.join(os.tmpdir(), `ferry-compose-${process.pid}`);
  }

  async reconcile(req: Request, ctx: ReconcileContext): Promise<Result | void> {
    try {
      return await this.reconcileOne(req, ctx);
    } catch (err) {
      // The daemon stops: the Compose command was cut short on purpose, and what it left undone
      // (a teardown behind its finalizer, an up) is done again at the next start.
      if (ctx.signal.aborted) {
        ctx.log.info('Compose command cut short by the stop', { error: String(err) });
        return;
      }
      throw err;
    }
  }

  private async reconcileOne(req: Request, ctx: ReconcileContext): Promise<Result | void> {
    const { cache, clock } = this.deps;
    const cached = cache.get<DockerComposeService>(kind, req.name);
    const state = this.state(req.name);
    if (!cached || cached.metadata.deletionTimestamp) {
      if (cached?.metadata.finalizers?.includes(teardownFinalizer)) {
        // The object stays until its service is gone; after a restart, what to remove is read
        // from the object itself.
        const obj: DockerComposeService = { ...cached, apiVersion, kind };
        state.project ??= await state.files.args(obj);
        state.service ??= obj.spec!.service;
        await this.teardown(state, ctx, true);
        await this.removeFinalizer(obj);
        ctx.log.info('Service torn down', { project: state.project.name, service: state.service });
      } else {
        await this.teardown(state, ctx);
      }
      await state.files.remove();
      this.states.delete(req.name);
      return;
    }
    const obj: DockerComposeService = { ...cached, apiVersion, kind };
    const spec = obj.spec!;
    const prev: DockerComposeServiceStatus = obj.status ?? {};

    const disable = disableStatusFor(cache, obj, clock.now());
    if (disable.disabled) {
      state.project ??= await state.files.args(obj);
      state.service ??= spec.service;
      await this.teardown(state, ctx);
      state.appliedHash = undefined;
      await updateStatusIfChanged(this.deps.client, obj, { disableStatus: disable });
      return;
    }

    let status: DockerComposeServiceStatus = { ...prev, disableStatus: disable };
    if (state.apply) {
      const { lastApplyStartTime: _a, lastApplyFinishTime: _b, applyError: _c, ...rest } = status;
      status = { ...rest, ...state.apply };
    }
    const applied = await this.maybeApply(obj, state, status, ctx);
    if (applied) status = applied;

    const container = await this.findContainer(projectName(obj, this.deps.cwd, this.deps.projectSuffix), spec.service);
    // A service brought up before ferry used the finalizer gets it too.
    if (container) await this.addFinalizer(obj);
    const { containerID: _id, containerName: _n, containerState: _s, portBindings: _p, ...rest } = status;
    status = { ...rest, ...containerFields(container) };
    await updateStatusIfChanged(this.deps.client, obj, status);
  }

  /**
   * maybeApply runs `up` when the inputs changed since the last one, and returns the status with
   * the apply fields set; undefined when nothing was run.
   */
  private async maybeApply(obj: DockerComposeService, state: ServiceState, status: DockerComposeServiceStatus, ctx: ReconcileContext): Promise<DockerComposeServiceStatus | undefined> {
    const { cache, compose, clock } = this.deps;
    const spec = obj.spec!;

    const configHash = await configInputsHash(obj, this.deps.cwd);
    const names = spec.imageMaps ?? [];
    const imageMaps = new Map(names.map((n) => [n, cache.get<ImageMap>('ImageMap', n)] as const));
    // The service (image, environment) is needed only to inject ImageMaps; without ImageMaps,
    // `up` itself reports a broken project.
    let service: ServiceToInject | undefined;
    let configError: string | undefined;
    if (names.length > 0) {
      const config = await this.serviceConfig(obj, state, configHash, ctx);
      if (!config.ok) configError = config.error;
      else if (!config.service) configError = `no such service: ${spec.service}`;
      else {
        const image = config.service.image ?? (config.service.hasBuild ? impliedImageName(await compose.form(), projectName(obj, this.deps.cwd, this.deps.projectSuffix), spec.service) : undefined);
        service = { name: spec.service, image, environment: config.service.environment };
      }
    }
    const plan = planImage(service, names, imageMaps);
    if (plan.kind === 'waiting') {
      const level = waitLogLevel(state.appliedHash, status.applyError);
      if (level) ctx.log.log(level, 'Waiting for images', { imageMaps: plan.imageMaps });
      state.appliedHash = 'waiting';
      const { applyError: _e, ...rest } = status;
      state.apply = { lastApplyStartTime: status.lastApplyStartTime, lastApplyFinishTime: status.lastApplyFinishTime };
      return rest;
    }

    const override = plan.kind === 'ready' ? plan.override : {};
    if (plan.kind === 'error') configError ??= plan.error;
    const applyHash = `${configHash}/${applyInputsHash(spec, override)}`;
    if (state.appliedHash === applyHash) return undefined;

    const start = toMicroTime(clock.now());
    state.apply = { ...state.apply, lastApplyStartTime: start };
    const starting: DockerComposeServiceStatus = { ...status, lastApplyStartTime: start };
    await updateStatusIfChanged(this.deps.client, obj, starting);

    let applyError: string | undefined = configError;
    if (!applyError) {
      const project = await state.files.args(obj, override);
      state.project = project;
      state.service = spec.service;
      await this.addFinalizer(obj);
      const resource = resourceName(obj);
      ctx.log.info('Bringing service up', { resource, project: project.name, service: spec.service, image: override.image });
      const activity = this.deps.activity?.start({ resource, object: `${kind}/${obj.metadata.name}`, action: 'starting', phase: 'compose up' });
      let up = false;
      try {
        await this.withProjectLock(project.name, () => compose.up(project, spec.service, {
          noBuild: override.image !== undefined,
          signal: ctx.signal,
          onOutput: (line) => {
            ctx.log.info('Compose output', { resource, line });
            this.deps.onOutput?.(resource, line);
          },
        }));
        up = true;
      } catch (err) {
        if (!(err instanceof ComposeError)) throw err;
        if (ctx.signal.aborted) throw err;
        applyError = err.message;
      } finally {
        activity?.end(ctx.signal.aborted ? 'cancelled' : up ? 'ok' : 'failed');
      }
    }
    if (applyError) ctx.log.warn('Service could not be brought up', { resource: resourceName(obj), error: applyError });
    state.appliedHash = applyHash;
    const out: DockerComposeServiceStatus = { ...status, lastApplyStartTime: start, lastApplyFinishTime: toMicroTime(clock.now()) };
    if (applyError) out.applyError = applyError;
    else delete out.applyError;
    state.apply = { lastApplyStartTime: out.lastApplyStartTime, lastApplyFinishTime: out.lastApplyFinishTime, applyError: out.applyError };
    return out;
  }

  /**
   * serviceConfig reads the service's image from the project: from the files themselves when
   * they say it plainly, else from `compose config` (interpolation, extends, ...). Cached while
   * the inputs are the same.
   */
  private async serviceConfig(obj: DockerComposeService, state: ServiceState, configHash: string, ctx: ReconcileContext): Promise<NonNullable<ServiceState['config']>> {
    if (state.configHash === configHash && state.config) return state.config;
    const base = await state.files.args(obj);
    let config: NonNullable<ServiceState['config']>;
    const plain = await plainServiceConfig(base.configPaths, obj.spec!.service);
    if (plain) config = { ok: true, service: plain };
    else {
      try {
        const yaml = await this.deps.compose.config(base, { signal: ctx.signal });
        config = { ok: true, service: serviceConfig(yaml, obj.spec!.service) };
      } catch (err) {
        if (!(err instanceof ComposeError)) throw err;
        config = { ok: false, error: err.message };
      }
    }
    state.configHash = configHash;
    state.config = config;
    return config;
  }

  private async findContainer(project: string, service: string) {
    const list = await this.deps.docker.listContainers({ labels: { [composeLabels.project]: project, [composeLabels.service]: service } });
    const pick = pickContainer(list);
    return pick ? this.deps.docker.inspectContainer(pick.id) : undefined;
  }

  /**
   * teardown removes the service's containers, when there are any, then the project's networks
   * when no container of the project is left. `finalizing` (the object is being deleted) looks
   * for leftover networks even when no container was removed: an earlier teardown may have been
   * cut short between the two. Networks Compose cannot remove (it cannot read the project) are
   * removed through the Engine.
   */
  private async teardown(state: ServiceState, ctx: ReconcileContext, finalizing = false): Promise<void> {
    const { project, service } = state;
    if (!project || !service) return;
    const list = await this.deps.docker.listContainers({ labels: { [composeLabels.project]: project.name, [composeLabels.service]: service } });
    if (list.length === 0 && !finalizing) return;
    const onOutput = (line: string) => ctx.log.info('Compose output', { line });
    await this.withProjectLock(project.name, async () => {
      if (list.length > 0) {
        ctx.log.info('Removing service', { project: project.name, service });
        try {
          await this.deps.compose.rm(project, service, { signal: ctx.signal, onOutput });
        } catch (err) {
          if (!(err instanceof ComposeError) || ctx.signal.aborted) throw err;
          // Compose cannot read the project any more (a broken file): remove the containers directly.
          ctx.log.warn('Compose could not remove the service; removing its containers', { project: project.name, service, error: err.message });
          for (const c of list) await this.deps.docker.removeContainer(c.id);
        }
      }
      const left = await this.deps.docker.listContainers({ labels: { [composeLabels.project]: project.name } });
      if (left.length > 0) return;
      // Nothing left for `down` when an earlier teardown, cut short by a stop, removed the networks.
      const networks = await this.deps.docker.listNetworks({ labels: { [composeLabels.project]: project.name } });
      if (networks.length === 0) return;
      try {
        await this.deps.compose.down(project, { signal: ctx.signal, onOutput });
      } catch (err) {
        if (!(err instanceof ComposeError) || ctx.signal.aborted) throw err;
        // Compose cannot read the project (a daemon started in another folder finishing a
        // deletion, a moved or broken file): remove the networks directly.
        ctx.log.info('Compose could not remove the project network; removing it directly', { project: project.name, error: err.message });
        try {
          for (const n of networks) await this.deps.docker.removeNetwork(n.id);
        } catch (removeErr) {
          ctx.log.warn('Could not remove the project network', { project: project.name, error: (removeErr as Error).message });
        }
      }
    });
  }

  /** addFinalizer puts teardownFinalizer on the object unless it has it (obj gets the new metadata). */
  private async addFinalizer(obj: DockerComposeService): Promise<void> {
    const updated = await setFinalizer<DockerComposeService>(this.deps.client, obj, teardownFinalizer, true);
    if (updated) obj.metadata = updated.metadata;
  }

  /** removeFinalizer takes teardownFinalizer off a deleted object, which lets the deletion finish. */
  private async removeFinalizer(obj: DockerComposeService): Promise<void> {
    await setFinalizer<DockerComposeService>(this.deps.client, obj, teardownFinalizer, false);
  }

  private async withProjectLock<T>(project: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.projectLocks.get(project) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = prev.then(() => mine);
    this.projectLocks.set(project, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.projectLocks.get(project) === tail) this.projectLocks.delete(project);
    }
  }

  /**
   * stop removes the files written for projects: they are written again when needed, so a
   * stopped daemon leaves no folder behind.
   */
  async stop(): Promise<void> {
    await rm(this.workDir, { recursive: true, force: true });
  }

  private state(name: string): ServiceState {
    let s = this.states.get(name);
    if (!s) {
      s = { files: new ProjectFiles(path.join(this.workDir, name.replace(/[^A-Za-z0-9_.-]/g, '_')), this.deps.cwd, this.deps.projectSuffix) };
      this.states.set(name, s);
    }
    return s;
  }
}
