/**
 * Reasons and messages that one kind writes in its status and another reads: the writer uses
 * these constants and the reader matches them, so no kind matches another kind's text.
 */

/** liveUpdateFailureReasons are LiveUpdate's status.failed.reason values. */
export const liveUpdateFailureReasons = [
  'Invalid',
  'ObjectNotFound',
  'UpdateStopped',
  'CrashLoopBackOff',
  'Terminated',
  'UpdateFailed',
  'PodsInconsistent',
  'InitialSyncError',
] as const;
export type LiveUpdateFailureReason = (typeof liveUpdateFailureReasons)[number];

/** liveUpdateWaitingReasons are the reasons a LiveUpdate container reports while it waits. */
export const liveUpdateWaitingReasons = ['ContainerWaiting', 'Trigger'] as const;
export type LiveUpdateWaitingReason = (typeof liveUpdateWaitingReasons)[number];

/** liveUpdateMessages are LiveUpdate failure messages with a meaning for other kinds. */
export const liveUpdateMessages = {
  /** `Invalid`: the Docker Compose service has no status yet (Tilt's words); Session reads it as waiting for the runtime. */
  noDockerComposeStatus: 'no docker compose status',
} as const;

/** cmdWaitingReasons are the Cmd controller's status.waiting.reason values. */
export const cmdWaitingReasons = {
  /** The Cmd has a startOn and no start trigger has arrived. */
  waitingForStartTrigger: 'WaitingForStartTrigger',
  /** The Cmd is disabled by its disableSource. */
  disabled: 'Disabled',
} as const;

/** cmdImageWaitReasons say why a wanted CmdImage build cannot start yet (status.waiting.reason). */
export const cmdImageWaitReasons = ['WaitingForImageMap', 'WaitingForCluster', 'ClusterNotReady', 'ImageMapDisabled'] as const;
export type CmdImageWaitReason = (typeof cmdImageWaitReasons)[number];

/**
 * kubernetesApplyReadyToApply is the KubernetesApply condition that is False, with a reason from
 * kubernetesApplyWaitReasons, while an apply waits; Session reads it as the update target waiting.
 */
export const kubernetesApplyReadyToApply = 'ReadyToApply';

/** kubernetesApplyWaitReasons say why a KubernetesApply cannot apply yet (its ReadyToApply condition's reason). */
export const kubernetesApplyWaitReasons = ['WaitingForImageMap', 'WaitingForCluster'] as const;
export type KubernetesApplyWaitReason = (typeof kubernetesApplyWaitReasons)[number];
