/**
 * Image references, ImageMap selectors, registry rewriting, content tags and image injection:
 * what ferry knows about naming images. Import from this module, not from its files.
 *
 *     parseRef('nginx:1').toString()                    // 'docker.io/library/nginx:1'
 *     familiarName('docker.io/library/nginx:1')         // 'nginx'
 *     refNamesEqual('nginx', 'library/nginx:2')         // true (tags ignored)
 *     selectorMatches(imageMap.spec, 'nginx:2')         // name match, or exact with matchExact
 *     injectIntoComposeServices(services, imageMaps)    // Section 4 injection for Compose
 *     injectIntoKubernetesObjects(objects, imageMaps, locators) // and for a KubernetesApply
 */
export {
  ImageRef,
  RefError,
  defaultDomain,
  parseRef,
  tryParseRef,
  parseNamedTagged,
  familiarName,
  familiarString,
  refNamesEqual,
} from './reference.ts';
export { RefSelector, parseSelector, exactSelector, selectorMatches, type SelectorSpec } from './selector.ts';
export { type Registry, RefSet, contentTag, contentTagPrefix, escapeName, replaceRegistry, clusterRefFor } from './registry.ts';
export {
  InjectError,
  injectImageMaps,
  injectImageMap,
  injectCommandAndArgs,
  injectIntoComposeServices,
  type InjectableContainer,
  type InjectableEnvVar,
  type InjectableImageVolume,
  type LocatedImage,
  type InjectEntity,
  type InjectImageMap,
  type InjectResult,
  type ComposeService,
} from './inject.ts';
export {
  injectIntoKubernetesObjects,
  managedByLabel,
  managedByFerry,
  podTemplateHashLabel,
  injectedPullPolicy,
  type KubeManifest,
  type KubernetesInjectResult,
} from './inject-kubernetes.ts';
export { JSONPath, JSONPathError, type JSONPlace } from './jsonpath.ts';
export { type ImageClient, type ImageInfo, ImageNotFoundError, DockerodeImageClient } from './docker.ts';
export { FakeImageClient } from './fake.ts';
export { planPrune, isBuildTag, isStampTag, type TaggedImage, type PruneOptions } from './prune.ts';
