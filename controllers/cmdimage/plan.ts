/**
 * Planning a CmdImage build, without I/O: the registry from the Cluster, the image names, the
 * expected reference, the environment of the command and whether to push.
 */
import * as path from 'node:path';
import type { CmdImageSpec } from '../../src/apis/cmdimage.ts';
import type { Cluster } from '../../src/apis/cluster.ts';
import { ImageRef, RefSet, parseRef, type Registry } from '../../src/adapters/images/index.ts';
import { mergeEnv } from '../../src/adapters/process/index.ts';

/** buildTagPrefix starts the tag a build is asked to produce when no outputTag is given. */
export const buildTagPrefix = 'tilt-build-';

/** outputModes are the values of spec.outputMode that change behaviour ('' is local-docker). */
export const outputModes = {
  localDocker: 'local-docker',
  localDockerAndRemote: 'local-docker-and-remote',
  remote: 'remote',
} as const;

/** RegistryVerdict is the registry a Cluster offers, or why the Cluster cannot be built for. */
export type RegistryVerdict = { registry?: Registry; error?: undefined } | { registry?: undefined; error: string };

/**
 * registryFromCluster picks the registry to build for: `cluster not ready: ...` when the Cluster
 * reports an error, else its status.registry, else its spec.defaultRegistry, else none.
 */
export function registryFromCluster(cluster: Cluster | undefined): RegistryVerdict {
  if (!cluster) return {};
  if (cluster.status?.error) return { error: `cluster not ready: ${cluster.status.error}` };
  const reg = cluster.status?.registry?.host ? cluster.status.registry : cluster.spec?.defaultRegistry;
  if (!reg?.host) return {};
  return {
    registry: {
      host: reg.host,
      ...(reg.hostFromContainerRuntime ? { hostFromContainerRuntime: reg.hostFromContainerRuntime } : {}),
      ...(reg.singleName ? { singleName: reg.singleName } : {}),
    },
  };
}

/** isComposeCluster is true for a Cluster that is a Docker Engine for Docker Compose. */
export function isComposeCluster(cluster: Cluster | undefined): boolean {
  return !!cluster?.spec?.connection?.docker;
}

/** Dependency is one of spec.imageMaps, as the build sees it. */
export interface Dependency {
  name: string;
  /** imageFromLocal is the ImageMap's status.imageFromLocal. */
  imageFromLocal: string;
}

/** PlanInput is everything a build plan is made from. */
export interface PlanInput {
  spec: CmdImageSpec;
  cluster?: Cluster;
  /** registry is registryFromCluster(cluster).registry. */
  registry?: Registry;
  dependencies: Dependency[];
  /** now is the build's start. */
  now: Date;
  /** baseEnv is the daemon's environment. */
  baseEnv: NodeJS.ProcessEnv | Record<string, string>;
  /** cwd is the daemon's working directory, used when spec.dir is empty. */
  cwd: string;
}

/** BuildPlan says how to run one build and what to do with its image. */
export interface BuildPlan {
  argv: string[];
  dir: string;
  env: Record<string, string>;
  /** injectedEnv lists the variables ferry set, `K=V`, for the build log. */
  injectedEnv: string[];
  /** refs are the image names to produce (the registry removed where the mode says so). */
  refs: RefSet;
  /** expected is the reference the command must create; absent with outputsImageRefTo. */
  expected?: { local: ImageRef; cluster: ImageRef };
  /** outputsImageRefTo is the absolute path of the file the command writes its ref to. */
  outputsImageRefTo?: string;
  /** remote is true when the image is not in the local Docker (outputMode remote). */
  remote: boolean;
  /** compose is true when building for Docker Compose: no registry, no push, and the configured name is tagged too. */
  compose: boolean;
  /** push is true when the image must be pushed; otherwise skipPushMessage may say why not. */
  push: boolean;
  skipPushMessage?: string;
}

/**
 * planBuild computes a build plan (throws RefError when spec.ref is not a reference):
 * - the expected reference: none with outputsImageRefTo; `<name without registry>:<outputTag>`
 *   with outputTag; else `<name with registry>:tilt-build-<unix seconds>`;
 * - the environment: the daemon's, then spec.env, then EXPECTED_REF / EXPECTED_IMAGE /
 *   EXPECTED_TAG, REGISTRY_HOST / EXPECTED_REGISTRY, TILT_IMAGE_MAP_i / TILT_IMAGE_i;
 * - the push: when clusterNeeds is `push` or empty, the cluster has a registry, the command
 *   does not push itself (outputMode local-docker-and-remote or remote) and it is not Compose.
 */
export function planBuild(input: PlanInput): BuildPlan {
  const { spec } = input;
  const configRef = parseRef(spec.ref);
  const compose = isComposeCluster(input.cluster);
  const originalRefs = new RefSet(configRef, input.registry);
  const mode = spec.outputMode || outputModes.localDocker;
  const remote = mode === outputModes.remote;
  const refs = compose || (remote && spec.outputTag) ? originalRefs.withoutRegistry() : originalRefs;
  const dir = spec.dir ? path.resolve(input.cwd, spec.dir) : input.cwd;

  let expected: BuildPlan['expected'];
  let outputsImageRefTo: string | undefined;
  if (spec.outputsImageRefTo) {
    outputsImageRefTo = path.resolve(dir, spec.outputsImageRefTo);
  } else if (spec.outputTag) {
    expected = refs.withoutRegistry().tagged(spec.outputTag);
  } else {
    expected = refs.tagged(`${buildTagPrefix}${Math.floor(input.now.getTime() / 1000)}`);
  }

  const injected: string[] = [];
  if (expected) {
    injected.push(`EXPECTED_REF=${expected.local.familiarString()}`);
    injected.push(`EXPECTED_IMAGE=${expected.local.path}`);
    injected.push(`EXPECTED_TAG=${expected.local.tag ?? ''}`);
  }
  if (originalRefs.hasRegistry) {
    injected.push(`REGISTRY_HOST=${originalRefs.registry!.host}`);
    injected.push(`EXPECTED_REGISTRY=${originalRefs.registry!.host}`);
  }
  input.dependencies.forEach((d, i) => {
    injected.push(`TILT_IMAGE_MAP_${i}=${d.name}`);
    injected.push(`TILT_IMAGE_${i}=${d.imageFromLocal}`);
  });

  let push = false;
  let skipPushMessage: string | undefined;
  if (!compose) {
    if (mode === outputModes.localDockerAndRemote || remote) {
      skipPushMessage = 'Skipping push: custom_build() configured to handle push itself';
    } else if (spec.clusterNeeds && spec.clusterNeeds !== 'push') {
      skipPushMessage = 'Skipping push: base image does not need deploy';
    } else if (!refs.hasRegistry) {
      skipPushMessage = 'Skipping push: the cluster has no registry';
    } else {
      push = true;
    }
  }

  return {
    argv: [...(spec.args ?? [])],
    dir,
    env: mergeEnv(input.baseEnv, spec.env, injected),
    injectedEnv: injected,
    refs,
    expected,
    outputsImageRefTo,
    remote,
    compose,
    push,
    skipPushMessage,
  };
}

/**
 * composeRef is the reference a Docker Compose project runs: the configured name with its
 * own tag, or `latest`.
 */
export function composeRef(refs: RefSet): ImageRef {
  const c = refs.configurationRef;
  return c.nameOnly().withTag(c.tag || 'latest');
}
