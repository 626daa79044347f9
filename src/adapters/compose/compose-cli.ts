import { spawn } from 'node:child_process';

/**
 * composeForms are the two ways the Compose CLI is invoked: the v2 plugin (`docker compose`)
 * and the standalone v1 binary (`docker-compose`).
 */
export const composeForms = ['plugin', 'standalone'] as const;
export type ComposeForm = (typeof composeForms)[number];

/** ComposeProjectArgs names one Compose project on the command line. */
export interface ComposeProjectArgs {
  /** name is the project name, always passed with `-p` so container labels are predictable. */
  name: string;
  /** configPaths are the files passed with `-f`, in order (later files override earlier ones). */
  configPaths: string[];
  /** projectDirectory is passed as `--project-directory` when set. */
  projectDirectory?: string;
  /** profiles are passed as `--profile` each. */
  profiles?: string[];
  /** envFile is passed as `--env-file` when set. */
  envFile?: string;
}

/** ComposeRunOptions are the per-command options. */
export interface ComposeRunOptions {
  /** onOutput receives every line Compose prints, stdout and stderr alike, as it arrives. */
  onOutput?: (line: string) => void;
  /** signal aborts the command (the process is killed). */
  signal?: AbortSignal;
}

/** ComposeUpOptions are the options of `up`. */
export interface ComposeUpOptions extends ComposeRunOptions {
  /** noBuild passes `--no-build`: the images are built by someone else. Default false. */
  noBuild?: boolean;
}

/**
 * ComposeRunner runs Compose commands for one service of a project. Every method throws a
 * ComposeError when Compose exits non-zero, with Compose's own message.
 */
export interface ComposeRunner {
  /** form is the command form in use, detected on first use unless forced. */
  form(): Promise<ComposeForm>;
  /** config returns the project's resolved configuration (`config`), as YAML text. */
  config(project: ComposeProjectArgs, opts?: ComposeRunOptions): Promise<string>;
  /** up runs `up -d --no-deps <service>`. */
  up(project: ComposeProjectArgs, service: string, opts?: ComposeUpOptions): Promise<void>;
  /** rm runs `rm -s -f <service>`: stops and removes the service's containers. */
  rm(project: ComposeProjectArgs, service: string, opts?: ComposeRunOptions): Promise<void>;
  /**
   * down runs `down`: removes the project's containers and the networks Compose created for it
   * (volumes and images stay).
   */
  down(project: ComposeProjectArgs, opts?: ComposeRunOptions): Promise<void>;
}

