/**
 * The `ferry` command line: `serve` runs the daemon; the other commands are clients of
 * a running daemon, found through the kubeconfig in its data directory.
 *
 * Each command loads its module when it runs (`await import()` in its action), so that a
 * client command such as `ferry get` loads neither the daemon nor @kubernetes/client-node.
 * Only commander and the light src/cli/context.ts are loaded up front.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { CliError, explain, type ConnectOptions } from './cli/context.ts';
import { outputFormats, type OutputFormat } from './cli/output.ts';
import type { LogFormat } from './log.ts';

/** packageJson finds ferry's package.json above this module (src/ when run from sources, dist/src/ when compiled). */
function packageJson(): { version: string } {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
    if (path.dirname(dir) === dir) return { version: '0.0.0' };
  }
}
const pkg = packageJson();
export const ferryVersion = pkg.version;

const out = (s: string) => process.stdout.write(s + '\n');

/** The log formats of src/log.ts, listed here so that the command line does not load winston. */
const logFormats = ['json', 'pretty'] as const satisfies readonly LogFormat[];

/** defaultPort is where `ferry serve` listens unless told otherwise (Tilt's own API is on 10350). */
export const defaultPort = 10351;

function clientOptions(cmd: Command): ConnectOptions {
  const o = cmd.optsWithGlobals() as { dataDir?: string; kubeconfig?: string; context?: string };
  return { dataDir: o.dataDir, kubeconfig: o.kubeconfig, context: o.context };
}

/** durationFlag reads a Go duration flag (90s, 15m, 1h), which must be positive. */
async function durationFlag(flag: string, value: string): Promise<number> {
  const { parseGoDuration } = await import('./apis/go.ts');
  let ms: number;
  try {
    ms = parseGoDuration(value);
  } catch {
    throw new CliError(`${flag} must be a duration such as 90s or 15m, got "${value}"`);
  }
  if (!(ms > 0)) throw new CliError(`${flag} must be positive, got "${value}"`);
  return ms;
}

/**
 * buildProgram declares every command. Each action imports what it needs when it runs: adding a
 * command is one `program.command(...)` block here and its module under src/cli/.
 */
