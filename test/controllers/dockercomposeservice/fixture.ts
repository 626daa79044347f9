import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { DockerComposeService } from '../../../src/apis/dockercomposeservice.ts';
import { apiVersion, type KubeObject } from '../../../src/apis/meta.ts';
import type { Manager } from '../../../src/runtime/index.ts';
import { ComposeCli, type ComposeForm } from '../../../src/adapters/compose/index.ts';
import type { FerryClient } from '../../../src/client/index.ts';
import { DockerodeClient } from '../../../src/adapters/docker/index.ts';
import { setup, type DockerComposeServiceReconciler } from '../../../controllers/dockercomposeservice/index.ts';
import { ControllerHarness } from '../../support/controllers.ts';

export const run = promisify(execFile);


/**
 * Fixture runs the DockerComposeService controller (its real setup) on the controller test
 * harness and the real Docker Engine, in a temporary directory holding Compose files. Every
 * Compose project it makes has a unique name, and close() takes them all down.
 */
export class Fixture {
  readonly id = randomBytes(4).toString('hex');
  private readonly projects = new Set<string>();
  private readonly tags = new Set<string>();
  /** output holds the Compose output lines the controller reported, by resource. */
  readonly output: Array<{ resource: string; line: string }> = [];
  private readonly cleanups: Array<() => Promise<void>> = [];
  private h!: ControllerHarness<ReturnType<typeof setup>>;

  static async start(opts: { form?: ComposeForm; env?: NodeJS.ProcessEnv } = {}): Promise<Fixture> {
    const f = new Fixture();
    f.h = await ControllerHarness.start({ after: (fn: () => Promise<void>) => f.cleanups.push(fn) }, {
      dirPrefix: 'ferry-dcs-test-',
      setup: (mgr, env) =>
        setup(mgr, {
          compose: new ComposeCli({ form: opts.form ?? 'standalone', env: opts.env }),
          docker: new DockerodeClient(),
          workDir: path.join(env.dir, 'work'),
          onOutput: (resource, line) => f.output.push({ resource, line }),
        }),
      cleanup: () => f.removeDockerObjects(),
    });
    return f;
  }

  /** mgr runs the controller; a new one after startController(). */
  get mgr(): Manager {
    return this.h.mgr;
  }

  get reconciler(): DockerComposeServiceReconciler {
    return this.h.wired.reconciler;
  }

  /** client reaches the API server whether the controller runs or not. */
  get client(): FerryClient {
    return this.h.client;
  }

  get dir(): string {
    return this.h.dir;
  }

  /** startController starts a new manager running the controller, as a new daemon would. */
  async startController(): Promise<void> {
    await this.h.restart();
  }

  /** stopController stops the manager (what a daemon's stop does to this controller). */
  async stopController(): Promise<void> {
    await this.h.stop();
  }

  /** projectName is a unique Compose project name for this fixture. */
  projectName(suffix: string): string {
    const name = `ferrytest${this.id}${suffix}`;
    this.projects.add(name);
    return name;
  }

  /** tagImage tags the busybox test image under a new name, removed on close. */
  async tagImage(source: string, target: string): Promise<void> {
    await run('docker', ['tag', source, target]);
    this.tags.add(target);
  }

  async writeFile(name: string, content: string): Promise<string> {
    const file = path.join(this.dir, name);
    await writeFile(file, content);
    return file;
  }

  create<T extends KubeObject>(obj: T): Promise<T> {
    return this.h.create({ apiVersion, ...obj });
  }

  get<T extends KubeObject = DockerComposeService>(kind: string, name: string): Promise<T | undefined> {
    return this.h.get<T>(kind, name);
  }

  /** waitDCS waits until the DockerComposeService satisfies pred. */
  waitDCS(name: string, pred: (o: DockerComposeService) => boolean, message: string, timeoutMs = 60_000): Promise<DockerComposeService> {
    return this.h.waitObject<DockerComposeService>('DockerComposeService', name, pred, message, timeoutMs);
  }

  /** steadyState settles, reconciles the object once more and reports its resourceVersion before and after. */
  async steadyState(name: string): Promise<{ before: string | undefined; after: string | undefined }> {
    await this.h.settle();
    const before = (await this.get('DockerComposeService', name))?.metadata.resourceVersion;
    await this.h.reconcile('dockercomposeservice', name);
    const after = (await this.get('DockerComposeService', name))?.metadata.resourceVersion;
    return { before, after };
  }

  /** close stops the controller and the API server and takes down every project and tag the test made. */
  async close(): Promise<void> {
    for (const fn of this.cleanups.splice(0).reverse()) await fn();
  }

  private async removeDockerObjects(): Promise<void> {
    for (const p of this.projects) {
      const { stdout } = await run('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${p}`]).catch(() => ({ stdout: '' }));
      const ids = stdout.split('\n').filter(Boolean);
      if (ids.length) await run('docker', ['rm', '-f', ...ids]).catch(() => {});
      const nets = await run('docker', ['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${p}`]).catch(() => ({ stdout: '' }));
      const netIds = nets.stdout.split('\n').filter(Boolean);
      if (netIds.length) await run('docker', ['network', 'rm', ...netIds]).catch(() => {});
    }
    for (const t of this.tags) await run('docker', ['rmi', t]).catch(() => {});
  }
}
