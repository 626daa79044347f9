/**
 * What can be said about an ImageMap without I/O: whether its selector is usable and whether
 * its disableSource turns it off.
 */
import type { ConfigMap } from '../../src/apis/configmap.ts';
import type { ImageMap } from '../../src/apis/imagemap.ts';
import { parseSelector } from '../../src/adapters/images/index.ts';
import { evaluateDisableSource, type DisableVerdict } from '../../src/tilt/index.ts';

/** selectorError is why an ImageMap's selector selects nothing, or undefined when it is a valid reference. */
export function selectorError(im: ImageMap): string | undefined {
  try {
    parseSelector({ selector: im.spec?.selector ?? '', matchExact: im.spec?.matchExact });
    return undefined;
  } catch (err) {
    return `invalid selector ${JSON.stringify(im.spec?.selector ?? '')}: ${(err as Error).message}`;
  }
}

/**
 * imageMapDisableState evaluates an ImageMap's disableSource against the ConfigMaps `lookup`
 * finds. A CmdImage does not build into an ImageMap in any state but Enabled.
 */
export function imageMapDisableState(im: ImageMap, lookup: (name: string) => ConfigMap | undefined): DisableVerdict {
  return evaluateDisableSource(im.spec?.disableSource, lookup);
}
