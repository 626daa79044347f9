import { defineKind } from './kind.ts';
import { Obj, Opt, Str, StrList, Bool, Int32, Int64, MicroTime, Time, Type, type Static } from './schema.ts';
import { disableSourceField, disableStatusField } from './common.ts';
import { required, type FieldError } from './field-errors.ts';
import type { KubeObject } from './meta.ts';

const IntOrString = (description: string) =>
  Type.Unsafe<number | string>({ 'x-kubernetes-int-or-string': true, description, anyOf: [{ type: 'integer' }, { type: 'string' }] });

export const Probe = Obj('Probe describes a health check to be performed to determine whether the process is ready.', {
  handler: Obj('Handler defines a specific action that should be taken. One and only one of the fields must be specified.', {
    exec: Opt(Obj('Exec specifies a command to run; exit 0 is healthy.', {
      command: StrList('Command is the command line to execute, run without a shell.'),
    })),
    httpGet: Opt(Obj('HTTPGet specifies the HTTP request to perform; a status in 200-399 is healthy.', {
      host: Opt(Str('Host name to connect to, defaults to localhost.')),
      port: IntOrString('Number or name of the port to access.'),
      path: Opt(Str('Path to access on the HTTP server.')),
      scheme: Opt(Str('Scheme to use for connecting to the host: HTTP (default) or HTTPS.')),
      httpHeaders: Opt(Type.Array(Obj('An HTTP header.', { name: Str('Header name.'), value: Str('Header value.') }), { description: 'Custom headers to set in the request.' })),
    })),
    tcpSocket: Opt(Obj('TCPSocket specifies a port to connect to; an open connection is healthy.', {
      host: Opt(Str('Host name to connect to, defaults to localhost.')),
      port: IntOrString('Number or name of the port to access.'),
    })),
  }),
  initialDelaySeconds: Opt(Int32('Number of seconds after the process has started before probes are initiated.')),
  timeoutSeconds: Opt(Int32('Number of seconds after which the probe times out. Defaults to 1 second.')),
  periodSeconds: Opt(Int32('How often (in seconds) to perform the probe. Default to 10 seconds.')),
  successThreshold: Opt(Int32('Minimum consecutive successes for the probe to be considered successful after having failed. Defaults to 1.')),
  failureThreshold: Opt(Int32('Minimum consecutive failures for the probe to be considered failed after having succeeded. Defaults to 3.')),
});
export type Probe = Static<typeof Probe>;

export const CmdSpec = Obj('CmdSpec defines how to run a local command.', {
  args: StrList('Command-line arguments. Must have length at least 1.'),
  dir: Opt(Str('Process working directory. If not specified, the working directory of the ferry process.')),
  env: Opt(StrList('Additional variables for the process environment, as "KEY=VALUE" strings.')),
  readinessProbe: Opt(Probe),
  restartOn: Opt(Obj('RestartOnSpec indicates the set of objects that can trigger a restart of this object.', {
    fileWatches: Opt(StrList('A list of file watches that can trigger a restart.')),
    uiButtons: Opt(StrList('A list of ui buttons that can trigger a restart.')),
  })),
  startOn: Opt(Obj('StartOnSpec indicates the set of objects that can trigger a start/restart of this object.', {
    startAfter: Opt(Time('StartAfter indicates that events before this time should be ignored.')),
    uiButtons: StrList('A list of ui buttons that can trigger a run.'),
  })),
  disableSource: disableSourceField('Cmd'),
});
export type CmdSpec = Static<typeof CmdSpec>;

export const CmdStatus = Obj('CmdStatus defines the observed state of Cmd', {
  waiting: Opt(Obj('CmdStateWaiting is a command that has not started.', { reason: Opt(Str('Reason the command has not started.')) })),
  running: Opt(Obj('CmdStateRunning is a command that has started.', {
    pid: Int64('The process id of the command.'),
    startedAt: Opt(MicroTime('Time at which the command was last started.')),
  })),
  terminated: Opt(Obj('CmdStateTerminated is a command that finished running.', {
    pid: Int64('The process id of the command.'),
    exitCode: Int32('Exit status from the last termination of the command.'),
    startedAt: Opt(MicroTime('Time at which previous execution of the command started.')),
    finishedAt: Opt(MicroTime('Time at which the command last terminated.')),
    reason: Opt(Str('(brief) reason the process is terminated.')),
  })),
  ready: Opt(Bool('Specifies whether the command has passed its readiness probe.')),
  disableStatus: disableStatusField('Cmd'),
});
export type CmdStatus = Static<typeof CmdStatus>;

export type Cmd = KubeObject<CmdSpec, CmdStatus>;

export const cmdKind = defineKind({
  kind: 'Cmd',
  plural: 'cmds',
  singular: 'cmd',
  shortNames: [],
  description: 'Cmd represents a process on the host machine: a one-off task or a server, restarted when its triggers fire.',
  hasStatus: true,
  fields: { spec: CmdSpec, status: Opt(CmdStatus) },
  requiredFields: ['spec'],
  validate(obj: Cmd) {
    const errs: FieldError[] = [];
    if (obj.spec && !obj.spec.args?.length) errs.push(required('spec.args', 'cannot be empty'));
    const h = obj.spec?.readinessProbe?.handler;
    if (h) {
      const n = [h.exec, h.httpGet, h.tcpSocket].filter(Boolean).length;
      if (n !== 1) errs.push(required('spec.readinessProbe.handler', 'exactly one of exec, httpGet or tcpSocket must be specified'));
    }
    return errs;
  },
  columns: [
    { name: 'Args', type: 'string', jsonPath: '.spec.args', description: 'Command line', value: (o) => ((o.spec as CmdSpec)?.args ?? []).join(' ') },
    {
      name: 'State', type: 'string', jsonPath: '.status.running.pid', description: 'waiting, running or terminated',
      value: (o) => {
        const s = (o.status ?? {}) as CmdStatus;
        return s.running ? 'running' : s.terminated ? `exited ${s.terminated.exitCode}` : s.waiting ? 'waiting' : '';
      },
    },
    { name: 'Ready', type: 'boolean', jsonPath: '.status.ready', description: 'Whether the readiness probe passes' },
  ],
});
