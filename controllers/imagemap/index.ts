/**
 * The ImageMap controller. ImageMaps are filled by the CmdImage controller and read by the
 * injectors (src/adapters/images); this controller reports selectors that select nothing and
 * disable-state changes. `setup` wires it into a Manager.
 */
import type { Logger } from 'winston';
import { type Controller, type Manager } from '../../src/runtime/index.ts';
import { disableSourceMapper } from '../../src/tilt/index.ts';
import { ImageMapReconciler, kind } from './reconciler.ts';

export { ImageMapReconciler, type ImageMapReconcilerDeps } from './reconciler.ts';
export { selectorError, imageMapDisableState } from './status.ts';

/** ImageMapSetupDeps are what `setup` needs beyond the manager. */
export interface ImageMapSetupDeps {
  /** log is unused beyond the manager's controller logger; accepted for a uniform setup signature. */
  log?: Logger;
}

/** setup registers the ImageMap controller with the manager (reconciled on changes to ImageMaps and their disable ConfigMaps). */
export function setup(mgr: Manager, _deps: ImageMapSetupDeps = {}): { controller: Controller; reconciler: ImageMapReconciler } {
  const reconciler = new ImageMapReconciler({ cache: mgr.cache });
  const controller = mgr
    .controller('imagemap')
    .for(kind)
    .watches('ConfigMap', disableSourceMapper(mgr.cache, kind))
    .complete(reconciler);
  return { controller, reconciler };
}
