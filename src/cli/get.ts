/**
 * `ferry get`, `ferry describe` and `ferry delete`: kubectl's output formats for the
 * tilt.dev kinds (table, wide, yaml, json, name) and a watch that prints each change.
 */
import YAML from 'yaml';
import type { KindDef } from '../apis/kind.ts';
import { resolveKind } from '../apis/registry.ts';
import type { KubeObject } from '../apis/meta.ts';
import type { Client } from '../client/client.ts';
import { isNotFound } from '../client/errors.ts';
import { toTable } from '../apiserver/table.ts';
import { CliError } from './context.ts';
import type { Manifest } from './manifests.ts';
import { describeObject } from './describe.ts';

import type { OutputFormat } from './output.ts';
export { outputFormats, type OutputFormat } from './output.ts';

export function kindOrThrow(name: string): KindDef {
  const def = resolveKind(name);
  if (!def) throw new CliError(`the server doesn't have a resource type "${name}"`);
  return def;
}

function cleanForOutput(obj: KubeObject): KubeObject {
  const o = structuredClone(obj);
  delete o.metadata.managedFields;
  return o;
}

/** tableLines renders rows as kubectl does: upper-case headers, columns padded and 3 spaces apart. */
export function tableLines(def: KindDef, objs: KubeObject[], wide: boolean, header = true): string[] {
  const t = toTable(def, objs, { version: 'v1', includeObject: 'None' }, {});
  const cols = t.columnDefinitions!.map((c, i) => ({ name: c.name.toUpperCase(), i, show: wide || c.priority === 0 })).filter((c) => c.show);
  const rows = t.rows.map((r) => cols.map((c) => (r.cells[c.i] === null || r.cells[c.i] === undefined ? '<none>' : String(r.cells[c.i]) || '')));
  const widths = cols.map((c, j) => Math.max(c.name.length, ...rows.map((r) => r[j].length)));
  const fmt = (cells: string[]) => cells.map((s, j) => (j === cells.length - 1 ? s : s.padEnd(widths[j]))).join('   ').trimEnd();
  return [...(header ? [fmt(cols.map((c) => c.name))] : []), ...rows.map(fmt)];
}

export function render(def: KindDef, objs: KubeObject[], format: OutputFormat, single: boolean): string {
  switch (format) {
    case 'name':
      return objs.map((o) => `${def.singular}.tilt.dev/${o.metadata.name}`).join('\n');
    case 'json':
      return JSON.stringify(single ? cleanForOutput(objs[0]) : { apiVersion: 'v1', kind: 'List', items: objs.map(cleanForOutput), metadata: { resourceVersion: '' } }, null, 4);
    case 'yaml':
      return YAML.stringify(single ? cleanForOutput(objs[0]) : { apiVersion: 'v1', kind: 'List', items: objs.map(cleanForOutput), metadata: { resourceVersion: '' } }).trimEnd();
    default:
      if (objs.length === 0) return '';
      return tableLines(def, objs, format === 'wide').join('\n');
  }
}

export interface GetOptions {
  output?: OutputFormat;
  watch?: boolean;
  selector?: string;
  out?: (line: string) => void;
  err?: (line: string) => void;
  /** signal stops a watch. */
  signal?: AbortSignal;
}

export async function get(client: Client, kindName: string, name: string | undefined, opts: GetOptions = {}): Promise<void> {
  const kinds = kindName.split(',').filter(Boolean);
  if (kinds.length > 1) {
    if (opts.watch) throw new CliError('error: you may only specify a single resource type when watching');
    const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
    for (const [i, k] of kinds.entries()) {
      if (i > 0) out('');
      await get(client, k, name, { ...opts, err: () => undefined });
    }
    return;
  }
  const def = kindOrThrow(kindName);
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const format = opts.output ?? 'table';
  let objs: KubeObject[];
  let rv: string | undefined;
  if (name) {
    const obj = await client.get(def.kind, name);
    if (!obj) throw new CliError(`Error from server (NotFound): ${def.plural}.tilt.dev "${name}" not found`);
    objs = [obj];
    rv = obj.metadata.resourceVersion;
  } else {
    const list = await client.list(def.kind, { labelSelector: opts.selector });
    objs = list.items;
    rv = list.metadata.resourceVersion;
    if (objs.length === 0 && !opts.watch) (opts.err ?? ((l: string) => process.stderr.write(l + '\n')))('No resources found');
  }
  const text = render(def, objs, format, !!name);
  if (text) out(text);
  if (!opts.watch) return;
  await new Promise<void>((resolve, reject) => {
    let printedHeader = objs.length > 0;
    client
      .watch(
        def.kind,
        { resourceVersion: rv, fieldSelector: name ? `metadata.name=${name}` : undefined, labelSelector: opts.selector },
        (ev) => {
          if (ev.type === 'BOOKMARK' || ev.type === 'ERROR') return;
          const obj = ev.object as KubeObject;
          if (format === 'table' || format === 'wide') {
            out(tableLines(def, [obj], format === 'wide', !printedHeader).join('\n'));
            printedHeader = true;
          } else out(render(def, [obj], format, true) + (format === 'yaml' ? '\n---' : ''));
        },
        (err) => (err ? reject(err) : resolve()),
      )
      .then((handle) => {
        opts.signal?.addEventListener('abort', () => {
          handle.stop();
          resolve();
        });
      }, reject);
  });
}

/** describe prints an object the way kubectl describe prints a custom resource (see describe.ts). */
export async function describe(client: Client, kindName: string, name: string): Promise<string> {
  const def = kindOrThrow(kindName);
  const obj = await client.get(def.kind, name);
  if (!obj) throw new CliError(`Error from server (NotFound): ${def.plural}.tilt.dev "${name}" not found`);
  return describeObject(obj);
}

/** deleteObjects deletes by kind and names, or every object of some manifests. */
export async function deleteObjects(client: Client, targets: Array<{ kind: string; name: string }>, ignoreNotFound = false): Promise<string[]> {
  const lines: string[] = [];
  for (const t of targets) {
    const def = kindOrThrow(t.kind);
    try {
      await client.delete(def.kind, t.name, { propagationPolicy: 'Background' });
      lines.push(`${def.singular}.tilt.dev "${t.name}" deleted`);
    } catch (err) {
      if (isNotFound(err)) {
        if (ignoreNotFound) continue;
        throw new CliError(`Error from server (NotFound): ${def.plural}.tilt.dev "${t.name}" not found`);
      }
      throw err;
    }
  }
  return lines;
}

export function targetsOf(manifests: Manifest[]): Array<{ kind: string; name: string }> {
  return manifests.map((m) => ({ kind: m.object.kind!, name: m.object.metadata.name! }));
}
