import { defineKind } from './kind.ts';
import { Obj, Opt, Str, MicroTime, Time, type Static } from './schema.ts';
import { DockerComposeProject } from './dockercomposeservice.ts';
import { required, type FieldError } from './field-errors.ts';
import type { KubeObject } from './meta.ts';

export const DockerComposeLogStreamSpec = Obj('DockerComposeLogStreamSpec defines the desired state of DockerComposeLogStream', {
  service: Str('The name of the service to stream from.'),
  project: DockerComposeProject,
  sinceTime: Opt(Time('An RFC3339 timestamp from which to show logs. If this value precedes the time a container was started, only logs since the container start will be returned. If this value is in the future, no logs will be returned.')),
});
export type DockerComposeLogStreamSpec = Static<typeof DockerComposeLogStreamSpec>;

export const DockerComposeLogStreamStatus = Obj('DockerComposeLogStreamStatus defines the observed state of DockerComposeLogStream', {
  startedAt: Opt(MicroTime('When we last started the log streamer.')),
  error: Opt(Str('Contains an error message when the log streamer is in an error state.')),
});
export type DockerComposeLogStreamStatus = Static<typeof DockerComposeLogStreamStatus>;

export type DockerComposeLogStream = KubeObject<DockerComposeLogStreamSpec, DockerComposeLogStreamStatus>;

export const dockerComposeLogStreamKind = defineKind({
  kind: 'DockerComposeLogStream',
  plural: 'dockercomposelogstreams',
  singular: 'dockercomposelogstream',
  shortNames: ['dclog', 'dcls'],
  description: 'DockerComposeLogStream streams what the container of a Docker Compose service prints into the resource\'s logs.',
  hasStatus: true,
  fields: { spec: DockerComposeLogStreamSpec, status: Opt(DockerComposeLogStreamStatus) },
  requiredFields: ['spec'],
  validate(obj: DockerComposeLogStream) {
    const errs: FieldError[] = [];
    if (!obj.spec) return errs;
    if (!obj.spec.service) errs.push(required('spec.service'));
    return errs;
  },
  columns: [
    { name: 'Service', type: 'string', jsonPath: '.spec.service', description: 'Compose service' },
    { name: 'Started', type: 'date', jsonPath: '.status.startedAt', description: 'When the stream last started' },
    { name: 'Error', type: 'string', jsonPath: '.status.error', description: 'Why the stream cannot run' },
  ],
});
