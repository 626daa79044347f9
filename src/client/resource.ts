/** Where each kind of the tilt.dev/v1alpha1 group is served: shared by both clients. */
import { group, version } from '../apis/meta.ts';
import { kindByName } from '../apis/registry.ts';

/** Resource locates a kind on the server. */
export interface Resource {
  group: string;
  version: string;
  plural: string;
}

/** resourceFor finds where a kind of the tilt.dev/v1alpha1 group is served. */
export function resourceFor(kind: string): Resource {
  const def = kindByName(kind);
  if (!def) throw new Error(`unknown kind ${JSON.stringify(kind)}`);
  return { group, version, plural: def.plural };
}
