import { KubeConfig } from '@kubernetes/client-node';

/**
 * loadKubeConfig reads a kubeconfig file and selects `context` (default: the file's
 * current-context). Throws when the context does not exist or has no cluster.
 */
export function loadKubeConfig(file: string, context?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  if (context) {
    if (!kc.getContextObject(context)) throw new Error(`kubeconfig ${file} has no context ${JSON.stringify(context)}`);
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${file}: context ${JSON.stringify(kc.getCurrentContext())} has no cluster`);
  return kc;
}
