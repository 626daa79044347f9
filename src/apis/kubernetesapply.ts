import { defineKind } from './kind.ts';
import { Obj, Opt, Str, StrList, Bool, Int32, Int64, MicroTime, Time, Type, type Static } from './schema.ts';
import { disableSourceField, disableStatusField } from './common.ts';
import { LabelSelector, PodLogStreamTemplateSpec } from './kubernetesdiscovery.ts';
import { sinceTimeErrors } from './podlogstream.ts';
import { parseGoDuration } from './go.ts';
import { invalid, notSupported, required, type FieldError } from './field-errors.ts';
import type { KubeObject } from './meta.ts';

/** The default of `spec.timeout`: an apply that takes longer fails. */
export const kubernetesApplyTimeoutDefaultMs = 30_000;

/** Discovery strategies: follow the applied objects' pods (and extra selectors), or only the selectors. */
export const kubernetesDiscoveryStrategies = ['default', 'selectors-only'] as const;
export type KubernetesDiscoveryStrategy = (typeof kubernetesDiscoveryStrategies)[number];

/** The condition type set when the apply was for a Job that has already run to completion. */
export const applyConditionJobComplete = 'JobComplete';

export const ObjectSelector = Obj('Selects Kubernetes objects by regular expressions over their apiVersion, kind, name and namespace. An empty expression matches everything.', {
  apiVersionRegexp: Opt(Str('A regular expression apiVersion match.')),
  kindRegexp: Opt(Str('A regular expression kind match.')),
  nameRegexp: Opt(Str('A regular expression name match.')),
  namespaceRegexp: Opt(Str('A regular expression namespace match.')),
});
export type ObjectSelector = Static<typeof ObjectSelector>;

export const KubernetesImageObjectDescriptor = Obj('Describes an image reference held as an object of separate repository and tag fields, as many CRDs do.', {
  repoField: Str('The name of the field that contains the image repository.'),
  tagField: Str('The name of the field that contains the image tag.'),
});
export type KubernetesImageObjectDescriptor = Static<typeof KubernetesImageObjectDescriptor>;

export const KubernetesImageLocator = Obj('Finds image references in Kubernetes YAML. Needed when injecting images into CRDs.', {
  objectSelector: ObjectSelector,
  path: Str('A JSON path to the image reference field.\n\nIf Object is empty, the field should be a string.\n\nIf Object is non-empty, the field should be an object with subfields.'),
  object: Opt(KubernetesImageObjectDescriptor),
});
export type KubernetesImageLocator = Static<typeof KubernetesImageLocator>;

export const KubernetesDiscoveryTemplateSpec = Obj('Describes how pods are discovered for the objects an apply creates.', {
  extraSelectors: Opt(Type.Array(LabelSelector, { description: 'ExtraSelectors are label selectors that will force discovery of a Pod even if it does not match the AncestorUID.\n\nThis should only be necessary in the event that a CRD creates Pods but does not set an owner reference to itself.' })),
});
export type KubernetesDiscoveryTemplateSpec = Static<typeof KubernetesDiscoveryTemplateSpec>;

export const PortForward = Obj('A port to forward from the local machine to a pod.', {
  localPort: Opt(Int32('The port to expose on the current machine.\n\nIf not specified (or 0), a random free port will be chosen and can be discovered via the status once established.')),
  containerPort: Int32('The port on the Kubernetes pod to connect to. Required.'),
  host: Opt(Str('Optional host to bind to on the current machine.\n\nIf not explicitly specified, uses the bind host of the web UI (usually localhost).')),
  name: Opt(Str('Name to identify this port forward.')),
  path: Opt(Str('Path to include as part of generated links for port forward.')),
});

export const PortForwardTemplateSpec = Obj('Describes port forwards that can be shared across pods.', {
  forwards: Type.Array(PortForward, { description: 'One or more port forwards to execute on the given pod. Required.' }),
});
export type PortForwardTemplateSpec = Static<typeof PortForwardTemplateSpec>;

