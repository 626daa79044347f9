/**
 * Tilt's API rules that several kinds share, kept in one place outside the runtime (which knows
 * no kind): how a DisableSource disables an object, the reasons and messages one kind reports
 * and another reads, and the trigger queue.
 */
export {
  disableStatus,
  disableStatusFor,
  disableSourceMapper,
  disableSourceConfigMaps,
  disableSourceIndex,
  evaluateDisableSource,
  type ConfigMapLookup,
  type DisableVerdict,
  type Disableable,
} from './disable.ts';
export {
  liveUpdateFailureReasons,
  liveUpdateWaitingReasons,
  liveUpdateMessages,
  cmdWaitingReasons,
  cmdImageWaitReasons,
  kubernetesApplyReadyToApply,
  kubernetesApplyWaitReasons,
  type KubernetesApplyWaitReason,
  type LiveUpdateFailureReason,
  type LiveUpdateWaitingReason,
  type CmdImageWaitReason,
} from './reasons.ts';
export { lastRestartEventUs } from './restart-on.ts';
export { FileBatches, type FileBatchesOptions } from './file-batches.ts';
export { addToTriggerQueue, removeFromTriggerQueue, triggerQueueResources, reasonCodeTriggerCli } from './trigger-queue.ts';
