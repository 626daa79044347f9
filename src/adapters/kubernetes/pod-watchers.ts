import { CoreV1Api, KubernetesObjectApi, makeInformer, type Informer, type KubeConfig, type ObjectCache, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { Clock, TimerHandle } from '../../util/clock.ts';
import type { ClusterConnection } from './clusters.ts';

/** Waker is asked for a reconcile of a subscriber (the runtime's Wake is one). */
export interface Waker {
  enqueue(name: string): void;
}

/**
 * Pod watches per cluster connection and namespace, shared by every KubernetesDiscovery that
 * watches them: client-node informers over the pods, with restarts and backoff.
 */

/** WatchConnection is what a watch needs of a cluster connection: its client configuration, and a key that shares watches. */
type WatchConnection = Pick<ClusterConnection, 'key' | 'kubeConfig'>;

/** NamespaceState is what a namespace's pod watch knows. */
export interface NamespaceState {
  /** synced is true once the first list arrived (and since, unless the watch broke). */
  synced: boolean;
  /** error is why the watch is not running, while it is not. */
  error?: string;
  /** pods are the namespace's pods as last seen (kept while a broken watch reconnects). */
  pods: readonly V1Pod[];
}

interface NamespaceWatch {
  connection: WatchConnection;
  namespace: string;
  informer: Informer<V1Pod> & ObjectCache<V1Pod>;
  subscribers: Set<string>;
  synced: boolean;
  /** listed is true once any list arrived: the informer's pods are then worth reporting, even while it reconnects. */
  listed: boolean;
  error?: string;
  retryMs: number;
  retryTimer?: TimerHandle;
  stopped: boolean;
}

/** PodWatchersDeps are what PodWatchers needs. */
export interface PodWatchersDeps {
  clock: Clock;
  log: Logger;
  /** wake is asked for a subscriber's reconcile when pods it watches changed, or the watch's state did. */
  wake: Waker;
  /** retryMs is the first pause before restarting a failed watch, doubling to 30 s. Default 500. */
  retryMs?: number;
}

/**
 * PodWatchers runs one client-node pod informer per cluster connection and namespace, shared by
 * every subscriber (KubernetesDiscovery name) that watches that namespace. A failed watch is
 * restarted with backoff; its error is reported meanwhile.
 */
export class PodWatchers {
  private readonly deps: PodWatchersDeps;
  private readonly watches = new Map<string, NamespaceWatch>();
  private readonly owners = new Map<string, OwnerFetcher>();

  constructor(deps: PodWatchersDeps) {
    this.deps = deps;
  }

  /**
   * subscribe makes `subscriber` watch exactly these namespaces through this connection: watches
   * it no longer needs are released (and stopped when nobody else needs them).
   */
  subscribe(subscriber: string, connection: WatchConnection, namespaces: string[]): void {
    const want = new Set(namespaces.map((ns) => watchKey(connection.key, ns)));
    for (const [key, w] of this.watches) {
      if (w.subscribers.has(subscriber) && !want.has(key)) this.unsubscribe(key, w, subscriber);
    }
    for (const ns of new Set(namespaces)) {
      const key = watchKey(connection.key, ns);
      let w = this.watches.get(key);
      if (!w) {
        w = this.startWatch(connection, ns);
        this.watches.set(key, w);
      }
      w.subscribers.add(subscriber);
    }
  }

  /** release drops every watch of `subscriber`. */
  release(subscriber: string): void {
    for (const [key, w] of this.watches) if (w.subscribers.has(subscriber)) this.unsubscribe(key, w, subscriber);
  }

  /** state is the current state of a namespace's watch; undefined when nobody watches it. */
  state(connection: WatchConnection, namespace: string): NamespaceState | undefined {
    const w = this.watches.get(watchKey(connection.key, namespace));
    if (!w) return undefined;
    return { synced: w.synced, error: w.error, pods: w.listed ? w.informer.list(namespace) : [] };
  }

  /** ownerFetcher is the owner lookup of a connection (shared cache). */
  ownerFetcher(connection: WatchConnection): OwnerFetcher {
    let f = this.owners.get(connection.key);
    if (!f) {
      f = new OwnerFetcher(connection.kubeConfig);
      this.owners.set(connection.key, f);
    }
    return f;
  }

  /** namespaces lists the watched namespaces (of every connection). */
  namespaces(): string[] {
    return [...new Set([...this.watches.values()].map((w) => w.namespace))].sort();
  }

  /** stop stops every watch. */
  async stop(): Promise<void> {
    const all = [...this.watches.values()];
    this.watches.clear();
    await Promise.all(all.map((w) => this.stopWatch(w)));
  }

  private unsubscribe(key: string, w: NamespaceWatch, subscriber: string): void {
    w.subscribers.delete(subscriber);
    if (w.subscribers.size > 0) return;
    this.watches.delete(key);
    void this.stopWatch(w);
  }

  private async stopWatch(w: NamespaceWatch): Promise<void> {
    w.stopped = true;
    if (w.retryTimer) this.deps.clock.clearTimeout(w.retryTimer);
    await w.informer.stop().catch(() => {});
  }

  private startWatch(connection: WatchConnection, namespace: string): NamespaceWatch {
    const { log, clock } = this.deps;
    const api = connection.kubeConfig.makeApiClient(CoreV1Api);
    // The informer stores a list right after it arrives; report it once that is done. (start()
    // itself resolves only when the watch that follows has answered.)
    const listFn = () =>
      api.listNamespacedPod({ namespace }).then((list) => {
        setImmediate(() => ready());
        return list;
      });
    const informer = makeInformer<V1Pod>(connection.kubeConfig, `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, listFn);
    const firstRetryMs = this.deps.retryMs ?? 500;
    const w: NamespaceWatch = { connection, namespace, informer, subscribers: new Set(), synced: false, listed: false, retryMs: firstRetryMs, stopped: false };
    const wakeAll = () => {
      for (const s of w.subscribers) this.deps.wake.enqueue(s);
    };
    const onPod = () => {
      if (w.stopped) return;
      wakeAll();
    };
    informer.on('add', onPod);
    informer.on('update', onPod);
    informer.on('delete', onPod);
    const fail = (err: unknown) => {
      if (w.stopped || w.retryTimer) return;
      const message = errorMessage(err);
      if (w.error !== message) log.warn('Pod watch failed', { namespace, error: message });
      w.synced = false;
      w.error = message;
      wakeAll();
      w.retryTimer = clock.setTimeout(() => {
        w.retryTimer = undefined;
        if (!w.stopped) void run();
      }, w.retryMs);
      w.retryMs = Math.min(w.retryMs * 2, 30_000);
    };
    informer.on('error', fail);
    const ready = () => {
      if (w.stopped || w.retryTimer) return;
      if (w.synced && !w.error) return;
      if (w.error) log.info('Pod watch recovered', { namespace });
      w.synced = true;
      w.listed = true;
      w.error = undefined;
      w.retryMs = firstRetryMs;
      wakeAll();
    };
    const run = async () => {
      try {
        await informer.start();
      } catch (err) {
        fail(err);
        return;
      }
      // start() reports a failed list or watch through the error callback, which has run by now.
      ready();
    };
    void run();
    return w;
  }
}

function watchKey(connectionKey: string, namespace: string): string {
  return `${connectionKey}\u0000${namespace}`;
}

/**
 * errorMessage renders a client-node error in one line: the API's Status message when the body
 * has one, else the HTTP code and its message, else the error's own message.
 */
export function errorMessage(err: unknown): string {
  if (!err || typeof err !== 'object') return String(err);
  const e = err as { body?: unknown; message?: string; code?: unknown };
  let body = e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // not JSON
    }
  }
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  if (typeof e.code === 'number') {
    const m = /\nMessage: ([^\n]*)/.exec(e.message ?? '');
    return m && m[1] ? `${m[1]} (HTTP ${e.code})` : `HTTP ${e.code}`;
  }
  return (e.message ?? String(err)).split('\n')[0];
}

/** OwnerRef is the part of an owner reference the ancestry walk needs. */
interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

/**
 * OwnerFetcher finds the ancestors of a pod (ReplicaSet, then Deployment, ...), reading each
 * owner once: owner references do not change, so what was read is cached by uid.
 */
export class OwnerFetcher {
  private readonly api: KubernetesObjectApi;
  private readonly cache = new Map<string, Promise<OwnerRef[] | undefined>>();

  constructor(kubeConfig: KubeConfig) {
    this.api = KubernetesObjectApi.makeApiClient(kubeConfig);
  }

  /**
   * ancestorUids are the uids of the pod's owners, their owners, and so on (at most `depth`
   * levels). Owners that cannot be read end their branch.
   */
  async ancestorUids(namespace: string, refs: OwnerRef[] | undefined, depth = 5): Promise<Set<string>> {
    const out = new Set<string>();
    let level = refs ?? [];
    for (let d = 0; d < depth && level.length > 0; d++) {
      const next: OwnerRef[] = [];
      for (const r of level) {
        if (out.has(r.uid)) continue;
        out.add(r.uid);
        const parents = await this.ownersOf(namespace, r);
        if (parents) next.push(...parents);
      }
      level = next;
    }
    return out;
  }

  private ownersOf(namespace: string, ref: OwnerRef): Promise<OwnerRef[] | undefined> {
    let p = this.cache.get(ref.uid);
    if (!p) {
      p = this.api
        .read({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace } })
        .then((obj) => {
          // A different uid is a newer object with the same name: not this owner.
          if (obj.metadata?.uid !== ref.uid) return [];
          return (obj.metadata?.ownerReferences ?? []).map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.name, uid: o.uid }));
        })
        .catch(() => {
          this.cache.delete(ref.uid);
          return undefined;
        });
      this.cache.set(ref.uid, p);
    }
    return p;
  }
}
