import { defineKind } from './kind.ts';
import { StringMap, Opt } from './schema.ts';
import type { KubeObject } from './meta.ts';

export interface ConfigMap extends KubeObject<never, never> {
  data?: Record<string, string>;
}

export const configMapKind = defineKind({
  kind: 'ConfigMap',
  plural: 'configmaps',
  singular: 'configmap',
  shortNames: ['cm'],
  description: 'ConfigMap holds configuration data: disable switches and the trigger queue.',
  hasStatus: false,
  fields: { data: Opt(StringMap('Data contains the configuration data.')) },
  requiredFields: [],
  columns: [
    { name: 'Data', type: 'integer', jsonPath: '.data', description: 'Number of keys', value: (o) => Object.keys((o as ConfigMap).data ?? {}).length },
  ],
});
