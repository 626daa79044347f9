/**
 * `ferry kubeconfig`: prints the daemon's kubeconfig (or its path), or merges a `ferry` cluster,
 * user and context into the user's own kubeconfig so that `kubectl --context ferry` reaches the
 * daemon. The daemon keeps its port, CA and token across restarts, so a merged context stays valid.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { parseKubeconfig, type KubeconfigDoc } from '../client/config.ts';
import { CliError, kubeconfigFileFor, type ConnectOptions } from './context.ts';

/** contextName is the name of the cluster, user and context ferry adds to a kubeconfig. */
export const contextName = 'ferry';

export interface KubeconfigCommandOptions {
  merge?: boolean;
  /** target is the kubeconfig to merge into. Default: userKubeconfigPath(). */
  target?: string;
  /** use makes the ferry context the current one. */
  use?: boolean;
  pathOnly?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** userKubeconfigPath is the kubeconfig kubectl writes to: the first file of $KUBECONFIG, else ~/.kube/config. */
export function userKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const first = (env.KUBECONFIG ?? '').split(path.delimiter).find((p) => p.trim() !== '');
  return first ? path.resolve(first) : path.join(env.HOME || os.homedir(), '.kube', 'config');
}

/** kubeconfigCommand runs `ferry kubeconfig`. */
export async function kubeconfigCommand(conn: ConnectOptions, o: KubeconfigCommandOptions, out: (line: string) => void): Promise<void> {
  if (conn.kubeconfig) throw new CliError('ferry kubeconfig works with the local daemon\'s kubeconfig; --kubeconfig is already a kubeconfig');
  if (!o.merge && (o.target || o.use)) throw new CliError('--kubeconfig-path and --use go with --merge');
  const source = kubeconfigFileFor(conn);
  if (o.pathOnly) return out(source);
  if (!o.merge) return out(fs.readFileSync(source, 'utf8').trimEnd());
  const target = o.target ? path.resolve(o.target) : userKubeconfigPath(o.env);
  const r = mergeKubeconfig(source, target, { use: o.use });
  out(`${r.added ? 'Added' : 'Updated'} context "${contextName}" in ${target}${r.currentContext === contextName ? ' (now the current context)' : r.currentContext ? ` (current context still "${r.currentContext}")` : ''}`);
  out(`  kubectl --context ${contextName} get filewatches`);
}

/** MergeResult says what mergeKubeconfig changed. */
export interface MergeResult {
  /** added is false when the ferry entries were already there (and were updated). */
  added: boolean;
  currentContext?: string;
}

/**
 * mergeKubeconfig adds (or replaces) the `ferry` cluster, user and context of the daemon's
 * kubeconfig `source` in `target`, keeping every other entry and setting, and the current
 * context unless `use`. The target is written whole or not at all: a temporary file, mode 0600,
 * renamed over it. A target that is not a kubeconfig is left alone with an error.
 */
export function mergeKubeconfig(source: string, target: string, opts: { use?: boolean } = {}): MergeResult {
  let daemon: KubeconfigDoc;
  try {
    daemon = parseKubeconfig(fs.readFileSync(source, 'utf8'), source);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const ctx = daemon.contexts?.find((c) => c.name === daemon['current-context'])?.context;
  const cluster = daemon.clusters?.find((c) => c.name === ctx?.cluster)?.cluster;
  const user = daemon.users?.find((u) => u.name === ctx?.user)?.user;
  if (!cluster || !user) throw new CliError(`${source} is not a kubeconfig ferry wrote: it has no current cluster and user`);

  // Follow a symbolic link, so the file it points to is replaced rather than the link.
  const real = fs.existsSync(target) ? fs.realpathSync(target) : target;
  let doc: KubeconfigDoc;
  try {
    doc = fs.existsSync(real) ? parseKubeconfig(fs.readFileSync(real, 'utf8'), target) : {};
  } catch (err) {
    throw new CliError(`${(err as Error).message}; it was left unchanged`);
  }
  doc.apiVersion ??= 'v1';
  doc.kind ??= 'Config';
  const upsert = <T extends { name: string }>(list: T[] | undefined, entry: T): [T[], boolean] => {
    const items = [...(list ?? [])];
    const i = items.findIndex((e) => e.name === entry.name);
    if (i >= 0) items[i] = entry;
    else items.push(entry);
    return [items, i < 0];
  };
  let added: boolean;
  [doc.clusters] = upsert(doc.clusters, { name: contextName, cluster });
  [doc.users] = upsert(doc.users, { name: contextName, user });
  [doc.contexts, added] = upsert(doc.contexts, { name: contextName, context: { cluster: contextName, user: contextName } });
  if (opts.use) doc['current-context'] = contextName;
  writeAtomically(real, YAML.stringify(doc));
  return { added, currentContext: doc['current-context'] };
}

/** writeAtomically replaces file with text through a temporary file in the same folder (mode 0600) and a rename. */
export function writeAtomically(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, text, { mode: 0o600 });
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

