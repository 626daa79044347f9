import { defineKind } from './kind.ts';
import { Obj, Opt, Str, MicroTime, type Static } from './schema.ts';
import type { KubeObject } from './meta.ts';

export const RegistryHosting = Obj('RegistryHosting describes a local image registry that a cluster can use (KEP-1755 LocalRegistryHostingV1).', {
  host: Str('Host documents the host (hostname and port) of the registry, as seen from outside the cluster.'),
  hostFromClusterNetwork: Opt(Str('HostFromClusterNetwork documents the host (hostname and port) of the registry, as seen from networking inside the container pods.')),
  hostFromContainerRuntime: Opt(Str('HostFromContainerRuntime documents the host (hostname and port) of the registry, as seen from the cluster container runtime.')),
  help: Opt(Str('Help contains a URL pointing to documentation for users on how to set up and configure a local registry.')),
  singleName: Opt(Str('SingleName is a registry that only allows one image name: every image is pushed under this name, with the original name folded into the tag.')),
});
export type RegistryHosting = Static<typeof RegistryHosting>;

export const ClusterConnection = Obj('Connection spec for an existing cluster.', {
  kubernetes: Opt(Obj('Connects to a Kubernetes cluster.', {
    context: Opt(Str('The context name in the kubeconfig to connect to. If not specified, the current context is used.')),
    namespace: Opt(Str('The default namespace to use.')),
  })),
  docker: Opt(Obj('Connects to a Docker Engine (for Docker Compose).', {
    host: Opt(Str('The docker host to use, e.g. unix:///var/run/docker.sock. If not specified, DOCKER_HOST or the default socket is used.')),
  })),
});

export const ClusterSpec = Obj('ClusterSpec defines how to find the cluster we are running services on.', {
  connection: Opt(ClusterConnection),
  defaultRegistry: Opt({ ...RegistryHosting, description: 'The image registry to push to when the cluster does not advertise one.' }),
});
export type ClusterSpec = Static<typeof ClusterSpec>;

export const ClusterStatus = Obj('ClusterStatus defines the observed state of Cluster', {
  error: Opt(Str('An unrecoverable error connecting to the cluster.')),
  arch: Opt(Str('The preferred chip architecture of the cluster (e.g. amd64).')),
  version: Opt(Str('The version of the cluster or container engine.')),
  connectedAt: Opt(MicroTime('When we last connected successfully.')),
  registry: Opt({ ...RegistryHosting, description: 'The local registry that the cluster advertises or that the spec names.' }),
  connection: Opt(Obj('Connection status for an existing cluster.', {
    kubernetes: Opt(Obj('Kubernetes connection status.', {
      product: Opt(Str('The product name for this cluster (e.g. kind, minikube).')),
      context: Opt(Str('The context name used to connect.')),
      namespace: Opt(Str('The default namespace.')),
      cluster: Opt(Str('The cluster name in the kubeconfig.')),
      configPath: Opt(Str('The kubeconfig file used.')),
    })),
    docker: Opt(Obj('Docker connection status.', {
      host: Opt(Str('The docker host connected to.')),
    })),
  })),
});
export type ClusterStatus = Static<typeof ClusterStatus>;

export type Cluster = KubeObject<ClusterSpec, ClusterStatus>;

export const clusterKind = defineKind({
  kind: 'Cluster',
  plural: 'clusters',
  singular: 'cluster',
  shortNames: [],
  description: 'Cluster defines any runtime for running containers, in the broadest sense of the word "runtime": a Docker Engine or a Kubernetes cluster.',
  hasStatus: true,
  fields: { spec: ClusterSpec, status: Opt(ClusterStatus) },
  requiredFields: [],
  columns: [
    { name: 'Type', type: 'string', jsonPath: '.spec.connection', description: 'docker or kubernetes', value: (o) => Object.keys((o.spec as ClusterSpec)?.connection ?? {})[0] ?? '' },
    { name: 'Registry', type: 'string', jsonPath: '.status.registry.host', description: 'Registry images are pushed to' },
    { name: 'Error', type: 'string', jsonPath: '.status.error', description: 'Connection error' },
  ],
});