export const KubernetesApplyCmd = Obj('A custom command that applies (or deletes) the entities of a KubernetesApply.', {
  args: StrList('Args are the command-line arguments for the apply command. Must have length >= 1.'),
  dir: Opt(Str('Process working directory.\n\nIf not specified, will default to the working directory of the ferry process.')),
  env: Opt(StrList('Env are additional variables for the process environment.\n\nEnvironment variables are layered on top of the environment variables that ferry runs with.')),
});
export type KubernetesApplyCmd = Static<typeof KubernetesApplyCmd>;

export const KubernetesApplySpec = Obj('KubernetesApplySpec defines the desired state of KubernetesApply', {
  yaml: Opt(Str('YAML to apply to the cluster.\n\nExactly one of YAML OR ApplyCmd MUST be provided.')),
  imageMaps: Opt(StrList('Names of image maps that this applier depends on.\n\nThe controller will watch all the image maps, and redeploy the entire YAML if any of the maps resolve to a new image.')),
  imageLocators: Opt(Type.Array(KubernetesImageLocator, { description: 'Descriptors of how to find images in the YAML.\n\nNeeded when injecting images into CRDs.' })),
  timeout: Opt(Str('The timeout on the apply operation, as a duration (e.g. "30s").\n\nThe default timeout is 30s.')),
  kubernetesDiscoveryTemplateSpec: Opt(KubernetesDiscoveryTemplateSpec),
  portForwardTemplateSpec: Opt(PortForwardTemplateSpec),
  podLogStreamTemplateSpec: Opt(PodLogStreamTemplateSpec),
  discoveryStrategy: Opt(Str('DiscoveryStrategy describes how we set up pod watches for the applied resources: "default" follows the owner references of pods to the applied objects (and the extra selectors), "selectors-only" uses only the extra selectors. This affects all systems that attach to pods, including resource readiness and live-updates.')),
  disableSource: disableSourceField('KubernetesApply'),
  applyCmd: Opt({ ...KubernetesApplyCmd, description: 'ApplyCmd is a custom command to execute to deploy entities to the Kubernetes cluster.\n\nThe command must be idempotent, e.g. it must not fail if some or all entities already exist.\n\nThe ApplyCmd MUST return valid Kubernetes YAML for the entities it applied to the cluster.\n\nExactly one of YAML OR ApplyCmd MUST be provided.' }),
  restartOn: Opt(Obj('RestartOnSpec indicates the set of objects that can trigger a restart of this object.', {
    fileWatches: Opt(StrList('FileWatches that can trigger a restart.')),
    uiButtons: Opt(StrList('UIButtons that can trigger a restart.')),
  })),
  deleteCmd: Opt({ ...KubernetesApplyCmd, description: 'DeleteCmd is a custom command to execute to delete entities created by ApplyCmd and clean up any additional state.' }),
  cluster: Opt(Str('Cluster name to determine the Kubernetes cluster.\n\nIf not provided, "default" will be used.')),
  serverSideApply: Opt(Bool('ServerSideApply applies the objects on the server (server-side apply) instead of the client. If not provided, defaults to false (client-side apply).')),
});
export type KubernetesApplySpec = Static<typeof KubernetesApplySpec>;

export const Condition = Obj('Condition contains details for one aspect of the current state of this API Resource.', {
  type: Str('type of condition in CamelCase or in foo.example.com/CamelCase.'),
  status: Str('status of the condition, one of True, False, Unknown.'),
  observedGeneration: Opt(Int64('observedGeneration represents the .metadata.generation that the condition was set based upon.')),
  lastTransitionTime: Opt(Time('lastTransitionTime is the last time the condition transitioned from one status to another.')),
  reason: Opt(Str("reason contains a programmatic identifier indicating the reason for the condition's last transition.")),
  message: Opt(Str('message is a human readable message indicating details about the transition. This may be an empty string.')),
});
export type Condition = Static<typeof Condition>;

