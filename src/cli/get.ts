/**
 * `ferry get`, `ferry describe` and `ferry delete`: kubectl's output formats for the
 * tilt.dev kinds (table, wide, yaml, json, name) and a watch that prints each change.
 * As kubectl does, the kinds come from the server's discovery and the table from the server
 * (`Accept: application/json;as=Table`), so these commands load no schema.
 */
import YAML from 'yaml';
import type { KubeObject } from '../apis/meta.ts';
import type { Client } from '../client/client.ts';
import type { CliClient, Table } from '../client/http.ts';
import { resolveKindName, type KindNames, type KindSource } from '../client/kinds.ts';
import { isNotFound } from '../client/errors.ts';
import { CliError } from './context.ts';
import type { Manifest } from './manifests.ts';
import { describeObject } from './describe.ts';
import type { OutputFormat } from './output.ts';
export { outputFormats, type OutputFormat } from './output.ts';

/** kindOrThrow resolves a kind name as kubectl does (plural, singular, short name or Kind), or says the server has no such type. */
export async function kindOrThrow(client: KindSource, name: string): Promise<KindNames> {
  const def = resolveKindName(await client.kindNames(), name);
  if (!def) throw new CliError(`the server doesn't have a resource type "${name}"`);
  return def;
}

function cleanForOutput(obj: KubeObject): KubeObject {
  const o = structuredClone(obj);
  delete o.metadata.managedFields;
  return o;
}

/** tableLines renders a server Table as kubectl does: upper-case headers, columns padded and 3 spaces apart. */
export function tableLines(t: Table, wide: boolean, header = true): string[] {
  const cols = t.columnDefinitions.map((c, i) => ({ name: c.name.toUpperCase(), i, show: wide || !c.priority })).filter((c) => c.show);
  const rows = t.rows.map((r) => cols.map((c) => (r.cells[c.i] === null || r.cells[c.i] === undefined ? '<none>' : String(r.cells[c.i]) || '')));
  const widths = cols.map((c, j) => Math.max(c.name.length, ...rows.map((r) => r[j].length)));
  const fmt = (cells: string[]) => cells.map((s, j) => (j === cells.length - 1 ? s : s.padEnd(widths[j]))).join('   ').trimEnd();
  return [...(header ? [fmt(cols.map((c) => c.name))] : []), ...rows.map(fmt)];
}

