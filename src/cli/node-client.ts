/**
 * kubeConfigFor: the client-node KubeConfig of the daemon (or of --kubeconfig), for the commands
 * that run controllers or need client-node (`ferry ci`). Client commands use context.ts's light
 * client instead.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../client/kubeconfig.ts';
import { kubeconfigFileFor, type ConnectOptions } from './context.ts';

export function kubeConfigFor(opts: ConnectOptions): KubeConfig {
  return loadKubeConfig(kubeconfigFileFor(opts), opts.context);
}
