/**
 * The dev cluster side of `ferry ci`. What a run applies without a namespace goes to a namespace
 * of its own (`ferry-ci-<id>`, or `--namespace`), through the `spec.connection.kubernetes.namespace`
 * of Cluster `default`, so a run beside a dev daemon never applies over the dev objects. The
 * namespace is created for the run and deleted at its end (with what is left in it) when the run
 * created it. Objects that name their own namespace, and cluster-scoped ones, that exist before
 * the run are applied with Tilt's `tilt.dev/down-policy: keep`: the run's cleanup leaves them, so
 * ci deletes only what it created.
 */
import type { Cluster } from '../apis/cluster.ts';
import type { KubernetesApply } from '../apis/kubernetesapply.ts';
import type { FerryClient } from '../client/client.ts';
import { ClientNodeObjects, kubernetesErrorText, type KubeconfigClusters, type KubeResource, type ObjectRef } from '../adapters/kubernetes/index.ts';
import type { Cache } from '../runtime/cache.ts';
import { downPolicyAnnotation, parseYamlObjects, serializeObjects } from '../../controllers/kubernetesapply/plan.ts';
import type { Manifest } from './manifests.ts';

/** ciClusterName is the Cluster whose namespace a run sets: the one KubernetesApply uses by default. */
const ciClusterName = 'default';

/** requestTimeoutMs bounds each request ci makes to the dev cluster. */
const requestTimeoutMs = 15_000;

/** CiNamespaceDeps are what the run's namespace needs of the run. */
export interface CiNamespaceDeps {
  /** client reaches the run's own daemon. */
  client: FerryClient;
  /** cache is the daemon's: the Cluster's namespace must be in it before anything is applied. */
  cache: Cache;
  /** clusters resolves Cluster `default` as the daemon does. */
  clusters: KubeconfigClusters;
  out: (line: string) => void;
}

/**
 * CiNamespace is a run's namespace in the dev cluster. `prepare` sets it up before the
 * manifests are applied; `cleanup` removes it once the run's objects are deleted.
 */
export class CiNamespace {
  /** name of the namespace; empty until prepare finds a Kubernetes cluster to use. */
  name = '';
  /** created says whether this run created the namespace (and so deletes it). */
  created = false;
  /** kept are the objects that existed before the run, which it leaves in place (`Deployment default/web`). */
  readonly kept: string[] = [];
  private objects?: ClientNodeObjects;

  constructor(private readonly deps: CiNamespaceDeps) {}

