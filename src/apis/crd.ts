/**
 * CustomResourceDefinitions for running ferry's controllers against any Kubernetes API
 * server: generated from the same schemas the embedded server serves.
 */
import YAML from 'yaml';
import { kinds } from './registry.ts';
import { group, version } from './meta.ts';
import type { KindDef } from './kind.ts';
import { toOpenAPI } from './schema.ts';

/** structural removes what a CRD's structural schema does not allow (formats it rejects, empty required). */
function structural(schema: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v as Record<string, Record<string, unknown>>).map(([n, s]) => [n, structural(s)]));
    } else if (k === 'items' || (k === 'additionalProperties' && typeof v === 'object')) {
      out[k] = structural(v as Record<string, unknown>);
    } else if (k === 'anyOf') {
      // int-or-string: the CRD form is the extension alone.
      continue;
    } else if (k === 'enum' && Array.isArray(v)) {
      out.enum = v;
    } else out[k] = v;
  }
  if (out['x-kubernetes-int-or-string']) delete out.type;
  if (out.type === 'object' && out.properties && Object.keys(out.properties as object).length === 0 && !out.additionalProperties) {
    out['x-kubernetes-preserve-unknown-fields'] = true;
  }
  return out;
}

export function crdFor(k: KindDef) {
  const properties: Record<string, unknown> = {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
  };
  for (const [name, s] of Object.entries(k.fields)) properties[name] = structural(toOpenAPI(s));
  const schema: Record<string, unknown> = { type: 'object', description: k.description, properties };
  if (k.requiredFields.length) schema.required = k.requiredFields;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${group}` },
    spec: {
      group,
      scope: 'Cluster',
      names: { kind: k.kind, listKind: `${k.kind}List`, plural: k.plural, singular: k.singular, ...(k.shortNames.length ? { shortNames: k.shortNames } : {}) },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: schema },
          ...(k.hasStatus ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: [
            ...k.columns.map((c) => ({ name: c.name, type: c.type, jsonPath: c.jsonPath, description: c.description, ...(c.priority ? { priority: c.priority } : {}) })),
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
        },
      ],
    },
  };
}

/** crdFiles maps each file name under deploy/crds to its YAML. */
export function crdFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const k of kinds) {
    files.set(`${group}_${k.plural}.yaml`, `# Generated from src/apis by \`npm run gen:crds\`. Do not edit.\n${YAML.stringify(crdFor(k), { lineWidth: 0 })}`);
  }
  return files;
}
