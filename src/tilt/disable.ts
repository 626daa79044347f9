import type { DisableSource, DisableState, DisableStatus } from '../apis/common.ts';
import { goQuote, parseGoBool } from '../apis/go.ts';
import type { ConfigMap } from '../apis/configmap.ts';
import { toTime, type KubeObject } from '../apis/meta.ts';
import type { Cache, MapFn } from '../runtime/index.ts';

/** DisableVerdict is the state a DisableSource puts an object in, and why. */
export interface DisableVerdict {
  state: DisableState;
  reason: string;
}

/** ConfigMapLookup finds a ConfigMap by name, undefined when it does not exist. */
export type ConfigMapLookup = (name: string) => ConfigMap | undefined;

/**
 * evaluateDisableSource decides Tilt's disable state from a DisableSource:
 * - no source: Enabled;
 * - `configMap`: Pending while the ConfigMap is missing, Error when its key is missing or not a
 *   Go bool, else Disabled for true and Enabled for false;
 * - `everyConfigMap`: Disabled when every entry is, else the first entry that is not;
 * - neither: Error.
 */
export function evaluateDisableSource(source: DisableSource | undefined, lookup: ConfigMapLookup): DisableVerdict {
  if (!source) return { state: 'Enabled', reason: 'object does not specify a DisableSource' };
  if (source.configMap) return evaluateConfigMap(source.configMap.name, source.configMap.key, lookup);
  if (source.everyConfigMap && source.everyConfigMap.length > 0) {
    for (const cm of source.everyConfigMap) {
      const verdict = evaluateConfigMap(cm.name, cm.key, lookup);
      if (verdict.state !== 'Disabled') return verdict;
    }
    return { state: 'Disabled', reason: 'Every ConfigMap disabled' };
  }
  return { state: 'Error', reason: 'DisableSource specifies no valid sources' };
}

function evaluateConfigMap(name: string, key: string, lookup: ConfigMapLookup): DisableVerdict {
  const cm = lookup(name);
  if (!cm) return { state: 'Pending', reason: `ConfigMap ${goQuote(name)} does not exist` };
  const data = cm.data ?? {};
  if (!Object.prototype.hasOwnProperty.call(data, key)) {
    return { state: 'Error', reason: `ConfigMap ${goQuote(name)} has no key ${goQuote(key)}` };
  }
  const value = data[key];
  const parsed = parseGoBool(value);
  if (typeof parsed !== 'boolean') {
    return {
      state: 'Error',
      reason: `error parsing ConfigMap/key ${goQuote(name)}/${goQuote(key)} value ${goQuote(value)} as a bool: ${parsed.error}`,
    };
  }
  return { state: parsed ? 'Disabled' : 'Enabled', reason: `ConfigMap/key ${goQuote(name)}/${goQuote(key)} is ${parsed}` };
}

/**
 * disableStatus is the DisableStatus to store: `prev` itself when neither state nor reason
 * changed, else a new status stamped with `now` (to the second). `disabled` is true for every
 * state but Enabled.
 */
export function disableStatus(
  source: DisableSource | undefined,
  lookup: ConfigMapLookup,
  prev: DisableStatus | undefined,
  now: Date,
): DisableStatus {
  const { state, reason } = evaluateDisableSource(source, lookup);
  if (prev && prev.state === state && prev.reason === reason) return prev;
  return { disabled: state !== 'Enabled', lastUpdateTime: toTime(now), reason, state };
}

/** Objects that can be disabled carry `spec.disableSource` and `status.disableStatus`. */
export type Disableable = KubeObject<{ disableSource?: DisableSource }, { disableStatus?: DisableStatus }>;

/**
 * disableStatusFor computes obj's DisableStatus from its spec.disableSource, its current
 * status.disableStatus and the ConfigMaps in the cache (which must cache ConfigMap: use
 * disableSourceMapper in the controller's builder).
 */
export function disableStatusFor(cache: Cache, obj: Disableable, now: Date): DisableStatus {
  return disableStatus(
    obj.spec?.disableSource,
    (name) => cache.get<ConfigMap>('ConfigMap', name),
    obj.status?.disableStatus,
    now,
  );
}

/** disableSourceIndex is the cache index from a ConfigMap name to the objects it can disable. */
export const disableSourceIndex = 'disableSource.configMap';

/** disableSourceConfigMaps lists the ConfigMap names obj's disableSource refers to. */
export function disableSourceConfigMaps(obj: Disableable): string[] {
  const src = obj.spec?.disableSource;
  if (!src) return [];
  const names = (src.everyConfigMap ?? []).map((c) => c.name);
  if (src.configMap) names.unshift(src.configMap.name);
  return names;
}

/**
 * disableSourceMapper is the MapFn that wakes the `kind` objects whose disableSource names a
 * changed ConfigMap. It indexes `kind` by disableSourceConfigMaps:
 *
 *     .watches('ConfigMap', disableSourceMapper(mgr.cache, 'FileWatch'))
 */
export function disableSourceMapper(cache: Cache, kind: string): MapFn<ConfigMap> {
  cache.addIndex(kind, disableSourceIndex, disableSourceConfigMaps as (o: KubeObject) => string[]);
  cache.inform('ConfigMap');
  return (cm) => cache.byIndex(kind, disableSourceIndex, cm.metadata.name ?? '').map((o) => o.metadata.name ?? '');
}
