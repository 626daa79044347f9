// Helpers for tests that talk to a real Docker Engine. `bash scripts/provision.sh` (run by
// `npm test`) starts the Engine and builds the images named in testImages.
import { PassThrough } from 'node:stream';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import tar from 'tar-stream';
import { waitFor } from './wait.ts';

/** testImages are the local images provision.sh builds (no image can be pulled here). */
export const testImages = {
  /** busybox is a static busybox (sh, tar, inotifyd, nc, wget, ...) running as root. */
  busybox: process.env.FERRY_TEST_BUSYBOX_IMAGE ?? 'ferry-test/busybox:latest',
  /**
   * busyboxUser is busybox with `USER 1000` and WORKDIR /app owned by 1000, holding the
   * root-owned file /app/owned-by-root.txt.
   */
  busyboxUser: process.env.FERRY_TEST_BUSYBOX_USER_IMAGE ?? 'ferry-test/busybox-user:latest',
  /** notar is busybox without tar, with a shell (dash) that cannot reach busybox's tar. */
  notar: process.env.FERRY_TEST_NOTAR_IMAGE ?? 'ferry-test/notar:latest',
} as const;

/** testRegistry is the address (host:port) of the local registry provision.sh starts. */
export const testRegistry = process.env.FERRY_TEST_REGISTRY ?? '127.0.0.1:5000';

/** testLabel marks every container these helpers create, so leftovers can be found. */
export const testLabel = 'ferry-test';

/** defaultCmd keeps a container running and lets it stop at once on SIGTERM. */
export const defaultCmd = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'];

const pingTimeoutMs = 5_000;

let connection: Promise<Docker> | undefined;

function connect(): Promise<Docker> {
  connection ??= (async () => {
    const docker = new Docker();
    const timeout = sleep(pingTimeoutMs, undefined, { ref: false }).then(() => {
      throw new Error(`no answer within ${pingTimeoutMs} ms`);
    });
    await Promise.race([docker.ping(), timeout]);
    for (const image of Object.values(testImages)) {
      try {
        await docker.getImage(image).inspect();
      } catch (err) {
        throw new Error(`test image ${image} is missing`, { cause: err });
      }
    }
    return docker;
  })();
  return connection;
}

/**
 * requireDocker resolves a Dockerode connected to the Engine (DOCKER_HOST, else
 * /var/run/docker.sock) once it answers and the test images exist. When it does not, it
 * throws, so the test fails; only outside CI, with FERRY_SKIP_DOCKER=1 and a test context,
 * it skips the test instead and resolves undefined: the test must then return.
 */
export async function requireDocker(): Promise<Docker>;
export async function requireDocker(t: TestContext): Promise<Docker | undefined>;
export async function requireDocker(t?: TestContext): Promise<Docker | undefined> {
  try {
    return await connect();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (process.env.CI === 'true') {
      throw new Error(
        `Docker is required and not available under CI (${reason}); ` +
          'provision it with `bash scripts/provision.sh`',
        { cause: err },
      );
    }
    if (process.env.FERRY_SKIP_DOCKER === '1' && t) {
      t.skip('docker not available');
      return undefined;
    }
    throw new Error(
      `Docker is required and not available (${reason}); run \`bash scripts/provision.sh\` ` +
        'as root, or set FERRY_SKIP_DOCKER=1 to skip tests that need it',
      { cause: err },
    );
  }
}

/** RunOptions describe a container for runContainer. */
export interface RunOptions {
  image: string;
  /** cmd is the command to run. Default defaultCmd (stay up, stop on SIGTERM). */
  cmd?: string[];
  /** user overrides the image's user ("1000", "0:0"). Default: the image's. */
  user?: string;
  /** name is the container name. Default: one Docker picks. */
  name?: string;
  /** labels are added to the ferry-test=1 label every test container has. */
  labels?: Record<string, string>;
  env?: Record<string, string>;
  workingDir?: string;
}

/** TestContainer is a container runContainer started. */
export interface TestContainer {
  id: string;
  name: string;
}

const created: { docker: Docker; id: string }[] = [];

/**
 * runContainer creates and starts a container labelled ferry-test=1 and registers it for
 * cleanupContainers.
 */
