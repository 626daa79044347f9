/**
 * The deciding logic of the CmdImage reconciler, without I/O: which ImageMap a CmdImage fills,
 * whether it must build and why, and what keeps it waiting.
 */
import type { CmdImage } from '../../src/apis/cmdimage.ts';
import type { Cluster } from '../../src/apis/cluster.ts';
import type { FileWatch } from '../../src/apis/filewatch.ts';
import type { ImageMap } from '../../src/apis/imagemap.ts';
import type { LiveUpdate } from '../../src/apis/liveupdate.ts';
import { annotations, apiVersion, microTimeValue } from '../../src/apis/meta.ts';
import { tryParseRef } from '../../src/adapters/images/index.ts';
import { liveUpdateMessages, type CmdImageWaitReason } from '../../src/tilt/index.ts';

/** buildReasons say why a build ran (building.reason, completed.reason). */
export const buildReasons = [
  'Created',
  'Interrupted',
  'SpecChanged',
  'DependencyChanged',
  'Triggered',
  'FileChanged',
  'LiveUpdateStopped',
  'LiveUpdateFailed',
] as const;
export type BuildReason = (typeof buildReasons)[number];

/**
 * timeoutReason is completed.reason of a build that ran past the build timeout (`ferry serve
 * --build-timeout`) and was killed; completed.error says so.
 */
export const timeoutReason = 'Timeout';

/** waitReasons say why a wanted build cannot start yet (waiting.reason). */
export { cmdImageWaitReasons as waitReasons } from '../../src/tilt/index.ts';
export type WaitReason = CmdImageWaitReason;

/** defaultClusterName is the Cluster a CmdImage without spec.cluster builds for. */
export const defaultClusterName = 'default';

/** imageMapTargetPrefix starts a FileWatch's `tilt.dev/target-id` for an image target. */
export const imageMapTargetPrefix = 'image:';

/** targetImageMapName is the ImageMap a CmdImage fills: its `tilt.dev/image-map` annotation, else its own name. */
export function targetImageMapName(ci: CmdImage): string {
  return ci.metadata.annotations?.[annotations.imageMap] || ci.metadata.name || '';
}

/** clusterName is the Cluster a CmdImage builds for. */
export function clusterName(ci: CmdImage): string {
  return ci.spec?.cluster || defaultClusterName;
}

/**
 * newImageMap is the ImageMap a CmdImage creates when the one it fills is missing: the selector
 * is spec.ref (matched exactly when it carries a tag), owned by the CmdImage.
 */
