/**
 * `ferry apply`: kubectl's client-side apply (a three-way merge patch with the
 * last-applied-configuration annotation, so fields removed from a file are removed from
 * the object) or server-side apply (an apply patch; `--server-side`).
 *
 * Like kubectl, every write asks for strict field validation: a field the schema does not
 * know (`stopPath:` for `stopPaths`, a mis-indented `ignores:`) fails the apply with
 * `strict decoding error: unknown field "spec.stopPath"` instead of being dropped. A dry
 * run is sent to the server too (dryRun=All), so it reports the same errors.
 */
import jsonMergePatch from 'json-merge-patch';
import type { WriteOptions } from '../client/client.ts';
import type { CliClient } from '../client/http.ts';
import { apiVersion, type KindNames, type KindSource } from '../client/kinds.ts';
import type { KubeObject } from '../apis/meta.ts';
import { CliError, connect, explain, type ConnectOptions } from './context.ts';
import { readManifests, type Manifest } from './manifests.ts';

export const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

export interface ApplyOptions {
  serverSide?: boolean;
  /** fieldManager names the writer for server-side apply. Default 'ferry'. */
  fieldManager?: string;
  dryRun?: boolean;
}

/** ApplyClient is what applyOne needs of a client (both CliClient and FerryClient have it). */
export type ApplyClient = Pick<CliClient, 'get' | 'create' | 'patch' | 'apply'> & KindSource;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** withoutNulls keeps only the deletions (null leaves) of a merge patch. */
function deletionsOnly(patch: unknown): Json | undefined {
  if (!isObject(patch)) return undefined;
  const out: Json = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) out[k] = null;
    else if (isObject(v)) {
      const d = deletionsOnly(v);
      if (d && Object.keys(d).length) out[k] = d;
    }
  }
  return out;
}

/** changesOnly drops the deletions of a merge patch: fields the file never set are left alone. */
function changesOnly(patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Json = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) continue;
    if (isObject(v)) {
      const c = changesOnly(v) as Json;
      if (Object.keys(c).length) out[k] = c;
    } else out[k] = v;
  }
  return out;
}

function deepMerge(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Json, v) : v;
  return out;
}

/** threeWayPatch is the merge patch that takes `live` to `desired`, deleting what `last` had and `desired` dropped. */
export function threeWayPatch(last: Json | undefined, desired: Json, live: Json): Json {
  const changes = changesOnly(jsonMergePatch.generate(live, desired) ?? {}) as Json;
  const deletions = last ? deletionsOnly(jsonMergePatch.generate(last, desired)) ?? {} : {};
  return deepMerge(changes, deletions);
}

function prepare(m: Manifest, kinds: KindNames[]): { obj: KubeObject; def: KindNames } {
  const obj = structuredClone(m.object);
  if (obj.apiVersion !== apiVersion) throw new CliError(`${m.source}: apiVersion ${obj.apiVersion} is not served by ferry (want ${apiVersion})`);
  const def = kinds.find((k) => k.kind === obj.kind);
  if (!def) throw new CliError(`${m.source}: no kind "${obj.kind}" is registered for version "${apiVersion}"`);
  return { obj, def };
}

/** applyOne applies one manifest and returns what kubectl would print: created, configured or unchanged. */
export async function applyOne(client: ApplyClient, m: Manifest, opts: ApplyOptions = {}): Promise<string> {
  const { obj, def } = prepare(m, await client.kindNames());
  const name = obj.metadata.name!;
  const label = `${def.singular}.tilt.dev/${name}`;
  // Every write asks for strict field validation, as kubectl does.
  const write: WriteOptions = { fieldValidation: 'Strict', dryRun: opts.dryRun };
  if (opts.serverSide) {
    await client.apply(obj, { ...write, fieldManager: opts.fieldManager ?? 'ferry', force: true });
    return `${label} serverside-applied${opts.dryRun ? ' (server dry run)' : ''}`;
  }
  const desired: KubeObject = structuredClone(obj);
  delete desired.status;
  const annotation = JSON.stringify({ ...desired, metadata: { ...desired.metadata, annotations: { ...(desired.metadata.annotations ?? {}) } } });
  desired.metadata.annotations = { ...(desired.metadata.annotations ?? {}), [lastAppliedAnnotation]: annotation + '\n' };
  const live = await client.get(def.kind, name);
  if (!live) {
    await client.create(desired, write);
    return `${label} created${opts.dryRun ? ' (server dry run)' : ''}`;
  }
  const lastText = live.metadata.annotations?.[lastAppliedAnnotation];
  let last: Json | undefined;
  try {
    last = lastText ? JSON.parse(lastText) : undefined;
  } catch {
    last = undefined;
  }
  const { status: _s, ...liveSpec } = live as KubeObject & Json;
  const patch = threeWayPatch(last, desired as unknown as Json, liveSpec as Json);
  if (Object.keys(patch).length === 0) return `${label} unchanged`;
  await client.patch(def.kind, name, patch, write);
  return `${label} configured${opts.dryRun ? ' (server dry run)' : ''}`;
}

/** applyFiles is `ferry apply -f`: applies every manifest of `files`, printing one line each; exit 1 when any failed. */
export async function applyFiles(conn: ConnectOptions, files: string[], opts: ApplyOptions, out: (line: string) => void): Promise<void> {
  const manifests = readManifests(files);
  const client = await connect(conn);
  let failed = 0;
  try {
    for (const m of manifests) {
      try {
        out(await applyOne(client, m, opts));
      } catch (err) {
        failed++;
        process.stderr.write(`${explain(err)} (${m.source}: ${m.object.kind}/${m.object.metadata?.name})\n`);
      }
    }
  } finally {
    client.close();
  }
  if (failed) throw new CliError('', 1);
}
