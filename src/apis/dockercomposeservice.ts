import { defineKind } from './kind.ts';
import { Obj, Opt, Str, StrList, Bool, Int32, MicroTime, Time, Type, type Static } from './schema.ts';
import { disableSourceField, disableStatusField } from './common.ts';
import { required, type FieldError } from './field-errors.ts';
import type { KubeObject } from './meta.ts';

export const DockerComposeProject = Obj('A Docker Compose project: its files or its YAML, and its name.', {
  configPaths: Opt(StrList('Configuration files to load. If both configPaths and yaml are specified, yaml wins.')),
  projectPath: Opt(Str('The base path of the docker-compose project (used for relative paths in the files).')),
  yaml: Opt(Str('The docker-compose config YAML. Usually contains multiple services.')),
  name: Opt(Str('The docker-compose project name. If omitted, the default is the name of the directory holding the first config file (or the projectPath).')),
  profiles: Opt(StrList('Profiles to enable.')),
  envFile: Opt(Str('Path to an env file to use; passed as --env-file.')),
});
export type DockerComposeProject = Static<typeof DockerComposeProject>;

export const DockerComposeServiceSpec = Obj('DockerComposeServiceSpec defines the desired state a Docker Compose service.', {
  service: Str('The name of the service to create.'),
  project: DockerComposeProject,
  imageMaps: Opt(StrList('The image maps that the service depends on: each built image replaces the service image its selector matches.')),
  disableSource: disableSourceField('service'),
});
export type DockerComposeServiceSpec = Static<typeof DockerComposeServiceSpec>;

export const DockerContainerState = Obj('State of a Docker container, as docker inspect reports it.', {
  status: Opt(Str('created, running, paused, restarting, removing, exited or dead.')),
  running: Opt(Bool('Whether the container is running.')),
  error: Opt(Str('Error message, if any.')),
  exitCode: Opt(Int32('Exit code of the last run.')),
  startedAt: Opt(Time('When the container last started.')),
  finishedAt: Opt(Time('When the container last stopped.')),
});
export type DockerContainerState = Static<typeof DockerContainerState>;

export const DockerPortBinding = Obj('A port published by a container.', {
  containerPort: Opt(Int32('The port inside the container.')),
  hostIP: Opt(Str('The host IP the port is bound to.')),
  hostPort: Opt(Int32('The port on the host.')),
});

export const DockerComposeServiceStatus = Obj('DockerComposeServiceStatus defines the observed state of DockerComposeService', {
  disableStatus: disableStatusField('service'),
  portBindings: Opt(Type.Array(DockerPortBinding, { description: 'The ports published by the container.' })),
  containerID: Opt(Str('The ID of the container running the service.')),
  containerName: Opt(Str('The name of the container running the service.')),
  containerState: Opt(DockerContainerState),
  lastApplyStartTime: Opt(MicroTime('When we last started bringing the service up.')),
  lastApplyFinishTime: Opt(MicroTime('When we last finished bringing the service up.')),
  applyError: Opt(Str('Why the last attempt to bring the service up failed.')),
});
export type DockerComposeServiceStatus = Static<typeof DockerComposeServiceStatus>;

export type DockerComposeService = KubeObject<DockerComposeServiceSpec, DockerComposeServiceStatus>;

export const dockerComposeServiceKind = defineKind({
  kind: 'DockerComposeService',
  plural: 'dockercomposeservices',
  singular: 'dockercomposeservice',
  shortNames: ['dc'],
  description: 'DockerComposeService represents a container orchestrated by Docker Compose.',
  hasStatus: true,
  fields: { spec: DockerComposeServiceSpec, status: Opt(DockerComposeServiceStatus) },
  requiredFields: ['spec'],
  validate(obj: DockerComposeService) {
    const errs: FieldError[] = [];
    if (!obj.spec) return errs;
    if (!obj.spec.service) errs.push(required('spec.service'));
    const p = obj.spec.project;
    if (p && !p.yaml && !p.configPaths?.length) errs.push(required('spec.project', 'one of configPaths or yaml is required'));
    return errs;
  },
  columns: [
    { name: 'Service', type: 'string', jsonPath: '.spec.service', description: 'Compose service' },
    { name: 'Container', type: 'string', jsonPath: '.status.containerName', description: 'Container running it' },
    { name: 'State', type: 'string', jsonPath: '.status.containerState.status', description: 'Container state' },
    { name: 'Error', type: 'string', jsonPath: '.status.applyError', description: 'Why it could not be brought up', priority: 1 },
  ],
});
