/**
 * What the Cluster kind needs of a Kubernetes cluster: a probe through a kubeconfig context.
 * The prober and the kubeconfig resolution live in src/adapters/kubernetes; the wiring builds them.
 */
import { KubeconfigClusters } from '../../src/adapters/kubernetes/index.ts';

export {
  ClientNodeKubernetesProber,
  localRegistryHosting,
  parseLocalRegistryHosting,
  productOf,
  type KubernetesClusterInfo,
  type KubernetesProber,
} from '../../src/adapters/kubernetes/index.ts';

/**
 * defaultKubeconfigPath is the kubeconfig kubectl would use: the first existing file of
 * KUBECONFIG, else ~/.kube/config when it exists, else undefined.
 */
export function defaultKubeconfigPath(): string | undefined {
  return new KubeconfigClusters().defaultConfigPath();
}

/** currentKubeContext is the current context of a kubeconfig (default: defaultKubeconfigPath()), or undefined when there is none. */
export function currentKubeContext(kubeconfigPath?: string): string | undefined {
  return new KubeconfigClusters({ kubeconfigPath }).currentContext();
}
