import { defineKind } from './kind.ts';
import { Obj, Opt, Str, StrList, Bool, Int64, MicroTime, Type, type Static } from './schema.ts';
import { notSupported, invalid, required, type FieldError } from './field-errors.ts';
import type { KubeObject } from './meta.ts';

export const exitConditions = ['manual', 'ci'] as const;
export type ExitCondition = (typeof exitConditions)[number];

export const SessionCISpec = Obj('SessionCISpec contains configuration specific to CI mode.', {
  k8sGracePeriod: Opt(Str('Grace period given to Kubernetes resources to recover from failures on startup, as a duration (e.g. "30s"). If zero, there is no grace period.')),
  timeout: Opt(Str('Timeout for the whole CI run, as a duration. Default 30m.')),
  readinessTimeout: Opt(Str('Timeout for a server to become ready once it is running, as a duration. Default 5m. Jobs are exempt.')),
});
export type SessionCISpec = Static<typeof SessionCISpec>;

export const SessionSpec = Obj('SessionSpec defines the desired state of Session', {
  tiltfilePath: Str('TiltfilePath is the path to the Tiltfile for the run. It cannot be empty.'),
  exitCondition: Str('ExitCondition defines the criteria for the run to exit: "manual" (never) or "ci".'),
  ci: Opt(SessionCISpec),
});
export type SessionSpec = Static<typeof SessionSpec>;

export const targetTypes = ['job', 'server'] as const;
export const graceStatuses = ['', 'Tolerated', 'Exceeded'] as const;

export const TargetState = Obj('TargetState describes the current execution status for a target.\n\nEither EXACTLY one of Waiting, Active, Disabled, or Terminated will be populated or NONE of them will be.', {
  waiting: Opt(Obj('TargetStateWaiting is a target that has been enqueued for execution but has not yet started.', {
    waitReason: Str('WaitReason is a description for why the target is waiting and not yet active.'),
  })),
  active: Opt(Obj('TargetStateActive is a target that is currently running but has not yet finished.', {
    startTime: MicroTime('StartTime is when execution began.'),
    ready: Bool('Ready indicates that the target has passed readiness checks.'),
    lastReadyTime: Opt(MicroTime('LastReadyTime is when the target last passed readiness checks.')),
  })),
  terminated: Opt(Obj('TargetStateTerminated is a target that finished running, either because it completed successfully or encountered an error.', {
    startTime: MicroTime('StartTime is when the target began executing.'),
    finishTime: MicroTime('FinishTime is when the target stopped executing.'),
    error: Opt(Str('Error is a non-empty string if the target encountered a failure during execution that caused it to stop.')),
    graceStatus: Opt(Type.Unsafe<'' | 'Tolerated' | 'Exceeded'>({ type: 'string', enum: [...graceStatuses], description: 'GraceStatus: "Tolerated" while a failure is within the k8s grace period, "Exceeded" after.' })),
  })),
  disabled: Opt(Obj('TargetStateDisabled is a target that has been disabled.', {})),
});
export type TargetState = Static<typeof TargetState>;

export const Target = Obj('Target is a server or job whose execution is managed as part of this Session.', {
  name: Str('Name is the name of the target; this is auto-generated from the resources.'),
  resources: StrList('Resources are one or more resources that this target is associated with.'),
  type: Type.Unsafe<'job' | 'server'>({ type: 'string', enum: [...targetTypes], description: 'Type is the execution profile for this resource: "job" runs to completion, "server" runs indefinitely.' }),
  state: TargetState,
});
export type Target = Static<typeof Target>;

export const SessionStatus = Obj('SessionStatus defines the observed state of Session', {
  pid: Int64('PID is the process identifier for this instance of ferry.'),
  startTime: MicroTime('StartTime is when the session was first started.'),
  targets: Type.Array(Target, { description: 'Targets are normalized representations of the servers/jobs managed by this Session.' }),
  done: Bool('Done indicates whether this Session has completed its work and is ready to exit.'),
  error: Opt(Str('Error is a non-empty string when the Session is Done but encountered a failure as defined by the ExitCondition from the SessionSpec.')),
});
export type SessionStatus = Static<typeof SessionStatus>;

export type Session = KubeObject<SessionSpec, SessionStatus>;

/** goDurationPattern accepts Go duration strings such as "30s", "1m30s", "1.5h", "500ms". */
export const goDurationPattern = /^([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$|^0$/;

export const sessionKind = defineKind({
  kind: 'Session',
  plural: 'sessions',
  singular: 'session',
  shortNames: [],
  description: 'Session provides introspective data about the status of the ferry process and decides when a run is done.',
  hasStatus: true,
  fields: { spec: SessionSpec, status: Opt(SessionStatus) },
  requiredFields: ['spec'],
  validate(obj: Session) {
    const errs: FieldError[] = [];
    if (!obj.spec) return errs;
    if (!obj.spec.tiltfilePath) errs.push(required('spec.tiltfilePath'));
    if (!obj.spec.exitCondition) errs.push(required('spec.exitCondition'));
    else if (!(exitConditions as readonly string[]).includes(obj.spec.exitCondition)) {
      errs.push(notSupported('spec.exitCondition', obj.spec.exitCondition, exitConditions));
    }
    for (const f of ['k8sGracePeriod', 'timeout', 'readinessTimeout'] as const) {
      const v = obj.spec.ci?.[f];
      if (v && !goDurationPattern.test(v)) errs.push(invalid(`spec.ci.${f}`, v, 'must be a duration such as "30s" or "5m"'));
    }
    return errs;
  },
  columns: [
    { name: 'Exit Condition', type: 'string', jsonPath: '.spec.exitCondition', description: 'When the session is done' },
    { name: 'Done', type: 'boolean', jsonPath: '.status.done', description: 'Whether the session is done' },
    { name: 'Targets', type: 'integer', jsonPath: '.status.targets', description: 'Number of targets', value: (o) => ((o.status as SessionStatus)?.targets ?? []).length },
    { name: 'Error', type: 'string', jsonPath: '.status.error', description: 'Why the session failed' },
  ],
});
