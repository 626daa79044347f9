/**
 * How client commands find the daemon: the kubeconfig the daemon wrote into its data
 * directory (or one given with --kubeconfig), with a plain message when none is running.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { FerryClient } from '../client/client.ts';
import { loadKubeConfig } from '../client/kubeconfig.ts';
import { ApiError } from '../client/errors.ts';

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

export interface ConnectOptions {
  dataDir?: string;
  kubeconfig?: string;
  context?: string;
}

export function kubeConfigFor(opts: ConnectOptions): KubeConfig {
  if (opts.kubeconfig) return loadKubeConfig(opts.kubeconfig, opts.context);
  const file = path.join(dataDir(opts.dataDir), 'kubeconfig');
  if (!fs.existsSync(file)) {
    throw new CliError(`ferry is not running: no kubeconfig at ${file}. Start it with \`ferry serve\`${opts.dataDir ? ` --data-dir ${opts.dataDir}` : ''}.`);
  }
  return loadKubeConfig(file, opts.context);
}

export function connect(opts: ConnectOptions): FerryClient {
  return new FerryClient(kubeConfigFor(opts));
}

/** explain turns an error from the API or the network into a message for the user. */
export function explain(err: unknown, server?: string): string {
  if (err instanceof CliError) return err.message;
  if (err instanceof ApiError) return `Error from server (${err.reason}): ${err.message}`;
  const code = (err as NodeJS.ErrnoException)?.code ?? (err as { cause?: NodeJS.ErrnoException })?.cause?.code;
  const text = String((err as Error)?.message ?? err);
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(text)) {
    return `ferry is not running${server ? ` at ${server}` : ''} (connection refused). Start it with \`ferry serve\`.`;
  }
  return text;
}
