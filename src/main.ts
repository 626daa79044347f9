/**
 * The `ferry` command line: `serve` runs the daemon; the other commands are clients of
 * a running daemon, found through the kubeconfig in its data directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { VersionApi } from '@kubernetes/client-node';
import { createLogger, logFormats, type LogFormat } from './log.ts';
import { startDaemon } from './daemon.ts';
import { exposureWarning } from './apiserver/server.ts';
import { CliError, connect, dataDir, explain, kubeConfigFor, type ConnectOptions } from './cli/context.ts';
import { readManifests } from './cli/manifests.ts';
import { applyOne } from './cli/apply.ts';
import { deleteObjects, describe, get, outputFormats, targetsOf, type OutputFormat } from './cli/get.ts';
import { parseSince, streamLogs } from './cli/logs.ts';
import { triggerResource } from './cli/trigger.ts';
import { runCi } from './cli/ci.ts';
import { parseGoDuration } from './apis/go.ts';
import { registerDoctor } from './cli/doctor.ts';

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

function clientOptions(cmd: Command): ConnectOptions {
  const o = cmd.optsWithGlobals() as { dataDir?: string; kubeconfig?: string; context?: string };
  return { dataDir: o.dataDir, kubeconfig: o.kubeconfig, context: o.context };
}

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
    .option('--port <port>', 'port to listen on (0 picks a free one)', '0')
    .addOption(new Option('--storage <kind>', 'where objects are kept').choices(['sqlite', 'memory']).default('sqlite'))
    .addOption(new Option('--log-format <format>', 'log format').choices([...logFormats]))
    .option('--log-level <level>', 'log level (error, warn, info, debug)', 'info')
    .option('--filewatch-quiet-ms <ms>', 'quiet period before a batch of file changes is reported; it doubles while a burst of changes goes on (Tilt waits a fixed 200)', '20')
    .option('--filewatch-poll', 'watch files by polling instead of kernel events (automatic on network, FUSE and WSL mounts)')
    .option('--build-timeout <duration>', 'kill a CmdImage build that runs longer than this, failing it with reason Timeout (Go duration: 90s, 15m, 1h)', '15m')
    .option('--cluster-kubeconfig <file>', 'kubeconfig of the dev cluster (default $KUBECONFIG or ~/.kube/config)')
    .option('--health-addr <host:port>', 'also serve /healthz, /readyz and /metrics over plain HTTP here (e.g. for probes in external mode)')
    .action(async (o, cmd: Command) => {
      const g = cmd.optsWithGlobals() as { dataDir?: string; kubeconfig?: string; context?: string };
      const log = createLogger({ format: o.logFormat as LogFormat | undefined, level: o.logLevel });
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be a port number, got ${o.port}`);
      let buildTimeoutMs: number;
      try {
        buildTimeoutMs = parseGoDuration(o.buildTimeout);
      } catch {
        throw new CliError(`--build-timeout must be a duration such as 90s or 15m, got "${o.buildTimeout}"`);
      }
      if (!(buildTimeoutMs > 0)) throw new CliError(`--build-timeout must be positive, got "${o.buildTimeout}"`);
      const filewatchQuietMs = Number(o.filewatchQuietMs);
      if (!(filewatchQuietMs >= 0)) throw new CliError(`--filewatch-quiet-ms must be a number of milliseconds, got "${o.filewatchQuietMs}"`);
      const daemon = await startDaemon({
        dataDir: dataDir(g.dataDir),
        host: o.host,
        port,
        storage: o.storage,
        log,
        kubeconfig: g.kubeconfig,
        context: g.context,
        filewatchQuietMs,
        filewatchPoll: !!o.filewatchPoll,
        buildTimeoutMs,
        clusterKubeconfig: o.clusterKubeconfig,
        healthAddr: o.healthAddr,
        cwd: process.cwd(),
        version: ferryVersion,
      });
      if (daemon.api) {
        out(`ferry ${ferryVersion} is serving at ${daemon.api.urls.join(', ')}\nkubeconfig: ${daemon.kubeconfigPath}\n  kubectl --kubeconfig ${daemon.kubeconfigPath} get liveupdates`);
        if (daemon.api.exposed) {
          process.stderr.write(`\nWARNING: ferry is listening beyond this machine (--host ${o.host}): ${exposureWarning}.\n\n`);
        }
      }
      else out(`ferry ${ferryVersion} is running its controllers against ${daemon.kubeConfig.getCurrentCluster()?.server}`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info('Signal received', { signal });
          daemon.stop().then(resolve, (err) => {
            log.error('Stop failed', { error: String(err) });
            resolve();
          });
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
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
      const manifests = readManifests(o.filename);
      const client = connect(clientOptions(cmd));
      let failed = 0;
      for (const m of manifests) {
        try {
          out(await applyOne(client, m, { serverSide: o.serverSide, fieldManager: o.fieldManager, dryRun: o.dryRun }));
        } catch (err) {
          failed++;
          process.stderr.write(`${explain(err)} (${m.source}: ${m.object.kind}/${m.object.metadata?.name})\n`);
        }
      }
      client.close();
      if (failed) throw new CliError('', 1);
    });

  program
    .command('get')
    .description('list objects of a kind, or show one')
    .argument('<kind>', 'kind: plural, singular or short name (liveupdates, lu, fw, ...)')
    .argument('[name]', 'object name')
    .addOption(new Option('-o, --output <format>', 'output format').choices([...outputFormats]))
    .option('-w, --watch', 'watch for changes after listing')
    .option('-l, --selector <selector>', 'label selector')
    .action(async (kind: string, name: string | undefined, o, cmd: Command) => {
      const client = connect(clientOptions(cmd));
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
      const client = connect(clientOptions(cmd));
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
      let targets: Array<{ kind: string; name: string }>;
      if (o.filename) targets = targetsOf(readManifests(o.filename));
      else if (kind && names.length) targets = names.map((name) => ({ kind, name }));
      else throw new CliError('error: give a kind and names, or -f FILE');
      const client = connect(clientOptions(cmd));
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
    .action(async (o, cmd: Command) => {
      const g = clientOptions(cmd);
      let timeoutMs: number;
      try {
        timeoutMs = parseGoDuration(o.timeout);
      } catch {
        throw new CliError(`--timeout must be a duration such as 30s or 10m, got "${o.timeout}"`);
      }
      const code = await runCi({ files: o.filename, timeoutMs, kubeconfig: g.kubeconfig, context: g.context, keep: o.keep, cwd: process.cwd() });
      if (code !== 0) throw new CliError('', code);
    });

  program
    .command('logs')
    .description('show build output, live update actions and command output, per resource')
    .argument('[resource]', 'only this resource')
    .option('-f, --follow', 'keep printing new lines')
    .option('--since <duration>', 'only lines newer than this (30s, 5m, 1h)')
    .action(async (resource: string | undefined, o, cmd: Command) => {
      const kc = kubeConfigFor(clientOptions(cmd));
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      await streamLogs(kc, { resource, follow: o.follow, sinceMs: o.since ? parseSince(o.since) : undefined, out, signal: ac.signal });
    });

  program
    .command('trigger')
    .description('build a resource again (through the tilt-trigger-queue ConfigMap, as `tilt trigger` does)')
    .argument('<resource>')
    .action(async (resource: string, _o, cmd: Command) => {
      const client = connect(clientOptions(cmd));
      try {
        const r = await triggerResource(client, resource);
        out(r.queued ? `${resource} triggered` : `${resource} was already queued`);
      } finally {
        client.close();
      }
    });

  program
    .command('version')
    .description('print the client version and, when a daemon runs, the server version')
    .action(async (_o, cmd: Command) => {
      out(`Client Version: ${ferryVersion}`);
      try {
        const kc = kubeConfigFor(clientOptions(cmd));
        const info = await kc.makeApiClient(VersionApi).getCode();
        out(`Server Version: ${info.gitCommit.replace(/^ferry-/, '')} (Kubernetes API ${info.gitVersion}) at ${kc.getCurrentCluster()?.server}`);
      } catch (err) {
        out(`Server: ${explain(err)}`);
      }
    });

  registerDoctor(program);
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