/** ComposeError is a Compose command that exited non-zero (or could not be started). */
export class ComposeError extends Error {
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(message: string, exitCode: number | null, stderr: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ComposeError';
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** ComposeCliOptions configure ComposeCli. */
export interface ComposeCliOptions {
  /** form forces a command form; default: `docker compose` when the plugin answers, else `docker-compose`. */
  form?: ComposeForm;
  /** dockerBinary is the docker CLI, default `docker`. */
  dockerBinary?: string;
  /** standaloneBinary is the v1 binary, default `docker-compose`. */
  standaloneBinary?: string;
  /** env is the environment of every command, default process.env. */
  env?: NodeJS.ProcessEnv;
}

interface RunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** ComposeCli is the ComposeRunner that runs the Compose command-line tool. */
export class ComposeCli implements ComposeRunner {
  private readonly opts: ComposeCliOptions;
  private detected?: Promise<ComposeForm>;

  constructor(opts: ComposeCliOptions = {}) {
    this.opts = opts;
    if (opts.form) this.detected = Promise.resolve(opts.form);
  }

  form(): Promise<ComposeForm> {
    this.detected ??= this.detect();
    return this.detected;
  }

  async config(project: ComposeProjectArgs, opts: ComposeRunOptions = {}): Promise<string> {
    const res = await this.compose(project, ['config'], { signal: opts.signal });
    return res.stdout;
  }

  async up(project: ComposeProjectArgs, service: string, opts: ComposeUpOptions = {}): Promise<void> {
    const args = ['up', '-d', '--no-deps'];
    if (opts.noBuild) args.push('--no-build');
    args.push(service);
    await this.compose(project, args, opts);
  }

  async rm(project: ComposeProjectArgs, service: string, opts: ComposeRunOptions = {}): Promise<void> {
    await this.compose(project, ['rm', '-s', '-f', service], opts);
  }

  async down(project: ComposeProjectArgs, opts: ComposeRunOptions = {}): Promise<void> {
    await this.compose(project, ['down'], opts);
  }

  /** argv is the full command line for a Compose subcommand in the given form. */
  argv(form: ComposeForm, project: ComposeProjectArgs, subcommand: string[]): string[] {
    const head = form === 'plugin'
      ? [this.opts.dockerBinary ?? 'docker', 'compose']
      : [this.opts.standaloneBinary ?? 'docker-compose'];
    return [...head, ...projectFlags(project), ...subcommand];
  }

  private async compose(project: ComposeProjectArgs, subcommand: string[], opts: ComposeRunOptions): Promise<RunResult> {
    const form = await this.form();
    const [cmd, ...args] = this.argv(form, project, subcommand);
    const res = await run(cmd, args, { env: this.env(), onOutput: opts.onOutput, signal: opts.signal });
    if (res.exitCode !== 0) {
      throw new ComposeError(composeMessage(res.stderr) || `${cmd} ${subcommand[0]} exited with code ${res.exitCode}`, res.exitCode, res.stderr);
    }
    return res;
  }

  private env(): NodeJS.ProcessEnv {
    // Plain output: no colours, no progress bars redrawn in place.
    return { ...(this.opts.env ?? process.env), COMPOSE_ANSI: 'never', COMPOSE_PROGRESS: 'plain', COMPOSE_INTERACTIVE_NO_CLI: '1' };
  }

  private async detect(): Promise<ComposeForm> {
    try {
      const res = await run(this.opts.dockerBinary ?? 'docker', ['compose', 'version'], { env: this.env() });
      if (res.exitCode === 0) return 'plugin';
    } catch {
      // no docker CLI at all: try the standalone binary
    }
    return 'standalone';
  }
}

/** projectFlags are the global flags that select a project. */
export function projectFlags(project: ComposeProjectArgs): string[] {
  const flags = ['-p', project.name];
  for (const f of project.configPaths) flags.push('-f', f);
  if (project.projectDirectory) flags.push('--project-directory', project.projectDirectory);
  for (const p of project.profiles ?? []) flags.push('--profile', p);
  if (project.envFile) flags.push('--env-file', project.envFile);
  return flags;
}

// Lines Compose prints about progress, which are not part of an error message.
const progressLine = /^\s*(Creating|Recreating|Starting|Started|Stopping|Stopped|Removing|Removed|Pulling|Pulled|Building|Built|Network|Container|Volume|Image|Going to remove|Waiting)\b.*$/;

/** composeMessage extracts Compose's error message from its stderr: everything but progress lines. */
export function composeMessage(stderr: string): string {
  const lines = stderr.split(/\r?\n/).map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
  const meaningful = lines.filter((l) => !progressLine.test(l));
  return (meaningful.length > 0 ? meaningful : lines.slice(-1)).join('\n').trim();
}

interface RunOptions {
  env: NodeJS.ProcessEnv;
  onOutput?: (line: string) => void;
  signal?: AbortSignal;
}

function run(cmd: string, args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], signal: opts.signal });
    let stdout = '';
    let stderr = '';
    const lines = (onChunk: (s: string) => void) => {
      let partial = '';
      return {
        push(chunk: Buffer) {
          const text = chunk.toString('utf8');
          onChunk(text);
          if (!opts.onOutput) return;
          partial += text;
          const parts = partial.split(/\r?\n|\r/);
          partial = parts.pop() ?? '';
          for (const p of parts) if (p.trim() !== '') opts.onOutput(p);
        },
        end() {
          if (opts.onOutput && partial.trim() !== '') opts.onOutput(partial);
          partial = '';
        },
      };
    };
    const out = lines((s) => (stdout += s));
    const err = lines((s) => (stderr += s));
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => reject(new ComposeError(`running ${cmd}: ${e.message}`, null, stderr, { cause: e })));
    child.on('close', (code) => {
      out.end();
      err.end();
      resolve({ exitCode: code, stdout, stderr });
    });
  });
}
