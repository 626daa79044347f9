/**
 * ImageMapReconciler keeps track of ImageMaps. An ImageMap's status is written by whoever builds
 * its image (the CmdImage reconciler); this reconciler only reports, once per change, a selector
 * that is not an image reference and a change of the disable state.
 */
import type { ConfigMap } from '../../src/apis/configmap.ts';
import type { ImageMap } from '../../src/apis/imagemap.ts';
import type { Cache, ReconcileContext, Reconciler, Request } from '../../src/runtime/index.ts';
import { imageMapDisableState, selectorError } from './status.ts';

export const kind = 'ImageMap';

/** ImageMapReconcilerDeps are what the reconciler reads from. */
export interface ImageMapReconcilerDeps {
  cache: Cache;
}

interface Reported {
  error?: string;
  state: string;
  reason: string;
}

export class ImageMapReconciler implements Reconciler {
  private readonly reported = new Map<string, Reported>();

  constructor(private readonly deps: ImageMapReconcilerDeps) {}

  async reconcile(req: Request, ctx: ReconcileContext): Promise<void> {
    const im = this.deps.cache.get<ImageMap>(kind, req.name);
    if (!im || im.metadata.deletionTimestamp) {
      this.reported.delete(req.name);
      return;
    }
    const error = selectorError(im);
    const disabled = imageMapDisableState(im, (n) => this.deps.cache.get<ConfigMap>('ConfigMap', n));
    const prev = this.reported.get(req.name);
    if (prev && prev.error === error && prev.state === disabled.state && prev.reason === disabled.reason) return;
    this.reported.set(req.name, { error, state: disabled.state, reason: disabled.reason });
    if (error) ctx.log.warn('ImageMap selector matches nothing', { error });
    if (im.spec?.disableSource) ctx.log.info('ImageMap disable state', { state: disabled.state, reason: disabled.reason });
  }

  /** disableState is the last evaluated disable state of an ImageMap, for other controllers. */
  disableState(name: string): string | undefined {
    return this.reported.get(name)?.state;
  }
}
