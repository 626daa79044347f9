/**
 * Applying and deleting arbitrary Kubernetes objects in a development cluster, over
 * client-node's KubernetesObjectApi (which finds each kind's resource through discovery):
 * server-side apply, or an apply a kubectl user would recognise (create with the
 * `last-applied-configuration` annotation, else a merge patch that also removes what the last
 * apply set and this one no longer does).
 */
import {
  ApiException,
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  createConfiguration,
  type KubeConfig,
  type KubernetesObject,
  type RequestContext,
  type ResponseContext,
  type V1APIResource,
  type V1APIResourceList,
} from '@kubernetes/client-node';
import jsonMergePatch from 'json-merge-patch';
import { errorText } from '../../util/errors.ts';

/** lastAppliedAnnotation holds the configuration a client-side apply last sent, as kubectl keeps it. */
export const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

/** KubeResource is any Kubernetes object, as plain JSON. */
export interface KubeResource {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** ObjectRef names one object in a cluster. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  /** namespace is empty for cluster-scoped objects (and for namespaced ones: the context's default). */
  namespace?: string;
}

/** ApplyOptions say how to apply. */
export interface ApplyOptions {
  /** serverSideApply applies on the server with fieldManager, forcing conflicts; else a client-side apply. */
  serverSideApply: boolean;
  /** fieldManager names ferry in managedFields. */
  fieldManager: string;
  /** signal aborts the requests in flight. */
  signal?: AbortSignal;
}

/** KubernetesObjects applies and deletes objects in one cluster. */
export interface KubernetesObjects {
  /** apply creates or updates obj and returns it as the server stored it (with its uid). */
  apply(obj: KubeResource, opts: ApplyOptions): Promise<KubeResource>;
  /**
   * delete deletes ref with background propagation (its dependents go too); an object that is
   * already gone is no error.
   */
  delete(ref: ObjectRef, opts?: { signal?: AbortSignal }): Promise<void>;
}

/**
 * ClientNodeObjects is KubernetesObjects over client-node's KubernetesObjectApi, for one
 * cluster's KubeConfig. Objects come back as the server's JSON, not client-node's typed models
 * (which would drop fields they do not know and turn timestamps into Dates).
 */
export class ClientNodeObjects implements KubernetesObjects {
  /**
   * discovery is the API resource lists found so far, by apiVersion, shared by the requests
   * of this object (each call has its own RawObjectApi, for its abort signal).
   */
  private readonly discovery: Record<string, V1APIResourceList> = {};

  constructor(private readonly kubeConfig: KubeConfig) {}

  async apply(obj: KubeResource, opts: ApplyOptions): Promise<KubeResource> {
    const api = new RawObjectApi(this.kubeConfig, opts.signal, this.discovery);
    const spec = obj as KubernetesObject;
    if (opts.serverSideApply) {
      return (await api.patch(spec, undefined, undefined, opts.fieldManager, true, PatchStrategy.ServerSideApply)) as KubeResource;
    }
    const config = withLastApplied(obj);
    let live: KubeResource | undefined;
    try {
      live = (await api.read(header(obj))) as KubeResource;
    } catch (err) {
      if (!isNotFoundError(err)) throw err;
    }
    if (!live) {
      try {
        return (await api.create(config as KubernetesObject, undefined, undefined, opts.fieldManager)) as KubeResource;
      } catch (err) {
        // Created meanwhile by someone else: patch it as an existing object.
        if (!(err instanceof ApiException && err.code === 409)) throw err;
      }
    }
    const patch = clientSideApplyPatch(lastApplied(live), config);
    const target = { ...patch, apiVersion: obj.apiVersion, kind: obj.kind, metadata: { ...(patch.metadata as object), name: obj.metadata?.name, namespace: obj.metadata?.namespace } };
    return (await api.patch(target as KubernetesObject, undefined, undefined, opts.fieldManager, undefined, PatchStrategy.MergePatch)) as KubeResource;
  }

