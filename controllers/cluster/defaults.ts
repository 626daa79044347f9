import type { Cluster } from '../../src/apis/cluster.ts';
import { apiVersion } from '../../src/apis/meta.ts';
import type { Client } from '../../src/client/client.ts';
import { isAlreadyExists } from '../../src/client/errors.ts';

/** The names of the Clusters ferry creates on start. */
export const defaultClusterNames = { docker: 'docker', kubernetes: 'default' } as const;

/**
 * ensureDefaultClusters creates Cluster `docker` (the local Docker Engine) and, when kubeContext
 * is given, Cluster `default` (that kubeconfig context), unless they exist. Existing ones are left
 * as they are. Resolves with the names it created.
 */
export async function ensureDefaultClusters(client: Client, opts: { kubeContext?: string } = {}): Promise<string[]> {
  const wanted: Cluster[] = [
    { apiVersion, kind: 'Cluster', metadata: { name: defaultClusterNames.docker }, spec: { connection: { docker: {} } } },
  ];
  if (opts.kubeContext) {
    wanted.push({
      apiVersion,
      kind: 'Cluster',
      metadata: { name: defaultClusterNames.kubernetes },
      spec: { connection: { kubernetes: { context: opts.kubeContext } } },
    });
  }
  const created: string[] = [];
  for (const obj of wanted) {
    const name = obj.metadata.name!;
    if (await client.get('Cluster', name)) continue;
    try {
      await client.create(obj);
      created.push(name);
    } catch (err) {
      if (!isAlreadyExists(err)) throw new Error(`creating Cluster ${name}`, { cause: err });
    }
  }
  return created;
}
