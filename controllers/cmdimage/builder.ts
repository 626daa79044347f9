/**
 * runBuild carries out a BuildPlan: runs the command, finds the image it made, gives it its
 * content tag, pushes it. Failures are BuildErrors whose message is what the user sees.
 */
import { readFile, rm } from 'node:fs/promises';
import {
  ImageNotFoundError,
  clusterRefFor,
  contentTag,
  parseNamedTagged,
  type ImageClient,
  type ImageRef,
  type Registry,
} from '../../src/adapters/images/index.ts';
import { displayArgs, exitStatusString, type OutputStream, type ProcessRunner } from '../../src/adapters/process/index.ts';
import { composeRef, type BuildPlan } from './plan.ts';

/** BuildError is a failed build; its message goes to completed.error. */
export class BuildError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BuildError';
  }
}

/** BuildOutcome is a successful build: the image as seen locally and from the cluster. */
export interface BuildOutcome {
  localRef: ImageRef;
  clusterRef: ImageRef;
  /** imageMap is what the ImageMap's status gets (without buildStartTime). */
  imageMap: { image: string; imageFromLocal: string; imageFromCluster: string };
  /** madeTags are the local references this build created (the expected one, a content tag that was new). */
  madeTags: string[];
}

/** BuildDeps are the edges a build touches. */
export interface BuildDeps {
  runner: ProcessRunner;
  images: ImageClient;
  /** onPhase is told when the build moves on to tagging or pushing (it starts with its command). */
  onPhase?: (phase: BuildPhase) => void;
}

/** buildPhases are the steps of a build, in order, as progress shows them. */
export const buildPhases = ['build command', 'tagging', 'pushing'] as const;
export type BuildPhase = (typeof buildPhases)[number];

/** outputTailLines is how many of the last output lines a failed command's error carries. */
export const outputTailLines = 20;
const outputTailChars = 4_000;

const imageNotFoundMessage =
  'Could not find image in Docker\n' +
  'Did your custom_build script properly tag the image?\n' +
  "If your custom_build doesn't use Docker, you might need to use skips_local_docker=True, see https://docs.tilt.dev/custom_build.html\n";

/**
 * runBuild runs the plan. Every line of output goes to onLine: the command's with its stream,
 * ferry's own notes with 'ferry'. Aborting `signal` kills the command.
 */
export async function runBuild(
  plan: BuildPlan,
  registry: Registry | undefined,
  deps: BuildDeps,
  onLine: (line: string, stream: OutputStream | 'ferry') => void,
  signal?: AbortSignal,
): Promise<BuildOutcome> {
  const note = (line: string) => onLine(line, 'ferry');
  if (plan.outputsImageRefTo) await rm(plan.outputsImageRefTo, { force: true }).catch(() => {});

  if (plan.injectedEnv.length) {
    note('Custom Build: Injecting Environment Variables');
    for (const kv of plan.injectedEnv) note(`  ${kv}`);
  }
  note(`Running cmd: ${displayArgs(plan.argv)}`);

  const tail: string[] = [];
  const proc = plan.argv.length
    ? deps.runner.start({
        argv: plan.argv,
        dir: plan.dir,
        env: plan.env,
        signal,
        onLine: (line, stream) => {
          tail.push(line);
          if (tail.length > outputTailLines) tail.shift();
          onLine(line, stream);
        },
      })
    : undefined;
  if (!proc) throw new BuildError('Custom build has no args');
  const result = await proc.done;
  const shown = displayArgs(plan.argv);
  if (signal?.aborted) throw new BuildError(`Custom build ${JSON.stringify(shown)} was cancelled: ${exitStatusString(result)}`);
  if (result.error) throw new BuildError(`Custom build ${JSON.stringify(shown)} failed: ${result.error.message}`);
  if (result.exitCode !== 0) {
    let msg = `Custom build ${JSON.stringify(shown)} failed: ${exitStatusString(result)}`;
    const out = tail.join('\n');
    if (out.trim()) msg += `\n${out.length > outputTailChars ? out.slice(out.length - outputTailChars) : out}`;
    throw new BuildError(msg);
  }

  let local: ImageRef;
  let cluster: ImageRef;
  const madeTags: string[] = [];
  if (plan.expected) madeTags.push(plan.expected.local.familiarString());
  if (plan.outputsImageRefTo) {
    local = await abortable(readOutputRef(plan.outputsImageRefTo), signal);
    cluster = clusterRefFor(local, registry);
  } else {
    local = plan.expected!.local;
    cluster = plan.expected!.cluster;
  }

  if (!plan.remote) {
    deps.onPhase?.('tagging');
    let id: string;
    try {
      id = (await abortable(deps.images.inspect(local.familiarString()), signal)).id;
    } catch (err) {
      if (err instanceof ImageNotFoundError) throw new BuildError(`${imageNotFoundMessage}: ${err.message}`, { cause: err });
      if (err instanceof BuildError) throw err;
      throw new Error('inspecting the built image', { cause: err });
    }
    if (!plan.outputsImageRefTo) {
      let tag: string;
      try {
        tag = contentTag(id);
      } catch (err) {
        throw new BuildError((err as Error).message, { cause: err });
      }
      const tagged = plan.refs.tagged(tag);
      const existed = await abortable(deps.images.inspect(tagged.local.familiarString()).then(() => true, () => false), signal);
      await abortable(deps.images.tag(id, tagged.local.familiarString()), signal);
      if (!existed) madeTags.push(tagged.local.familiarString());
      note(`Tagged ${tagged.local.familiarString()}`);
      local = tagged.local;
      cluster = tagged.cluster;
    }
  }

  if (plan.push) {
    deps.onPhase?.('pushing');
    note(`Pushing ${local.familiarString()}`);
    try {
      await abortable(deps.images.push(local.familiarString(), (l) => note(`  ${l}`)), signal);
    } catch (err) {
      if (err instanceof BuildError) throw err;
      throw new BuildError(`docker push: ${(err as Error).message}`, { cause: err });
    }
  } else if (plan.skipPushMessage) {
    note(plan.skipPushMessage);
  }

  if (plan.compose && !plan.remote) {
    // Compose files name the image as configured: keep that name on the newest build too. The
    // ImageMap still gets the content-tagged ref, so that a new build is a new reference.
    const ref = composeRef(plan.refs);
    await abortable(deps.images.tag(local.familiarString(), ref.familiarString()), signal);
    note(`Tagged ${ref.familiarString()}`);
  }
  return {
    localRef: local,
    clusterRef: cluster,
    imageMap: {
      image: cluster.familiarString(),
      imageFromLocal: local.familiarString(),
      imageFromCluster: cluster.familiarString(),
    },
    madeTags,
  };
}

/**
 * abortable settles like step, except that aborting signal rejects at once with a BuildError:
 * a cancelled or timed-out build does not wait for a step that hangs (a push to a registry that
 * stopped answering). The step itself is left to finish or fail on its own.
 */
function abortable<T>(step: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return step;
  const cancelled = () => new BuildError('Build cancelled');
  if (signal.aborted) {
    step.catch(() => {});
    return Promise.reject(cancelled());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      step.catch(() => {});
      reject(cancelled());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    step.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

async function readOutputRef(file: string): Promise<ImageRef> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? `open ${file}: no such file or directory` : (err as Error).message;
    throw new BuildError(`Could not find image ref in output. Your custom_build script should have written to ${file}: ${reason}`, { cause: err });
  }
  try {
    return parseNamedTagged(text.trim());
  } catch (err) {
    throw new BuildError(`Output image ref in file ${file} was invalid: ${(err as Error).message}`, { cause: err });
  }
}