  /**
   * prepare does nothing when no manifest is a KubernetesApply to Cluster `default`, or when
   * there is no such Cluster with a Kubernetes connection. Otherwise it creates the namespace
   * (unless it exists), makes it the Cluster's, waits until the daemon sees that, and marks the
   * objects that already exist outside it to be kept (in the manifests, before they are
   * applied). Throws an Error saying what failed.
   */
  async prepare(manifests: Manifest[], opts: { namespace?: string; id: string }): Promise<void> {
    const { client, out } = this.deps;
    const applies: KubernetesApply[] = [];
    for (const m of manifests) {
      if (m.object.kind !== 'KubernetesApply') continue;
      const ka = m.object as KubernetesApply;
      const other = ka.spec?.cluster && ka.spec.cluster !== ciClusterName ? ka.spec.cluster : undefined;
      if (other) out(`note: KubernetesApply ${ka.metadata.name} applies to Cluster ${other}, which keeps its own namespace`);
      else applies.push(ka);
    }
    if (applies.length === 0) return;
    const fromManifest = manifests.find((m) => m.object.kind === 'Cluster' && m.object.metadata.name === ciClusterName)?.object as Cluster | undefined;
    const live = await client.get<Cluster>('Cluster', ciClusterName);
    const cluster = fromManifest ?? live;
    if (!cluster?.spec?.connection?.kubernetes) return;
    let objects: ClientNodeObjects;
    try {
      objects = this.objects = new ClientNodeObjects(this.deps.clusters.forCluster(cluster).kubeConfig);
    } catch (err) {
      throw new Error(`reaching Cluster ${ciClusterName}: ${kubernetesErrorText(err)}`, { cause: err });
    }

    const name = (this.name = opts.namespace || `ferry-ci-${opts.id}`);
    const ref: ObjectRef = { apiVersion: 'v1', kind: 'Namespace', name };
    try {
      if (!(await objects.read(ref, { signal: timeout() }))) {
        await objects.apply(
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'ferry' } } },
          { serverSideApply: false, fieldManager: 'ferry', signal: timeout() },
        );
        this.created = true;
        out(`namespace/${name} created`);
      }
    } catch (err) {
      const forbidden = (err as { code?: unknown }).code === 403;
      const hint = forbidden && !opts.namespace ? ' (name one you may use with --namespace)' : '';
      throw new Error(`creating namespace ${name} in the dev cluster: ${kubernetesErrorText(err)}${hint}`, { cause: err });
    }

    if (fromManifest) fromManifest.spec!.connection!.kubernetes!.namespace = name;
    if (live) {
      await client.patch('Cluster', ciClusterName, { spec: { connection: { kubernetes: { namespace: name } } } });
      await this.daemonSees(name);
    }

    for (const ka of applies) {
      if (ka.spec?.yaml) await this.keepExisting(ka);
      else if (ka.spec?.applyCmd) out(`note: KubernetesApply ${ka.metadata.name} applies with its own command, which chooses its namespace`);
    }
  }

  /**
   * keepExisting marks the objects of the apply's YAML that exist already (outside a namespace
   * this run created) with `tilt.dev/down-policy: keep`. YAML that does not parse is left for the
   * daemon to report.
   */
  private async keepExisting(ka: KubernetesApply): Promise<void> {
    let docs: KubeResource[];
    try {
      docs = parseYamlObjects(ka.spec!.yaml!);
    } catch {
      return;
    }
    let marked = false;
    for (const obj of docs) {
      const ref = await this.placed(obj);
      if (!ref) continue;
      let existing;
      try {
        existing = await this.objects!.read(ref, { signal: timeout() });
      } catch (err) {
        throw new Error(`reading ${ref.kind} ${describe(ref)} in the dev cluster: ${kubernetesErrorText(err)}`, { cause: err });
      }
      if (!existing) continue;
      obj.metadata = { ...obj.metadata, annotations: { ...obj.metadata?.annotations, [downPolicyAnnotation]: 'keep' } };
      this.kept.push(`${ref.kind} ${describe(ref)}`);
      marked = true;
    }
    if (marked) ka.spec!.yaml = serializeObjects(docs);
  }

  /**
   * placed is where obj will be applied, or undefined when it cannot exist yet: a kind the
   * server does not serve, or a namespaced object without a namespace going to the namespace
   * this run created.
   */
  private async placed(obj: KubeResource): Promise<ObjectRef | undefined> {
    const apiVersion = obj.apiVersion ?? '';
    const kind = obj.kind ?? '';
    let namespaced;
    try {
      namespaced = await this.objects!.namespaced(apiVersion, kind, { signal: timeout() });
    } catch (err) {
      throw new Error(`looking up ${kind} (${apiVersion}) in the dev cluster: ${kubernetesErrorText(err)}`, { cause: err });
    }
    if (namespaced === undefined) return undefined;
    const own = obj.metadata?.namespace;
    if (namespaced && !own && this.created) return undefined;
    return { apiVersion, kind, name: obj.metadata?.name ?? '', ...(namespaced ? { namespace: own || this.name } : {}) };
  }

  /** daemonSees waits until the daemon's cache has the Cluster in the namespace, so no apply goes elsewhere. */
  private async daemonSees(name: string): Promise<void> {
    const until = Date.now() + 30_000;
    while (this.deps.cache.get<Cluster>('Cluster', ciClusterName)?.spec?.connection?.kubernetes?.namespace !== name) {
      if (Date.now() > until) throw new Error(`the daemon did not see namespace ${name} on Cluster ${ciClusterName} within 30s`);
      await sleep(20);
    }
  }

  /**
   * cleanup runs once the run's objects are deleted: it deletes the namespace when the run
   * created it (unless keep) and waits until it is gone, at most timeoutMs, and says which
   * objects it left in place. It reports failures as lines and never throws.
   */
  async cleanup(opts: { keep: boolean; timeoutMs: number }): Promise<void> {
    const { out } = this.deps;
    if (this.created && opts.keep) {
      out(`Kept namespace ${this.name} (--keep): delete it with kubectl delete namespace ${this.name}`);
    } else if (this.created) {
      const ref: ObjectRef = { apiVersion: 'v1', kind: 'Namespace', name: this.name };
      try {
        await this.objects!.delete(ref, { signal: timeout() });
        const until = Date.now() + opts.timeoutMs;
        for (;;) {
          if (!(await this.objects!.read(ref, { signal: timeout() }))) {
            out(`namespace/${this.name} deleted`);
            break;
          }
          if (Date.now() > until) {
            out(`warning: namespace ${this.name} is still being deleted after ${Math.round(opts.timeoutMs / 1000)}s; see kubectl get namespace ${this.name}`);
            break;
          }
          await sleep(200);
        }
      } catch (err) {
        out(`warning: could not delete namespace ${this.name}: ${kubernetesErrorText(err)}`);
      }
    }
    if (this.kept.length && !opts.keep) out(`Left in place, as they existed before this run: ${this.kept.join(', ')}`);
  }
}

function describe(ref: ObjectRef): string {
  return ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
}

function timeout(): AbortSignal {
  return AbortSignal.timeout(requestTimeoutMs);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
