/**
 * The kinds of the tilt.dev/v1alpha1 group that ferry serves, and lookups by any of
 * the names kubectl accepts (kind, plural, singular, short name), case-insensitively.
 */
import type { KindDef } from './kind.ts';
import { clusterKind } from './cluster.ts';
import { cmdKind } from './cmd.ts';
import { cmdImageKind } from './cmdimage.ts';
import { configMapKind } from './configmap.ts';
import { dockerComposeLogStreamKind } from './dockercomposelogstream.ts';
import { dockerComposeServiceKind } from './dockercomposeservice.ts';
import { fileWatchKind } from './filewatch.ts';
import { imageMapKind } from './imagemap.ts';
import { kubernetesApplyKind } from './kubernetesapply.ts';
import { kubernetesDiscoveryKind } from './kubernetesdiscovery.ts';
import { liveUpdateKind } from './liveupdate.ts';
import { podLogStreamKind } from './podlogstream.ts';
import { sessionKind } from './session.ts';

export const kinds: readonly KindDef[] = [
  clusterKind,
  cmdKind,
  cmdImageKind,
  configMapKind,
  dockerComposeLogStreamKind,
  dockerComposeServiceKind,
  fileWatchKind,
  imageMapKind,
  kubernetesApplyKind,
  kubernetesDiscoveryKind,
  liveUpdateKind,
  podLogStreamKind,
  sessionKind,
];

const byKind = new Map(kinds.map((k) => [k.kind, k]));
const byPlural = new Map(kinds.map((k) => [k.plural, k]));
const byAnyName = new Map<string, KindDef>();
for (const k of kinds) {
  for (const n of [k.kind, k.plural, k.singular, ...k.shortNames]) byAnyName.set(n.toLowerCase(), k);
  byAnyName.set(`${k.plural}.tilt.dev`, k);
  byAnyName.set(`${k.singular}.tilt.dev`, k);
}

/** kindByName finds a kind by its Kind name (e.g. 'LiveUpdate'). */
export function kindByName(kind: string): KindDef | undefined {
  return byKind.get(kind);
}

/** kindByPlural finds a kind by its resource (plural) name, as in URLs. */
export function kindByPlural(plural: string): KindDef | undefined {
  return byPlural.get(plural);
}

/** resolveKind accepts what kubectl accepts: Kind, plural, singular, short name, optionally with `.tilt.dev`. */
export function resolveKind(name: string): KindDef | undefined {
  return byAnyName.get(name.toLowerCase());
}

/** mustKind is kindByName for names known at compile time. */
export function mustKind(kind: string): KindDef {
  const k = byKind.get(kind);
  if (!k) throw new Error(`unknown kind ${kind}`);
  return k;
}
