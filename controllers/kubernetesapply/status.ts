/**
 * The status of a KubernetesApply: conditions (waiting for images, a Job that already ran to
 * completion) and the status an apply leaves.
 */
import { applyConditionJobComplete, toTime, type Condition, type KubernetesApplyStatus } from '../../src/apis/index.ts';
import type { KubeResource } from '../../src/adapters/kubernetes/index.ts';
import type { ApplyWait } from './plan.ts';
import { kubernetesApplyReadyToApply } from '../../src/tilt/index.ts';

/** readyToApplyCondition is False, with the reason and what is missing, while an apply waits for an image or its Cluster. */
export const readyToApplyCondition = kubernetesApplyReadyToApply;

/** waitingCondition is the condition of an apply that waits, keeping prev's transition time when it already said so. */
export function waitingCondition(wait: ApplyWait, prev: Condition[] | undefined, now: Date): Condition {
  const old = prev?.find((c) => c.type === readyToApplyCondition && c.status === 'False');
  return {
    type: readyToApplyCondition,
    status: 'False',
    reason: wait.reason,
    message: wait.message,
    lastTransitionTime: old?.lastTransitionTime ?? toTime(now),
  };
}

/**
 * jobConditions are the conditions an apply's result gives: JobComplete when one of the
 * applied objects is a Job the server reports complete (a Job that ran before this apply).
 */
export function jobConditions(applied: KubeResource[]): Condition[] | undefined {
  for (const o of applied) {
    if (o.kind !== 'Job') continue;
    const conds = ((o.status as { conditions?: Array<{ type?: string; status?: string }> } | undefined)?.conditions ?? []);
    if (conds.some((c) => c.type === 'Complete' && c.status === 'True')) return [{ type: applyConditionJobComplete, status: 'True' }];
  }
  return undefined;
}

/** withoutApply is status without the fields an apply sets (what a disabled or deleted apply shows). */
export function withoutApply(status: KubernetesApplyStatus | undefined): KubernetesApplyStatus {
  const { resultYAML: _r, error: _e, lastApplyTime: _t, lastApplyStartTime: _s, appliedInputHash: _h, conditions: _c, ...rest } = status ?? {};
  return rest;
}

/** clean drops undefined fields, so that equal statuses compare equal. */
export function clean(status: KubernetesApplyStatus): KubernetesApplyStatus {
  return Object.fromEntries(Object.entries(status).filter(([, v]) => v !== undefined && v !== '')) as KubernetesApplyStatus;
}