  /** read is the object ref names as the server has it, or undefined when there is none. */
  async read(ref: ObjectRef, opts: { signal?: AbortSignal } = {}): Promise<KubeResource | undefined> {
    const api = new RawObjectApi(this.kubeConfig, opts.signal, this.discovery);
    try {
      return (await api.read(header({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } }))) as KubeResource;
    } catch (err) {
      if (isNotFoundError(err)) return undefined;
      throw err;
    }
  }

  /** namespaced says whether objects of a kind live in namespaces; undefined when the server does not serve the kind. */
  async namespaced(apiVersion: string, kind: string, opts: { signal?: AbortSignal } = {}): Promise<boolean | undefined> {
    try {
      return (await new RawObjectApi(this.kubeConfig, opts.signal, this.discovery).resourceOf(apiVersion, kind))?.namespaced;
    } catch (err) {
      if (isNotFoundError(err)) return undefined;
      throw err;
    }
  }

  async delete(ref: ObjectRef, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const api = new RawObjectApi(this.kubeConfig, opts.signal, this.discovery);
    const spec = { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } };
    try {
      await api.delete(spec, undefined, undefined, undefined, undefined, 'Background');
    } catch (err) {
      if (!isNotFoundError(err)) throw err;
    }
  }
}

/**
 * RawObjectApi is a KubernetesObjectApi whose requests abort with signal and whose answers stay
 * plain JSON. client-node applies middleware from the instance's configuration only (a per-call
 * configuration does not reach it), so the signal needs an instance per call; the discovery
 * cache they share keeps that from costing a discovery request per call.
 */
class RawObjectApi extends KubernetesObjectApi {
  constructor(kc: KubeConfig, signal: AbortSignal | undefined, discovery: Record<string, V1APIResourceList>) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig context has no cluster');
    super(
      createConfiguration({
        baseServer: new ServerConfiguration(cluster.server, {}),
        authMethods: { default: kc },
        promiseMiddleware: signal
          ? [
              {
                pre: async (ctx: RequestContext) => {
                  ctx.setSignal(signal);
                  return ctx;
                },
                post: async (rsp: ResponseContext) => rsp,
              },
            ]
          : [],
      }),
    );
    this.setDefaultNamespace(kc);
    this.apiVersionResourceCache = discovery;
  }

  /** resourceOf is the API resource serving kind in apiVersion (found through discovery), or undefined. */
  resourceOf(apiVersion: string, kind: string): Promise<V1APIResource | undefined> {
    return this.resource(apiVersion, kind);
  }

  protected override async processResponse<T extends KubernetesObject>(response: ResponseContext, type?: string): Promise<T> {
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return JSON.parse(await response.body.text()) as T;
    return super.processResponse<T>(response, type);
  }
}

/** withLastApplied is obj with the last-applied annotation set to obj itself (without that annotation). */
export function withLastApplied(obj: KubeResource): KubeResource {
  const copy = structuredClone(obj);
  const annotations = { ...(copy.metadata?.annotations ?? {}) };
  delete annotations[lastAppliedAnnotation];
  const plain: KubeResource = { ...copy, metadata: { ...copy.metadata, annotations } };
  if (Object.keys(annotations).length === 0) delete plain.metadata!.annotations;
  return { ...copy, metadata: { ...copy.metadata, annotations: { ...annotations, [lastAppliedAnnotation]: JSON.stringify(plain) } } };
}

/** lastApplied is the configuration an object's last client-side apply sent, when it has one. */
export function lastApplied(live: KubeResource | undefined): KubeResource | undefined {
  const text = live?.metadata?.annotations?.[lastAppliedAnnotation];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as KubeResource;
  } catch {
    return undefined;
  }
}

/**
 * clientSideApplyPatch is the merge patch (RFC 7386) of a client-side apply: every field of the
 * new configuration, and null for each field the last applied configuration had and the new one
 * has not (so what the user removed from the YAML is removed from the object, while fields set
 * by others are kept). Lists are replaced whole.
 */
export function clientSideApplyPatch(last: KubeResource | undefined, next: KubeResource): Record<string, unknown> {
  const removals = last ? (jsonMergePatch.generate(last, next) as Record<string, unknown> | undefined) ?? {} : {};
  return jsonMergePatch.merge(structuredClone(removals), structuredClone(next)) as Record<string, unknown>;
}

function header(obj: KubeResource) {
  return { apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '', metadata: { name: obj.metadata?.name ?? '', ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}) } };
}

function isNotFoundError(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

/**
 * kubernetesErrorText is what a failed request says, fit for status: the message of the
 * server's Status (`deployments.apps "web" is invalid: ...`), else the HTTP code, else the
 * error's own text.
 */
export function kubernetesErrorText(err: unknown): string {
  if (err instanceof ApiException) {
    let body: unknown = err.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        return body ? `the server answered ${err.code}: ${body}` : `the server answered ${err.code}`;
      }
    }
    const message = body && typeof body === 'object' ? (body as { message?: unknown }).message : undefined;
    return typeof message === 'string' && message ? message : `the server answered ${err.code}`;
  }
  return errorText(err);
}
