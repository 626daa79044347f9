/**
 * Probing a Kubernetes cluster: its version and architecture, and the local registry it
 * advertises (KEP-1755), through the shared kubeconfig resolution (KubeconfigClusters).
 */
import {
  ApiException,
  CoreV1Api,
  Observable,
  VersionApi,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import type { RegistryHosting } from '../../apis/cluster.ts';
import { KubeconfigClusters } from './clusters.ts';
import { errorText } from '../../util/errors.ts';

/** KubernetesClusterInfo is what ferry learns from a cluster reached through a kubeconfig context. */
export interface KubernetesClusterInfo {
  context: string;
  cluster: string;
  namespace: string;
  configPath: string;
  /** product guesses the distribution from the context name (kind, minikube, k3d, ...), else unknown. */
  product: string;
  /** version is the server's gitVersion, e.g. v1.29.2. */
  version: string;
  /** arch is the server's architecture, e.g. amd64. */
  arch: string;
  /** registry is the cluster's advertised local registry (KEP-1755), when it has one. */
  registry?: RegistryHosting;
}

/** KubernetesProber reaches a cluster through a kubeconfig context; it throws when it cannot. */
export interface KubernetesProber {
  probe(opts: { context?: string; namespace?: string }): Promise<KubernetesClusterInfo>;
}

/** The ConfigMap through which a cluster advertises its local registry (KEP-1755). */
export const localRegistryHosting = { namespace: 'kube-public', name: 'local-registry-hosting', key: 'localRegistryHosting.v1' } as const;

/**
 * parseLocalRegistryHosting reads the `localRegistryHosting.v1` YAML of KEP-1755. Undefined when
 * it names no host; throws when it is not YAML.
 */
export function parseLocalRegistryHosting(text: string): RegistryHosting | undefined {
  const doc = parseYaml(text) as Record<string, unknown> | null;
  if (!doc || typeof doc !== 'object') return undefined;
  const str = (k: string) => (typeof doc[k] === 'string' && doc[k] ? (doc[k] as string) : undefined);
  const host = str('host');
  if (!host) return undefined;
  const out: RegistryHosting = { host };
  const fromRuntime = str('hostFromContainerRuntime');
  const fromNetwork = str('hostFromClusterNetwork');
  const help = str('help');
  if (fromNetwork) out.hostFromClusterNetwork = fromNetwork;
  if (fromRuntime) out.hostFromContainerRuntime = fromRuntime;
  if (help) out.help = help;
  return out;
}

const products: Array<[RegExp, string]> = [
  [/^kind-/, 'kind'],
  [/^minikube/, 'minikube'],
  [/^docker-desktop$|^docker-for-desktop$/, 'docker-desktop'],
  [/^k3d-/, 'k3d'],
  [/^microk8s/, 'microk8s'],
  [/^rancher-desktop$/, 'rancher-desktop'],
  [/^colima/, 'colima'],
  [/^orbstack$/, 'orbstack'],
  [/^gke_/, 'gke'],
  [/^arn:aws:eks:/, 'eks'],
];

/** productOf guesses a cluster's product from its context name. */
export function productOf(context: string): string {
  return products.find(([re]) => re.test(context))?.[1] ?? 'unknown';
}

/** ClientNodeKubernetesProber is the KubernetesProber over @kubernetes/client-node. */
export class ClientNodeKubernetesProber implements KubernetesProber {
  private readonly clusters: KubeconfigClusters;
  private readonly timeoutMs: number;

  /**
   * clusters resolves contexts (default: a KubeconfigClusters over kubeconfigPath, which
   * defaults to KUBECONFIG or ~/.kube/config at each probe); timeoutMs (default 10,000) bounds each request.
   */
  constructor(opts: { clusters?: KubeconfigClusters; kubeconfigPath?: string; timeoutMs?: number } = {}) {
    this.clusters = opts.clusters ?? new KubeconfigClusters({ kubeconfigPath: opts.kubeconfigPath });
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async probe(opts: { context?: string; namespace?: string }): Promise<KubernetesClusterInfo> {
    const { kubeConfig: kc, context, configPath } = this.clusters.resolve({ context: opts.context });
    const ctxObj = kc.getContextObject(context)!;
    const withTimeout = timeoutOptions(this.timeoutMs);

    let code;
    try {
      code = await kc.makeApiClient(VersionApi).getCode(withTimeout());
    } catch (err) {
      throw new Error(`reading the version of cluster ${ctxObj.cluster} (context ${context}): ${proberErrorText(err)}`, { cause: err });
    }
    const platform = code.platform ?? '';
    const arch = platform.includes('/') ? platform.split('/')[1] : '';

    let registry: RegistryHosting | undefined;
    try {
      const cm = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap(
        { name: localRegistryHosting.name, namespace: localRegistryHosting.namespace },
        withTimeout(),
      );
      const text = cm.data?.[localRegistryHosting.key];
      if (text) registry = parseLocalRegistryHosting(text);
    } catch (err) {
      if (!(err instanceof ApiException && (err.code === 404 || err.code === 403))) {
        throw new Error(`reading ${localRegistryHosting.namespace}/${localRegistryHosting.name}: ${proberErrorText(err)}`, { cause: err });
      }
    }

    return {
      context,
      cluster: ctxObj.cluster,
      namespace: opts.namespace || ctxObj.namespace || 'default',
      configPath,
      product: productOf(context),
      version: code.gitVersion,
      arch,
      registry,
    };
  }
}

function timeoutOptions(ms: number) {
  return () => ({
    middleware: [
      {
        pre: (ctx: RequestContext) => {
          ctx.setSignal(AbortSignal.timeout(ms));
          return new Observable(Promise.resolve(ctx));
        },
        post: (rsp: ResponseContext) => new Observable(Promise.resolve(rsp)),
      },
    ],
    middlewareMergeStrategy: 'append' as const,
  });
}

function proberErrorText(err: unknown): string {
  if (err instanceof ApiException) return `the server answered ${err.code}`;
  return errorText(err);
}
