import { defineKind } from './kind.ts';
import { Obj, Opt, Str, StrList, MicroTime, Enum, type Static } from './schema.ts';
import { required, type FieldError } from './field-errors.ts';
import type { KubeObject } from './meta.ts';

export const cmdImageOutputModes = ['', 'local-docker', 'local-docker-and-remote', 'remote'] as const;
export const clusterImageNeeds = ['', 'push', 'base-image'] as const;

export const CmdImageSpec = Obj('CmdImageSpec describes how the custom script builds images and where it puts them.', {
  ref: Str('The named reference of the image.'),
  args: Opt(StrList('Command-line arguments. Must have length at least 1.')),
  dir: Opt(Str('Process working directory.\n\nIf the working directory is not specified, the command is run in the working directory of the ferry process.')),
  env: Opt(StrList('Additional variables process environment, as "KEY=VALUE" strings, on top of the daemon\'s environment.')),
  imageMaps: Opt(StrList('Names of image maps that this build depends on.\n\nThe controller will watch all the image maps, and rebuild the image if any of the maps resolve to a new image.')),
  outputMode: Opt(Enum('Specifies where the image is built. If not specified, we assume the image was built to the local Docker image store.', cmdImageOutputModes)),
  outputTag: Opt(Str('Tag we expect the image to be built with (we use this to check that the expected image+tag has been created).\n\nIf empty, we create an expected tag at the beginning of the build (and export $EXPECTED_REF=name:expected_tag).')),
  outputsImageRefTo: Opt(Str('Specifies a filepath where the cmd script prints the result image ref.\n\nferry will read it out when the build is done to find the image.')),
  cluster: Opt(Str("The name of the cluster we're building for.\n\nThe cluster determines the registry to build for. If no cluster is specified, assumes the default cluster.")),
  clusterNeeds: Opt(Enum('Whether the cluster needs access to the image: "push" or "base-image".\n\nIf not specified, assumes we have to push up to the cluster.', clusterImageNeeds)),
});
export type CmdImageSpec = Static<typeof CmdImageSpec>;

export const CmdImageStatus = Obj('CmdImageStatus describes the result of the image build.', {
  ref: Opt(Str("A fully-qualified image reference of a built image, as seen from the local network.\n\nUsually includes a name and an immutable tag.\n\nNB: If we're building to a particular registry, this may have a different hostname from the Spec Ref field.")),
  waiting: Opt(Obj('CmdImageStateWaiting expresses what we are waiting on to build an image.', {
    reason: Opt(Str('(brief) reason the image build is waiting.')),
  })),
  building: Opt(Obj('CmdImageStateBuilding expresses that an image build is in-progress.', {
    reason: Opt(Str('The reason why the image is building.')),
    startedAt: Opt(MicroTime('Time when the build started.')),
  })),
  completed: Opt(Obj('CmdImageStateCompleted expresses when the image build is finished and no new images need to be built.', {
    reason: Opt(Str('The reason why the image was built.')),
    error: Opt(Str('Error message if the build failed.')),
    startedAt: Opt(MicroTime('Time when we started building an image.')),
    finishedAt: Opt(MicroTime('Time when we finished building an image')),
  })),
});
export type CmdImageStatus = Static<typeof CmdImageStatus>;

export type CmdImage = KubeObject<CmdImageSpec, CmdImageStatus>;

export const cmdImageKind = defineKind({
  kind: 'CmdImage',
  plural: 'cmdimages',
  singular: 'cmdimage',
  shortNames: [],
  description: 'CmdImage describes an image to build with an arbitrary shell command.',
  hasStatus: true,
  fields: { spec: CmdImageSpec, status: Opt(CmdImageStatus) },
  requiredFields: ['spec'],
  validate(obj: CmdImage) {
    const errs: FieldError[] = [];
    if (!obj.spec) return errs;
    if (!obj.spec.ref) errs.push(required('spec.ref'));
    if (!obj.spec.args?.length) errs.push(required('spec.args', 'must have length at least 1'));
    return errs;
  },
  columns: [
    { name: 'Ref', type: 'string', jsonPath: '.spec.ref', description: 'Image reference to build' },
    {
      name: 'State', type: 'string', jsonPath: '.status.completed.finishedAt', description: 'waiting, building, ok or error',
      value: (o) => {
        const s = (o.status ?? {}) as CmdImageStatus;
        if (s.building) return 'building';
        if (s.waiting) return 'waiting';
        if (s.completed) return s.completed.error ? 'error' : 'ok';
        return '';
      },
    },
    { name: 'Image', type: 'string', jsonPath: '.status.ref', description: 'The built image' },
    { name: 'Error', type: 'string', jsonPath: '.status.completed.error', description: 'Why the last build failed', priority: 1 },
  ],
});
