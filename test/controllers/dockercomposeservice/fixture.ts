import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import winston from 'winston';
import { startTestApiServer, type TestApiServer } from '../../support/apiserver.ts';
import type { DockerComposeService } from '../../../src/apis/dockercomposeservice.ts';
import { apiVersion, type KubeObject } from '../../../src/apis/meta.ts';
import { Manager, type ReconcileContext } from '../../../src/runtime/index.ts';
import { ComposeCli, type ComposeForm } from '../../../src/adapters/compose/index.ts';
import { FerryClient } from '../../../src/client/index.ts';
import { DockerodeClient } from '../../../src/adapters/docker/index.ts';
import { setup, type DockerComposeServiceReconciler } from '../../../controllers/dockercomposeservice/index.ts';
import { waitFor } from '../../support/wait.ts';
import { silentLogger } from '../../../src/log.ts';

export const run = promisify(execFile);


/**
 * Fixture runs the DockerComposeService controller against the embedded API server (memory
 * storage) and the real Docker Engine, in a temporary directory holding Compose files. Every
 * Compose project it makes has a unique name, and close() takes them all down.
 */
export class Fixture {
  readonly id = randomBytes(4).toString('hex');
  private readonly projects = new Set<string>();
  private readonly tags = new Set<string>();
  /** mgr runs the controller; a new one after restartController(). */
  mgr!: Manager;
  reconciler!: DockerComposeServiceReconciler;
  /** output holds the Compose output lines the controller reported, by resource. */
  readonly output: Array<{ resource: string; line: string }> = [];
  /** client reaches the API server whether the controller runs or not. */
  readonly client: FerryClient;
  private running = false;

  private constructor(
    readonly dir: string,
    readonly server: TestApiServer,
    readonly log: winston.Logger,
    private readonly opts: { form?: ComposeForm; env?: NodeJS.ProcessEnv },
  ) {
    this.client = new FerryClient(server.kubeConfig);
  }

  static async start(opts: { form?: ComposeForm; env?: NodeJS.ProcessEnv } = {}): Promise<Fixture> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-dcs-test-'));
    const server = await startTestApiServer();
    const f = new Fixture(dir, server, silentLogger(), opts);
    await f.startController();
    return f;
  }

  /** startController starts a new manager running the controller, as a new daemon would. */
  async startController(): Promise<void> {
    this.mgr = new Manager({ kubeConfig: this.server.kubeConfig, log: this.log });
    const { reconciler } = setup(this.mgr, {
      compose: new ComposeCli({ form: this.opts.form ?? 'standalone', env: this.opts.env }),
      docker: new DockerodeClient(),
      workDir: path.join(this.dir, 'work'),
      onOutput: (resource, line) => this.output.push({ resource, line }),
    });
    this.reconciler = reconciler;
    await this.mgr.start();
    this.running = true;
  }

  /** stopController stops the manager (what a daemon's stop does to this controller). */
  async stopController(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.mgr.stop();
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

  async create<T extends KubeObject>(obj: T): Promise<T> {
    return this.mgr.client.create({ apiVersion, ...obj });
  }

  async get<T extends KubeObject = DockerComposeService>(kind: string, name: string): Promise<T | undefined> {
    return this.mgr.client.get<T>(kind, name);
  }

  /** waitStatus polls the DockerComposeService until pred holds. */
  async waitDCS(name: string, pred: (o: DockerComposeService) => boolean, message: string, timeoutMs = 60_000): Promise<DockerComposeService> {
    return waitFor(async () => {
      const o = await this.get<DockerComposeService>('DockerComposeService', name);
      return o && pred(o) ? o : undefined;
    }, { timeoutMs, message });
  }

  /**
   * assertSteadyState reconciles the object once more and checks nothing was written: the
   * resourceVersion stays the same.
   */
  async steadyState(name: string): Promise<{ before: string | undefined; after: string | undefined }> {
    const before = (await this.get('DockerComposeService', name))?.metadata.resourceVersion;
    const ctx: ReconcileContext = { log: this.log, signal: new AbortController().signal };
    await this.reconciler.reconcile({ name }, ctx);
    const after = (await this.get('DockerComposeService', name))?.metadata.resourceVersion;
    return { before, after };
  }

  async close(): Promise<void> {
    await this.stopController();
    this.client.close();
    await this.server.close();
    for (const p of this.projects) {
      const { stdout } = await run('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${p}`]).catch(() => ({ stdout: '' }));
      const ids = stdout.split('\n').filter(Boolean);
      if (ids.length) await run('docker', ['rm', '-f', ...ids]).catch(() => {});
      const nets = await run('docker', ['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${p}`]).catch(() => ({ stdout: '' }));
      const netIds = nets.stdout.split('\n').filter(Boolean);
      if (netIds.length) await run('docker', ['network', 'rm', ...netIds]).catch(() => {});
    }
    for (const t of this.tags) await run('docker', ['rmi', t]).catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }
}