export const KubernetesApplyStatus = Obj('KubernetesApplyStatus defines the observed state of KubernetesApply', {
  resultYAML: Opt(Str('The result of applying the YAML to the cluster. This should contain UIDs for the applied resources.')),
  error: Opt(Str('An error applying the YAML.\n\nIf there was an error, than ResultYAML should be empty (and vice versa).')),
  lastApplyTime: Opt(MicroTime('Timestamp of we last finished applying this YAML to the cluster.\n\nWhen populated, must be equal or after the LastApplyStartTime field.')),
  lastApplyStartTime: Opt(MicroTime('Timestamp of when we last started applying this YAML to the cluster.')),
  appliedInputHash: Opt(Str('A base64-encoded hash of all the inputs to the apply.\n\nCode that waits for an update to be applied should note that the reconciler may "skip" an update (e.g., if two images get updated in quick succession before the reconciler injects them into the YAML), so a particular AppliedInputHash might never appear.')),
  disableStatus: disableStatusField('KubernetesApply'),
  conditions: Opt(Type.Array(Condition, { description: 'Conditions based on the result of the apply.' })),
});
export type KubernetesApplyStatus = Static<typeof KubernetesApplyStatus>;

export type KubernetesApply = KubeObject<KubernetesApplySpec, KubernetesApplyStatus>;

const exactlyOne = 'must specify exactly ONE of .spec.yaml or .spec.applyCmd';

export const kubernetesApplyKind = defineKind({
  kind: 'KubernetesApply',
  plural: 'kubernetesapplys',
  singular: 'kubernetesapply',
  shortNames: ['ka', 'kapp'],
  description: 'KubernetesApply specifies a blob of YAML to apply, and a set of ImageMaps that the YAML depends on. The controller waits until every ImageMap has an image, injects the images into the YAML, labels what it applies and applies it to the cluster; it redeploys the entire YAML when any ImageMap resolves to a new image.',
  hasStatus: true,
  fields: { spec: KubernetesApplySpec, status: Opt(KubernetesApplyStatus) },
  requiredFields: ['spec'],
  validate(obj: KubernetesApply) {
    const errs: FieldError[] = [];
    const spec = obj.spec;
    if (!spec) return errs;
    const strategy = spec.discoveryStrategy;
    if (strategy && !(kubernetesDiscoveryStrategies as readonly string[]).includes(strategy)) {
      errs.push(notSupported('spec.discoveryStrategy', strategy, kubernetesDiscoveryStrategies));
    }
    if (spec.yaml) {
      if (spec.applyCmd) errs.push(invalid('spec.applyCmd', spec.applyCmd, exactlyOne));
    } else if (spec.applyCmd) {
      if (!spec.applyCmd.args?.length) errs.push(required('spec.applyCmd.args', 'args cannot be empty'));
    } else {
      errs.push(required('spec.yaml', exactlyOne));
    }
    errs.push(...sinceTimeErrors('spec.podLogStreamTemplateSpec.sinceTime', spec.podLogStreamTemplateSpec?.sinceTime));
    if (spec.timeout) {
      try {
        parseGoDuration(spec.timeout);
      } catch {
        errs.push(invalid('spec.timeout', spec.timeout, 'must be a duration such as "30s" or "5m"'));
      }
    }
    return errs;
  },
  columns: [
    { name: 'Cluster', type: 'string', jsonPath: '.spec.cluster', description: 'Cluster the objects are applied to' },
    { name: 'Last Apply', type: 'date', jsonPath: '.status.lastApplyTime', description: 'When the last apply finished' },
    { name: 'Error', type: 'string', jsonPath: '.status.error', description: 'Why the last apply failed' },
    { name: 'Image Maps', type: 'string', jsonPath: '.spec.imageMaps', description: 'Images injected into the YAML', priority: 1, value: (o) => ((o.spec as KubernetesApplySpec)?.imageMaps ?? []).join(',') },
  ],
});