export function newImageMap(ci: CmdImage, name: string): ImageMap {
  const ref = tryParseRef(ci.spec?.ref);
  return {
    apiVersion,
    kind: 'ImageMap',
    metadata: {
      name,
      ...(ci.metadata.annotations?.[annotations.resource]
        ? { annotations: { [annotations.resource]: ci.metadata.annotations[annotations.resource]! } }
        : {}),
      ownerReferences: [
        { apiVersion, kind: 'CmdImage', name: ci.metadata.name ?? '', uid: ci.metadata.uid ?? '', controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: { selector: ci.spec?.ref ?? '', ...(ref?.tag ? { matchExact: true } : {}) },
  };
}

/** fileWatchImageMap is the ImageMap a FileWatch reports changes for (`image:<name>`), or undefined. */
export function fileWatchImageMap(fw: FileWatch): string | undefined {
  const id = fw.metadata.annotations?.[annotations.targetId];
  return id?.startsWith(imageMapTargetPrefix) ? id.slice(imageMapTargetPrefix.length) : undefined;
}

/** liveUpdateImageMaps lists the ImageMaps a LiveUpdate uses (selector imageMapName, sources[].imageMap). */
export function liveUpdateImageMaps(lu: LiveUpdate): string[] {
  const names = new Set<string>();
  const sel = lu.spec?.selector?.kubernetes?.imageMapName;
  if (sel) names.add(sel);
  for (const s of lu.spec?.sources ?? []) if (s.imageMap) names.add(s.imageMap);
  return [...names];
}

/**
 * builtGenerationAnnotation records, on the CmdImage, the metadata.generation its last
 * successful build was made from, so a spec changed while the daemon was down is rebuilt.
 */
export const builtGenerationAnnotation = 'ferry.dev/built-generation';

/** builtGeneration reads builtGenerationAnnotation; undefined when absent or not a number. */
export function builtGeneration(ci: CmdImage): number | undefined {
  const v = ci.metadata.annotations?.[builtGenerationAnnotation];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** BuildMemory is what the reconciler remembers of the last build it started. */
export interface BuildMemory {
  /** generation is the CmdImage's metadata.generation when the build started. */
  generation: number;
  /** depImages maps each of spec.imageMaps to its status.image when the build started. */
  depImages: Record<string, string>;
  /** startedAt is the build's start (MicroTime). */
  startedAt: string;
  /**
   * failed is true once the build has ended in an error: no container runs its image, so no
   * LiveUpdate can apply a later change, and a file change builds again.
   */
  failed?: boolean;
}

/** BuildInputs are the objects the decision reads. */
export interface BuildInputs {
  cmdImage: CmdImage;
  /** target is the ImageMap the CmdImage fills. */
  target?: ImageMap;
  /** dependencies are spec.imageMaps, in order, undefined where missing. */
  dependencies: (ImageMap | undefined)[];
  /** fileWatches are the FileWatches annotated `image:<target>`. */
  fileWatches: FileWatch[];
  /** liveUpdates are the LiveUpdates that use the target ImageMap. */
  liveUpdates: LiveUpdate[];
  /** triggered is true when the trigger queue named the CmdImage's resource since the last build. */
  triggered: boolean;
}

/**
 * initialMemory is what a reconciler that has not seen the CmdImage before (a fresh daemon)
 * takes as the last build: the stored, successful result when there is one and the ImageMap
 * holds its image; else nothing (a build is due).
 */
export function initialMemory(inputs: BuildInputs): BuildMemory | undefined {
  const { cmdImage: ci, target } = inputs;
  const done = ci.status?.completed;
  if (!done || done.error || !done.startedAt || ci.status?.building || ci.status?.waiting) return undefined;
  if (!target?.status?.image) return undefined;
  return {
    generation: builtGeneration(ci) ?? ci.metadata.generation ?? 0,
    depImages: currentDepImages(inputs),
    startedAt: done.startedAt,
  };
}

/** currentDepImages maps each dependency name to its current image ('' when it has none). */
export function currentDepImages(inputs: BuildInputs): Record<string, string> {
  const out: Record<string, string> = {};
  (inputs.cmdImage.spec?.imageMaps ?? []).forEach((name, i) => {
    out[name] = inputs.dependencies[i]?.status?.image ?? '';
  });
  return out;
}

/**
 * buildReasonsFor lists why the CmdImage must build now, most important first; empty when it
 * need not:
 * - Created / Interrupted: no memory of a build (never built, or cut off by a restart);
 * - SpecChanged: the generation moved since the last build started;
 * - DependencyChanged: an ImageMap of spec.imageMaps has a new image;
 * - Triggered: the trigger queue named its resource;
 * - FileChanged: a FileWatch for its image saw changes after the last build started, and no
 *   LiveUpdate uses its ImageMap, or that build failed (a fix of a broken build builds again);
 * - LiveUpdateStopped: the same changes, and a LiveUpdate using its ImageMap stopped for them
 *   since the image it runs was built (UpdateStopped: a stop path, a file outside its syncs), so
 *   the image is built again, as Tilt falls back to a full build;
 * - LiveUpdateFailed: the same, and a LiveUpdate failed otherwise (an exec, a copy); not when it
 *   only waits for a missing dependency (ObjectNotFound) or for its Docker Compose service to be up.
 */
export function buildReasonsFor(inputs: BuildInputs, memory: BuildMemory | undefined): BuildReason[] {
  const ci = inputs.cmdImage;
  if (!memory) return [ci.status?.building ? 'Interrupted' : 'Created'];
  const reasons: BuildReason[] = [];
  if ((ci.metadata.generation ?? 0) !== memory.generation) reasons.push('SpecChanged');
  const deps = currentDepImages(inputs);
  if (Object.entries(deps).some(([name, image]) => image !== '' && image !== (memory.depImages[name] ?? ''))) {
    reasons.push('DependencyChanged');
  }
  if (inputs.triggered) reasons.push('Triggered');

  const started = microTimeValue(memory.startedAt);
  const changed = inputs.fileWatches.some((fw) => microTimeValue(fw.status?.lastEventTime) > started);
  if (changed) {
    if (inputs.liveUpdates.length === 0 || memory.failed) {
      reasons.push('FileChanged');
    } else {
      const imageBuilt = microTimeValue(inputs.target?.status?.buildStartTime);
      const builtAt = Number.isNaN(imageBuilt) ? -Infinity : imageBuilt;
      const failed = inputs.liveUpdates.filter((lu) => {
        const f = lu.status?.failed;
        // A missing dependency, or a service not up yet, is a wait that no rebuild ends.
        if (!f || f.reason === 'ObjectNotFound' || f.message === liveUpdateMessages.noDockerComposeStatus) return false;
        const at = microTimeValue(f.lastTransitionTime);
        return Number.isNaN(at) || at > builtAt;
      });
      if (failed.length) reasons.push(failed.every((lu) => lu.status?.failed?.reason === 'UpdateStopped') ? 'LiveUpdateStopped' : 'LiveUpdateFailed');
    }
  }
  return reasons;
}

/** WaitVerdict is why a build cannot start, with a message for the log. */
export interface WaitVerdict {
  reason: WaitReason;
  message: string;
}

/**
 * waitFor says what keeps a wanted build from starting: a disabled target ImageMap, a missing
 * Cluster named by spec.cluster (a missing `default` Cluster means building for local Docker with
 * no registry), a Cluster in error, or a dependency ImageMap that is missing or has no image yet.
 */
export function waitFor(inputs: BuildInputs & { cluster?: Cluster; targetDisabled?: string }): WaitVerdict | undefined {
  const ci = inputs.cmdImage;
  if (inputs.targetDisabled) {
    return { reason: 'ImageMapDisabled', message: `ImageMap ${targetImageMapName(ci)} is disabled: ${inputs.targetDisabled}` };
  }
  if (!inputs.cluster) {
    // Without spec.cluster, a missing default Cluster means no registry: build for local Docker.
    if (ci.spec?.cluster) return { reason: 'WaitingForCluster', message: `Cluster ${clusterName(ci)} does not exist` };
  } else if (inputs.cluster.status?.error) {
    return { reason: 'ClusterNotReady', message: `cluster not ready: ${inputs.cluster.status.error}` };
  }
  const names = ci.spec?.imageMaps ?? [];
  for (let i = 0; i < names.length; i++) {
    const dep = inputs.dependencies[i];
    if (!dep) return { reason: 'WaitingForImageMap', message: `ImageMap ${names[i]} does not exist` };
    if (!dep.status?.image || !dep.status.imageFromLocal) {
      return { reason: 'WaitingForImageMap', message: `ImageMap ${names[i]} has no image yet` };
    }
  }
  return undefined;
}
