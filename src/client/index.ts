/** The client: how the runtime and the reconcilers reach the tilt.dev/v1alpha1 API, over HTTP only. */
export {
  FerryClient,
  resourceFor,
  type Client,
  type DeleteOptions,
  type ListOptions,
  type Resource,
  type WatchEvent,
  type WatchEventType,
  type WatchHandle,
  type WatchOptions,
} from './client.ts';
export { ApiError, isAlreadyExists, isConflict, isGone, isNotFound, statusReasons, toApiError, type StatusReason } from './errors.ts';
export { loadKubeConfig } from './kubeconfig.ts';