/** render prints objects as -o name, json or yaml does. */
export function render(def: KindNames, objs: KubeObject[], format: Exclude<OutputFormat, 'table' | 'wide'>, single: boolean): string {
  switch (format) {
    case 'name':
      return objs.map((o) => `${def.singular}.tilt.dev/${o.metadata.name}`).join('\n');
    case 'json':
      return JSON.stringify(single ? cleanForOutput(objs[0]) : { apiVersion: 'v1', kind: 'List', items: objs.map(cleanForOutput), metadata: { resourceVersion: '' } }, null, 4);
    case 'yaml':
      return YAML.stringify(single ? cleanForOutput(objs[0]) : { apiVersion: 'v1', kind: 'List', items: objs.map(cleanForOutput), metadata: { resourceVersion: '' } }).trimEnd();
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

const notFound = (def: KindNames, name: string) => new CliError(`Error from server (NotFound): ${def.plural}.tilt.dev "${name}" not found`);

export async function get(client: CliClient, kindName: string, name: string | undefined, opts: GetOptions = {}): Promise<void> {
  const kinds = kindName.split(',').filter(Boolean);
  if (kinds.length > 1) return getKinds(client, kinds, name, opts);
  const def = await kindOrThrow(client, kindName);
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const err = opts.err ?? ((l: string) => process.stderr.write(l + '\n'));
  const format = opts.output ?? 'table';
  const tabular = format === 'table' || format === 'wide';
  let rv: string | undefined;
  /** rows keeps each object's last row, for the row of a deletion (the object is gone then). */
  const rows = new Map<string, Table>();
  let printedHeader = false;
  if (tabular) {
    let table: Table;
    try {
      table = await client.table(def.kind, { name, labelSelector: opts.selector });
    } catch (e) {
      if (name && isNotFound(e)) throw notFound(def, name);
      throw e;
    }
    rv = table.metadata?.resourceVersion;
    if (table.rows.length === 0 && !opts.watch) err('No resources found');
    if (table.rows.length) {
      out(tableLines(table, format === 'wide').join('\n'));
      printedHeader = true;
    }
  } else {
    let objs: KubeObject[];
    if (name) {
      const obj = await client.get(def.kind, name);
      if (!obj) throw notFound(def, name);
      objs = [obj];
      rv = obj.metadata.resourceVersion;
    } else {
      const list = await client.list(def.kind, { labelSelector: opts.selector });
      objs = list.items;
      rv = list.metadata.resourceVersion;
      if (objs.length === 0 && !opts.watch) err('No resources found');
    }
    const text = render(def, objs, format, !!name);
    if (text) out(text);
  }
  if (!opts.watch) return;
  // Events are printed in order: a table row is asked of the server for each.
  let printing = Promise.resolve();
  await new Promise<void>((resolve, reject) => {
    client
      .watch(
        def.kind,
        { resourceVersion: rv, fieldSelector: name ? `metadata.name=${name}` : undefined, labelSelector: opts.selector },
        (ev) => {
          if (ev.type === 'BOOKMARK' || ev.type === 'ERROR') return;
          const obj = ev.object as KubeObject;
          const objName = obj.metadata.name!;
          if (!tabular) return out(render(def, [obj], format, true) + (format === 'yaml' ? '\n---' : ''));
          printing = printing.then(async () => {
            let row = rows.get(objName);
            if (ev.type !== 'DELETED') row = await client.table(def.kind, { name: objName }).catch(() => row);
            if (!row) return;
            rows.set(objName, row);
            out(tableLines(row, format === 'wide', !printedHeader).join('\n'));
            printedHeader = true;
          }, reject);
        },
        (e) => (e ? reject(e) : printing.then(() => resolve())),
      )
      .then((handle) => {
        opts.signal?.addEventListener('abort', () => {
          handle.stop();
          printing.then(() => resolve());
        });
      }, reject);
  });
}

/**
 * getKinds is `get` of several kinds (`fw,lu`), as kubectl prints it: the tables of the kinds
 * that have objects, a blank line apart, or one List of every object with -o yaml|json; and
 * `No resources found` once when no kind has any.
 */
async function getKinds(client: CliClient, kinds: string[], name: string | undefined, opts: GetOptions): Promise<void> {
  if (opts.watch) throw new CliError('error: you may only specify a single resource type when watching');
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const err = opts.err ?? ((l: string) => process.stderr.write(l + '\n'));
  const format = opts.output ?? 'table';
  if (format === 'yaml' || format === 'json') {
    const items: KubeObject[] = [];
    let def: KindNames | undefined;
    for (const k of kinds) {
      def = await kindOrThrow(client, k);
      if (name) {
        const obj = await client.get(def.kind, name);
        if (!obj) throw notFound(def, name);
        items.push(obj);
      } else {
        items.push(...(await client.list(def.kind, { labelSelector: opts.selector })).items);
      }
    }
    if (items.length === 0) err('No resources found');
    out(render(def!, items, format, false));
    return;
  }
  let printed = false;
  for (const k of kinds) {
    const lines: string[] = [];
    await get(client, k, name, { ...opts, out: (l) => lines.push(l), err: () => undefined });
    if (lines.length === 0) continue;
    if (printed && format !== 'name') out('');
    for (const l of lines) out(l);
    printed = true;
  }
  if (!printed) err('No resources found');
}

/** describe prints an object the way kubectl describe prints a custom resource (see describe.ts). */
export async function describe(client: Client & KindSource, kindName: string, name: string): Promise<string> {
  const def = await kindOrThrow(client, kindName);
  const obj = await client.get(def.kind, name);
  if (!obj) throw notFound(def, name);
  return describeObject(obj);
}

/** deleteObjects deletes by kind and names, or every object of some manifests. */
export async function deleteObjects(client: Client & KindSource, targets: Array<{ kind: string; name: string }>, ignoreNotFound = false): Promise<string[]> {
  const lines: string[] = [];
  for (const t of targets) {
    const def = await kindOrThrow(client, t.kind);
    try {
      await client.delete(def.kind, t.name, { propagationPolicy: 'Background' });
      lines.push(`${def.singular}.tilt.dev "${t.name}" deleted`);
    } catch (err) {
      if (isNotFound(err)) {
        if (ignoreNotFound) continue;
        throw notFound(def, t.name);
      }
      throw err;
    }
  }
  return lines;
}

export function targetsOf(manifests: Manifest[]): Array<{ kind: string; name: string }> {
  return manifests.map((m) => ({ kind: m.object.kind!, name: m.object.metadata.name! }));
}
