import { Obj, Opt, Str, Bool, Time, Type, Enum, type Static } from './schema.ts';

export const ConfigMapDisableSource = Obj('Specifies a ConfigMap to control a DisableSource', {
  name: Str('The name of the ConfigMap'),
  key: Str('The key where the enable/disable state is stored.'),
});

export const DisableSource = Obj('Points at a thing that can control whether something is disabled', {
  configMap: Opt(ConfigMapDisableSource),
  everyConfigMap: Opt(Type.Array(ConfigMapDisableSource, {
    description: 'This DisableSource is controlled by several ConfigMaps: disabled only when every one of them says disabled.',
  })),
});
export type DisableSource = Static<typeof DisableSource>;

export const disableStates = ['Enabled', 'Disabled', 'Pending', 'Error'] as const;
export type DisableState = (typeof disableStates)[number];

export const DisableStatus = Obj('Whether and why the object is disabled', {
  disabled: Bool('Whether the object is disabled (true for the states Disabled, Pending and Error).'),
  lastUpdateTime: Time('The last time the status changed.'),
  reason: Str('The reason the object is in this state.'),
  state: Enum('Whether the object is disabled: Enabled, Disabled, Pending or Error.', disableStates),
});
export type DisableStatus = Static<typeof DisableStatus>;

export const disableSourceField = (what: string) => Opt({ ...DisableSource, description: `Specifies how to disable this ${what}.` });
export const disableStatusField = (what: string) => Opt({ ...DisableStatus, description: `Details about whether and why this ${what} is disabled.` });