export function buildProgram(): Command {
  const program = new Command('ferry')
    .description('Serve the tilt.dev/v1alpha1 API and keep running containers in sync with your files.')
    .version(ferryVersion, '--client-version', 'print the client version')
    .option('--data-dir <dir>', 'data directory (default $FERRY_DATA_DIR or ~/.ferry)')
    .option('--kubeconfig <file>', 'talk to the API server of this kubeconfig instead of the local daemon')
    .option('--context <name>', 'kubeconfig context to use')
    .showHelpAfterError();

  program
    .command('serve')
    .description('run the daemon: the API server and every controller')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', `port to listen on (default $FERRY_PORT, else ${defaultPort}; 0 picks a free one)`)
    .addOption(new Option('--storage <kind>', 'where objects are kept').choices(['sqlite', 'memory']).default('sqlite'))
    .addOption(new Option('--log-format <format>', 'log format').choices([...logFormats]))
    .option('--log-level <level>', 'log level (error, warn, info, debug)', 'info')
    .option('--filewatch-quiet-ms <ms>', 'quiet period before a batch of file changes is reported; it doubles while a burst of changes goes on (Tilt waits a fixed 200)', '10')
    .option('--filewatch-poll', 'watch files by polling instead of kernel events (automatic on network, FUSE and WSL mounts)')
    .option('--build-timeout <duration>', 'kill a CmdImage build that runs longer than this, failing it with reason Timeout (Go duration: 90s, 15m, 1h)', '15m')
    .option('--exec-timeout <duration>', 'fail a LiveUpdate exec that runs longer than this, unless the exec sets its own timeoutSeconds (Go duration: 30s, 2m)', '60s')
    .option('--cluster-kubeconfig <file>', 'kubeconfig of the dev cluster (default $KUBECONFIG or ~/.kube/config)')
    .option('--health-addr <host:port>', 'also serve /healthz, /readyz and /metrics over plain HTTP here (e.g. for probes in external mode)')
    .option('--keep-images <n>', 'how many builds of each image keep their tags; older ones are removed unless a container uses them (0 keeps all; default $FERRY_KEEP_IMAGES, else 3)')
    .option('--dashboard-port <port>', 'web dashboard port on 127.0.0.1 (0 turns it off, "auto" picks a free one)', '10352')
    .action(async (o, cmd: Command) => {
      const g = cmd.optsWithGlobals() as { dataDir?: string; kubeconfig?: string; context?: string };
      const { serve } = await import('./cli/serve.ts');
      await serve({
        ...o,
        dataDir: g.dataDir,
        dashboardPortSource: cmd.getOptionValueSource('dashboardPort'),
        kubeconfig: g.kubeconfig,
        context: g.context,
        port: o.port ?? process.env.FERRY_PORT ?? String(defaultPort),
        buildTimeoutMs: await durationFlag('--build-timeout', o.buildTimeout),
        execTimeoutMs: await durationFlag('--exec-timeout', o.execTimeout),
        version: ferryVersion,
        out,
      });
    });

  program
    .command('apply')
    .description('create or update objects from files, directories or stdin (-)')
    .requiredOption('-f, --filename <path...>', 'file, directory or - for stdin')
    .option('--server-side', 'use server-side apply')
    .option('--field-manager <name>', 'field manager for server-side apply', 'ferry')
    .option('--dry-run', 'show what would happen without changing anything')
    .action(async (o, cmd: Command) => {
      const { applyFiles } = await import('./cli/apply.ts');
      await applyFiles(clientOptions(cmd), o.filename, { serverSide: o.serverSide, fieldManager: o.fieldManager, dryRun: o.dryRun }, out);
    });

  program
    .command('get')
    .description('list objects of a kind, or show one')
    .argument('<kind>', 'kind: plural, singular or short name (liveupdates, filewatches, fw, ...); several separated by commas')
    .argument('[name]', 'object name')
    .addOption(new Option('-o, --output <format>', 'output format').choices([...outputFormats]))
    .option('-w, --watch', 'watch for changes after listing')
    .option('-l, --selector <selector>', 'label selector')
    .action(async (kind: string, name: string | undefined, o, cmd: Command) => {
      const [{ get }, { connect }] = await Promise.all([import('./cli/get.ts'), import('./cli/context.ts')]);
      const client = await connect(clientOptions(cmd));
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      try {
        await get(client, kind, name, { output: o.output as OutputFormat | undefined, watch: o.watch, selector: o.selector, signal: ac.signal });
      } finally {
        client.close();
      }
    });

  program
    .command('describe')
    .description('show an object in detail')
    .argument('<kind>')
    .argument('<name>')
    .action(async (kind: string, name: string, _o, cmd: Command) => {
      const [{ describe }, { connect }] = await Promise.all([import('./cli/get.ts'), import('./cli/context.ts')]);
      const client = await connect(clientOptions(cmd));
      try {
        out(await describe(client, kind, name));
      } finally {
        client.close();
      }
    });

  program
    .command('delete')
    .description('delete objects by kind and names, or those of files (-f)')
    .argument('[kind]')
    .argument('[names...]')
    .option('-f, --filename <path...>', 'delete the objects of these files')
    .option('--ignore-not-found', 'treat a missing object as deleted')
    .action(async (kind: string | undefined, names: string[], o, cmd: Command) => {
      const [{ deleteObjects, targetsOf }, { readManifests }, { connect }] = await Promise.all([import('./cli/get.ts'), import('./cli/manifests.ts'), import('./cli/context.ts')]);
      let targets: Array<{ kind: string; name: string }>;
      if (o.filename) targets = targetsOf(readManifests(o.filename));
      else if (kind && names.length) targets = names.map((name) => ({ kind, name }));
      else throw new CliError('error: give a kind and names, or -f FILE');
      const client = await connect(clientOptions(cmd));
      try {
        for (const line of await deleteObjects(client, targets, o.ignoreNotFound || !!o.filename)) out(line);
      } finally {
        client.close();
      }
    });

  program
    .command('ci')
    .description('apply objects, wait until every resource is healthy or one fails, print a summary; exit 0 or 1')
    .requiredOption('-f, --filename <path...>', 'file, directory or - for stdin')
    .option('--timeout <duration>', 'give up after this long (Go duration: 30s, 10m, 1h)', '30m')
    .option('--keep', 'leave the objects and their containers in place')
    .option('--namespace <name>', 'dev cluster namespace for the objects that name none (default ferry-ci-<id>, created and deleted by the run)')
    .option('--cluster-kubeconfig <file>', 'kubeconfig of the dev cluster (default $KUBECONFIG or ~/.kube/config)')
    .action(async (o, cmd: Command) => {
      const g = clientOptions(cmd);
      const timeoutMs = await durationFlag('--timeout', o.timeout);
      const { runCi } = await import('./cli/ci.ts');
      const code = await runCi({ files: o.filename, timeoutMs, kubeconfig: g.kubeconfig, context: g.context, keep: o.keep, namespace: o.namespace, clusterKubeconfig: o.clusterKubeconfig, cwd: process.cwd() });
      if (code !== 0) throw new CliError('', code);
    });

  program
    .command('logs')
    .description('show build output, live update actions, command output and what containers and pods print, per resource')
    .argument('[resources...]', 'only these resources')
    .option('-f, --follow', 'keep printing new lines')
    .option('--since <duration>', 'only lines newer than this (30s, 5m, 1h)')
    .option('--source <source>', 'only lines of this source: build, runtime (containers and pods) or sync (live updates)')
    .action(async (resources: string[], o, cmd: Command) => {
      const [{ parseSince, parseSource, streamLogs }, { loadClientConfig }] = await Promise.all([import('./cli/logs.ts'), import('./cli/context.ts')]);
      const kc = await loadClientConfig(clientOptions(cmd));
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      // Following on a terminal: the daemon's long work in a status line below the lines.
      const progress = o.follow && process.stdout.isTTY ? (await import('./cli/logs-progress.ts')).followActivity(kc, { resources }) : undefined;
      await streamLogs(kc, {
        resources,
        follow: o.follow,
        sinceMs: o.since ? parseSince(o.since) : undefined,
        source: o.source ? parseSource(o.source) : undefined,
        color: process.stdout.isTTY === true && !process.env.NO_COLOR,
        out: progress?.out ?? out,
        signal: ac.signal,
      }).finally(() => progress?.stop());
    });

  program
    .command('trigger')
    .description('build a resource again (through the tilt-trigger-queue ConfigMap, as `tilt trigger` does)')
    .argument('<resource>')
    .action(async (resource: string, _o, cmd: Command) => {
      const [{ triggerKnownResource }, { connect }] = await Promise.all([import('./cli/trigger.ts'), import('./cli/context.ts')]);
      const client = await connect(clientOptions(cmd));
      try {
        const r = await triggerKnownResource(client, resource);
        out(r.queued ? `${resource} triggered` : `${resource} was already queued`);
      } finally {
        client.close();
      }
    });

  program
    .command('kubeconfig')
    .description("print the daemon's kubeconfig, or add a ferry context to your own kubeconfig (--merge)")
    .option('--merge', "add (or update) the ferry cluster, user and context in your kubeconfig ($KUBECONFIG's first file, else ~/.kube/config)")
    .option('--kubeconfig-path <file>', 'the kubeconfig to merge into')
    .option('--use', 'also make ferry the current context')
    .option('--path', "print only the path of the daemon's kubeconfig")
    .action(async (o, cmd: Command) => {
      const { kubeconfigCommand } = await import('./cli/kubeconfig.ts');
      await kubeconfigCommand(clientOptions(cmd), { merge: o.merge, target: o.kubeconfigPath, use: o.use, pathOnly: o.path }, out);
      });

  program
    .command('ui')
    .description('print a one-time login link to the running daemon\'s web dashboard, and open it in a browser when one is available')
    .option('--no-open', 'only print the link')
    .action(async (o, cmd: Command) => {
      const [{ runUi }, { dataDir }] = await Promise.all([import('./cli/ui.ts'), import('./cli/context.ts')]);
      runUi(dataDir(clientOptions(cmd).dataDir), { open: o.open, out });
    });

  program
    .command('version')
    .description('print the client version and, when a daemon runs, the server version')
    .action(async (_o, cmd: Command) => {
      out(`Client Version: ${ferryVersion}`);
      const { connect } = await import('./cli/context.ts');
      try {
        const client = await connect(clientOptions(cmd));
        try {
          const info = (await client.raw('GET', '/version')) as { gitCommit: string; gitVersion: string };
          out(`Server Version: ${info.gitCommit.replace(/^ferry-/, '')} (Kubernetes API ${info.gitVersion}) at ${client.server}`);
        } finally {
          client.close();
        }
      } catch (err) {
        out(`Server: ${explain(err)}`);
      }
    });

  program
    .command('doctor')
    .description('check Docker, the registry, the dev cluster, inotify limits and the data directory, and say what to fix')
    .option('--registry <host>', "registry to check (default $FERRY_REGISTRY, else the registries of the running daemon's Clusters)")
    .option('--cluster-kubeconfig <file>', 'kubeconfig of the dev cluster (default $KUBECONFIG or ~/.kube/config)')
    .option('--timeout-ms <ms>', 'how long each network probe may take', '3000')
    .action(async (o: { registry?: string; clusterKubeconfig?: string; timeoutMs: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals() as { dataDir?: string };
      const { runDoctor } = await import('./cli/doctor.ts');
      const report = await runDoctor({ dataDir: g.dataDir, registry: o.registry, kubeconfig: o.clusterKubeconfig, timeoutMs: Number(o.timeoutMs) || 3_000 });
      for (const line of report.lines) out(line);
      if (!report.ok) throw new CliError('', 1);
    });

  return program;
}

export async function main(argv = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    const msg = explain(err);
    if (msg) process.stderr.write(msg + '\n');
    return err instanceof CliError ? err.exitCode : 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.env.FERRY_MAIN === '1') {
  main().then((code) => {
    process.exitCode = code;
  });
}
