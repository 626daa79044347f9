import type { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import type { Logger } from 'winston';
import { FerryClient, type Client } from '../client/client.ts';
import { ControllerBuilder } from './builder.ts';
import { Cache } from './cache.ts';
import { realClock, type Clock } from '../util/clock.ts';
import { Controller, type ControllerOptions } from './controller.ts';
import type { InformerOptions, ListWatcher } from './informer.ts';
import { RuntimeMetrics } from './metrics.ts';
import { defaultControllerRateLimiter } from './rate-limiter.ts';

/** Runnable is any long-lived piece the manager starts after the controllers and stops before them. */
export interface Runnable {
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

/** ManagerDeps are what a Manager is built from. */
export interface ManagerDeps {
  /** kubeConfig locates the API server; the manager builds its FerryClient from it. */
  kubeConfig?: KubeConfig;
  /** client replaces the FerryClient built from kubeConfig (one of the two is required). */
  client?: Client & ListWatcher;
  log: Logger;
  /** clock for every timer of the runtime. Default realClock. */
  clock?: Clock;
  /** metrics is the prom-client registry the runtime's metrics go to. Default: a new Registry. */
  metrics?: Registry;
  /** gracefulShutdownMs bounds how long stop() waits for reconciles in flight. Default 30,000. */
  gracefulShutdownMs?: number;
  /** informer tunes the informers' reconnect backoff. */
  informer?: InformerOptions;
}

/**
 * Manager owns the client, the shared cache and the controllers of one process.
 * Build controllers with `controller(name).for(...)...complete(reconciler)`, then `start()`:
 * informers start, the caches sync, then controllers and runnables start and `ready()` turns true.
 * `stop()` stops taking work, waits for the reconciles in flight, then stops the informers.
 */
export class Manager {
  readonly client: Client;
  readonly cache: Cache;
  readonly clock: Clock;
  readonly log: Logger;
  /** metricsRegistry holds the runtime's Prometheus metrics (serve it on /metrics). */
  readonly metricsRegistry: Registry;
  private readonly metrics: RuntimeMetrics;
  private readonly controllers = new Map<string, Controller>();
  private readonly runnables: Runnable[] = [];
  private readonly ownsClient: boolean;
  private readonly gracefulShutdownMs: number;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(deps: ManagerDeps) {
    if (!deps.client && !deps.kubeConfig) throw new Error('Manager needs a kubeConfig or a client');
    const client = deps.client ?? new FerryClient(deps.kubeConfig!);
    this.ownsClient = !deps.client;
    this.client = client;
    this.log = deps.log;
    this.clock = deps.clock ?? realClock;
    this.metricsRegistry = deps.metrics ?? new Registry();
    this.metrics = new RuntimeMetrics(this.metricsRegistry);
    this.gracefulShutdownMs = deps.gracefulShutdownMs ?? 30_000;
    this.cache = new Cache({ source: client, clock: this.clock, log: this.log.child({ component: 'cache' }), informerOptions: deps.informer });
  }

  /** controller starts building a controller; names are unique and label its logs and metrics. */
  controller(name: string, opts: ControllerOptions = {}): ControllerBuilder {
    if (this.controllers.has(name)) throw new Error(`controller ${JSON.stringify(name)} already exists`);
    return new ControllerBuilder({
      cache: this.cache,
      make: (reconciler) => {
        if (this.controllers.has(name)) throw new Error(`controller ${JSON.stringify(name)} already exists`);
        const c = new Controller({
          name,
          reconciler,
          clock: this.clock,
          log: this.log.child({ controller: name }),
          rateLimiter: opts.rateLimiter ?? defaultControllerRateLimiter(this.clock),
          concurrency: opts.concurrency,
          queueMetrics: this.metrics.queue(name),
          metrics: this.metrics.controller(name),
        });
        this.controllers.set(name, c);
        if (this.state === 'running') void this.cache.waitForSync().then(() => this.state === 'running' && c.start());
        return c;
      },
    });
  }

  /** add registers a Runnable, started after the controllers (at once if the manager runs). */
  add(r: Runnable): void {
    this.runnables.push(r);
    if (this.state === 'running') void r.start();
  }

  /** getController returns a controller by name. */
  getController(name: string): Controller | undefined {
    return this.controllers.get(name);
  }

  /** controllerNames lists the registered controllers, in registration order. */
  controllerNames(): string[] {
    return [...this.controllers.keys()];
  }

  /** start starts the informers, waits for their first lists, then starts controllers and runnables. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`manager cannot start: it is ${this.state}`);
    this.state = 'starting';
    this.cache.start();
    await this.cache.waitForSync();
    if (this.state !== 'starting') return;
    for (const c of this.controllers.values()) c.start();
    this.state = 'running';
    for (const r of this.runnables) await r.start();
    this.log.debug('Controllers started', { controllers: [...this.controllers.keys()], kinds: this.cache.kinds() });
  }

  /** ready is true once the caches have synced and the controllers run (for /readyz). */
  ready(): boolean {
    return this.state === 'running' && this.cache.hasSynced();
  }

  /**
   * stop stops runnables, then controllers (no new reconciles; waits for those in flight, at most
   * gracefulShutdownMs), then the informers.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'stopping';
    for (const r of [...this.runnables].reverse()) {
      try {
        await r.stop();
      } catch (err) {
        this.log.error('Runnable failed to stop', { error: String(err) });
      }
    }
    const drained = Promise.all([...this.controllers.values()].map((c) => c.stop())).then(() => true);
    let timer: object | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = this.clock.setTimeout(() => resolve(false), this.gracefulShutdownMs);
    });
    const clean = await Promise.race([drained, timedOut]);
    if (timer) this.clock.clearTimeout(timer);
    if (!clean) this.log.warn('Reconciles still running at shutdown', { gracefulShutdownMs: this.gracefulShutdownMs });
    this.cache.stop();
    if (this.ownsClient && this.client instanceof FerryClient) this.client.close();
    this.state = 'stopped';
  }
}
