import { Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { WorkQueueMetrics } from './work-queue.ts';

/** ReconcileOutcome labels `controller_runtime_reconcile_total`. */
export const reconcileOutcomes = ['success', 'requeue_after', 'error', 'terminal_error'] as const;
export type ReconcileOutcome = (typeof reconcileOutcomes)[number];

/**
 * RuntimeMetrics are the runtime's Prometheus metrics, named as controller-runtime names them so
 * existing dashboards read them: work queue depth, adds and retries per queue (`name`), and
 * reconcile count, errors and duration per controller (`controller`).
 */
export class RuntimeMetrics {
  readonly registry: Registry;
  private readonly depth: Gauge<'name'>;
  private readonly adds: Counter<'name'>;
  private readonly retries: Counter<'name'>;
  private readonly reconciles: Counter<'controller' | 'result'>;
  private readonly errors: Counter<'controller'>;
  private readonly duration: Histogram<'controller'>;
  private readonly active: Gauge<'controller'>;

  constructor(registry: Registry) {
    this.registry = registry;
    this.depth = this.metric('workqueue_depth', () => new Gauge({ name: 'workqueue_depth', help: 'Current depth of the work queue', labelNames: ['name'], registers: [registry] }));
    this.adds = this.metric('workqueue_adds_total', () => new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by the work queue', labelNames: ['name'], registers: [registry] }));
    this.retries = this.metric('workqueue_retries_total', () => new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by the work queue', labelNames: ['name'], registers: [registry] }));
    this.reconciles = this.metric('controller_runtime_reconcile_total', () => new Counter({ name: 'controller_runtime_reconcile_total', help: 'Total number of reconciliations per controller', labelNames: ['controller', 'result'], registers: [registry] }));
    this.errors = this.metric('controller_runtime_reconcile_errors_total', () => new Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Total number of reconciliation errors per controller', labelNames: ['controller'], registers: [registry] }));
    this.duration = this.metric('controller_runtime_reconcile_time_seconds', () => new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }));
    this.active = this.metric('controller_runtime_active_workers', () => new Gauge({ name: 'controller_runtime_active_workers', help: 'Number of currently used workers per controller', labelNames: ['controller'], registers: [registry] }));
  }

  /** queue returns the WorkQueueMetrics of the queue of one controller. */
  queue(name: string): WorkQueueMetrics {
    const depth = this.depth.labels({ name });
    const adds = this.adds.labels({ name });
    const retries = this.retries.labels({ name });
    depth.set(0);
    return { add: () => adds.inc(), retry: () => retries.inc(), depth: (n) => depth.set(n) };
  }

  /** controller returns the reconcile recorders of one controller. */
  controller(controller: string) {
    const errors = this.errors.labels({ controller });
    const duration = this.duration.labels({ controller });
    const active = this.active.labels({ controller });
    errors.inc(0);
    active.set(0);
    const counts = Object.fromEntries(reconcileOutcomes.map((result) => [result, this.reconciles.labels({ controller, result })]));
    for (const c of Object.values(counts)) c.inc(0);
    return {
      started: () => active.inc(),
      finished: (result: ReconcileOutcome, seconds: number) => {
        active.dec();
        counts[result].inc();
        if (result === 'error' || result === 'terminal_error') errors.inc();
        duration.observe(seconds);
      },
    };
  }

  private metric<M extends Metric>(name: string, make: () => M): M {
    return (this.registry.getSingleMetric(name) as M | undefined) ?? make();
  }
}

export type ControllerMetrics = ReturnType<RuntimeMetrics['controller']>;