export async function runContainer(docker: Docker, options: RunOptions): Promise<TestContainer> {
  const container = await docker.createContainer({
    Image: options.image,
    Cmd: options.cmd ?? defaultCmd,
    User: options.user,
    name: options.name,
    Labels: { ...options.labels, [testLabel]: '1' },
    Env: options.env && Object.entries(options.env).map(([k, v]) => `${k}=${v}`),
    WorkingDir: options.workingDir,
  });
  created.push({ docker, id: container.id });
  await container.start();
  const info = await container.inspect();
  return { id: container.id, name: info.Name.replace(/^\//, '') };
}

/** cleanupContainers force-removes every container runContainer made; call it in after(). */
export async function cleanupContainers(): Promise<void> {
  const all = created.splice(0);
  await Promise.all(
    all.map(async ({ docker, id }) => {
      try {
        await docker.getContainer(id).remove({ force: true, v: true });
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        if (status !== 404 && status !== 409) throw err; // gone, or removal under way
      }
    }),
  );
}

/** ExecResult is what an exec returned. */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** ExecOptions tune execIn. */
export interface ExecOptions {
  /** user runs the command as this user. Default: the container's. */
  user?: string;
  /** stdin is written to the command's standard input, which is then closed. Default: none. */
  stdin?: string | Buffer;
  workingDir?: string;
}

/** execIn runs argv in a running container (no shell) and returns its exit code and output. */
export async function execIn(
  docker: Docker,
  id: string,
  argv: string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const withStdin = options.stdin !== undefined;
  const exec = await docker.getContainer(id).exec({
    Cmd: argv,
    AttachStdin: withStdin,
    AttachStdout: true,
    AttachStderr: true,
    User: options.user,
    WorkingDir: options.workingDir,
  });
  const stream = await exec.start({ hijack: true, stdin: withStdin });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const out = new PassThrough().on('data', (b: Buffer) => stdout.push(b));
  const err = new PassThrough().on('data', (b: Buffer) => stderr.push(b));
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve).on('close', resolve).on('error', reject);
  });
  docker.modem.demuxStream(stream, out, err);
  if (withStdin) stream.end(options.stdin);
  await ended;
  // The output ended: the process is done. Its exit code may take a moment to be recorded; an
  // exec the Engine already forgot (404) has an unknown code (-1), its output is still whole.
  const exitCode = await waitFor(
    async () => {
      const info = await exec.inspect().catch((err: { statusCode?: number }) => {
        if (err?.statusCode === 404) return { Running: false, ExitCode: -1 };
        throw err;
      });
      return info.Running ? undefined : (info.ExitCode ?? undefined);
    },
    { timeoutMs: 15_000, intervalMs: 20, message: `exit of ${argv.join(' ')}` },
  );
  return {
    exitCode,
    stdout: Buffer.concat(stdout).toString('utf8'),
    stderr: Buffer.concat(stderr).toString('utf8'),
  };
}

/** FileInfo is what statIn reports about a path in a container. */
export interface FileInfo {
  type: string;
  uid: number;
  gid: number;
  /** mode holds the permission bits (0o644). */
  mode: number;
  size: number;
}

async function archiveEntry(
  docker: Docker,
  id: string,
  path: string,
): Promise<{ info: FileInfo; content: Buffer }> {
  let archive: NodeJS.ReadableStream;
  try {
    archive = await docker.getContainer(id).getArchive({ path });
  } catch (err) {
    throw new Error(`reading ${path} in container ${id}`, { cause: err });
  }
  const extract = tar.extract();
  archive.pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    const { type, uid = 0, gid = 0, mode = 0, size = 0 } = entry.header;
    const info = { type: type ?? 'file', uid, gid, mode: mode & 0o7777, size };
    extract.destroy();
    return { info, content: Buffer.concat(chunks) };
  }
  throw new Error(`reading ${path} in container ${id}: empty archive`);
}

/**
 * readFileIn returns a file's content in a container as UTF-8, through the Engine's archive
 * API: it works as any user and in images without cat or tar.
 */
export async function readFileIn(docker: Docker, id: string, path: string): Promise<string> {
  const { info, content } = await archiveEntry(docker, id, path);
  if (info.type !== 'file') throw new Error(`${path} in container ${id} is a ${info.type}`);
  return content.toString('utf8');
}

/** statIn reports a path's type, owner, mode and size in a container (archive API). */
export async function statIn(docker: Docker, id: string, path: string): Promise<FileInfo> {
  return (await archiveEntry(docker, id, path)).info;
}
