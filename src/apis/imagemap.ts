import { defineKind } from './kind.ts';
import { Obj, Opt, Str, StrList, Bool, MicroTime, type Static } from './schema.ts';
import { disableSourceField } from './common.ts';
import { required } from './field-errors.ts';
import type { KubeObject } from './meta.ts';

export const ImageMapSpec = Obj('ImageMapSpec defines the desired state of ImageMap', {
  selector: Str('A named image reference.\n\nDeployment tools expect this image reference to match an image in the YAML being deployed, and will replace that image reference.\n\nBy default, this selector will match an image if the names match (tags on both the selector and the matched reference are ignored).'),
  matchExact: Opt(Bool('If specified, then tags on both the selector and the matched reference are used for matching. The selector will only match the reference if the tags match exactly.')),
  matchInEnvVars: Opt(Bool('If specified, then the selector will also match any strings in container env variables.')),
  overrideCommand: Opt(Obj("ImageMapOverrideCommand defines a command to inject when the image is injected. Only applies to types that embed a v1.Container with a Command field.", {
    command: StrList('A list of command strings.'),
  })),
  overrideArgs: Opt(Obj("ImageMapOverrideArgs defines args to inject when the image is injected. Only applies to types that embed a v1.Container with a Command field.", {
    args: StrList('A list of args strings.'),
  })),
  disableSource: disableSourceField('ImageMap'),
});
export type ImageMapSpec = Static<typeof ImageMapSpec>;

export const ImageMapStatus = Obj('ImageMapStatus defines the observed state of ImageMap', {
  image: Opt(Str("A fully-qualified image reference, including a name and an immutable tag, as seen from the cluster container runtime that we're mapping this image to.")),
  imageFromLocal: Opt(Str('A fully-qualified image reference, including a name and an immutable tag, as seen from the local network.')),
  imageFromCluster: Opt(Str('A fully-qualified image reference, including a name and an immutable tag, as seen from the cluster container runtime.')),
  buildStartTime: Opt(MicroTime('Timestamp indicating when the image started building.\n\nAny file changes before this timestamp were definitely included in the image, and any file changes after it may not be.')),
});
export type ImageMapStatus = Static<typeof ImageMapStatus>;

export type ImageMap = KubeObject<ImageMapSpec, ImageMapStatus>;

export const imageMapKind = defineKind({
  kind: 'ImageMap',
  plural: 'imagemaps',
  singular: 'imagemap',
  shortNames: ['im'],
  description: 'ImageMap expresses the mapping from an image reference to a real, pushed image in an image registry that a container runtime can access.',
  hasStatus: true,
  fields: { spec: ImageMapSpec, status: Opt(ImageMapStatus) },
  requiredFields: ['spec'],
  validate(obj: ImageMap) {
    return obj.spec && !obj.spec.selector ? [required('spec.selector')] : [];
  },
  columns: [
    { name: 'Selector', type: 'string', jsonPath: '.spec.selector', description: 'Image reference this map resolves' },
    { name: 'Image', type: 'string', jsonPath: '.status.imageFromLocal', description: 'The built image, as seen from the local network' },
    { name: 'Build Start', type: 'date', jsonPath: '.status.buildStartTime', description: 'When the image started building', priority: 1 },
  ],
});
