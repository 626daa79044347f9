/**
 * How client commands find the daemon: the kubeconfig the daemon wrote into its data
 * directory (or one given with --kubeconfig), with a plain message when none is running.
 * This module is loaded by every command, so it loads nothing heavy: the CLI's client is
 * plain node:https (src/client/http.ts), not @kubernetes/client-node.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiError } from '../client/errors.ts';
import type { ClientConfig } from '../client/config.ts';
import type { CliClient } from '../client/http.ts';

/** CliError is a failure to report to the user as is, without a stack. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** dataDir is --data-dir, else $FERRY_DATA_DIR, else ~/.ferry. */
export function dataDir(flag?: string): string {
  return path.resolve(flag || process.env.FERRY_DATA_DIR || path.join(os.homedir(), '.ferry'));
}

/** ConnectOptions are the global flags that say which server a client command talks to. */
export interface ConnectOptions {
  dataDir?: string;
  kubeconfig?: string;
  context?: string;
}

/** daemonKubeconfigPath is the kubeconfig the daemon of a data directory writes. */
export function daemonKubeconfigPath(opts: ConnectOptions): string {
  return path.join(dataDir(opts.dataDir), 'kubeconfig');
}

/** kubeconfigFileFor is --kubeconfig, else the daemon's kubeconfig, which must exist. */
export function kubeconfigFileFor(opts: ConnectOptions): string {
  if (opts.kubeconfig) return opts.kubeconfig;
  const file = daemonKubeconfigPath(opts);
  if (!fs.existsSync(file)) {
    throw new CliError(`ferry is not running: no kubeconfig at ${file}. Start it with \`ferry serve\`${opts.dataDir ? ` --data-dir ${opts.dataDir}` : ''}.`);
  }
  return file;
}

/** clientConfigFor reads the server address and credentials a client command uses. */
export async function loadClientConfig(opts: ConnectOptions): Promise<ClientConfig> {
  const { ClientConfig } = await import('../client/config.ts');
  const file = kubeconfigFileFor(opts);
  try {
    return ClientConfig.load(file, opts.context);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** connect opens a client to the daemon (or to the server of --kubeconfig). */
export async function connect(opts: ConnectOptions): Promise<CliClient> {
  const [config, { HttpClient }] = await Promise.all([loadClientConfig(opts), import('../client/http.ts')]);
  return new HttpClient(config);
}

/** explain turns an error from the API or the network into a message for the user. */
export function explain(err: unknown, server?: string): string {
  if (err instanceof CliError) return err.message;
  if (err instanceof ApiError) return `Error from server (${err.reason}): ${err.message}`;
  const code = (err as NodeJS.ErrnoException)?.code ?? (err as { cause?: NodeJS.ErrnoException })?.cause?.code;
  const text = String((err as Error)?.message ?? err);
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(text)) {
    const address = server ?? /ECONNREFUSED (\S+)/.exec(text)?.[1];
    return `ferry is not running${address ? ` at ${address}` : ''} (connection refused). Start it with \`ferry serve\`.`;
  }
  return text;
}
