/**
 * Reading manifests for `apply` and `delete -f`: files, directories (their .yaml, .yml
 * and .json files, sorted) or `-` for standard input; multi-document YAML and JSON,
 * including `kind: List`.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { KubeObject } from '../apis/meta.ts';
import { CliError } from './context.ts';

export interface Manifest {
  source: string;
  object: KubeObject;
}

function filesOf(p: string): string[] {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return [p];
  return fs
    .readdirSync(p)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => path.join(p, f));
}

export function parseManifests(text: string, source: string): Manifest[] {
  const out: Manifest[] = [];
  const docs = YAML.parseAllDocuments(text);
  for (const doc of docs) {
    if (doc.errors.length) throw new CliError(`error parsing ${source}: ${doc.errors[0].message}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new CliError(`error parsing ${source}: a document is not an object`);
    const obj = value as KubeObject & { items?: KubeObject[] };
    if (obj.kind === 'List' && Array.isArray(obj.items)) obj.items.forEach((item) => out.push({ source, object: item }));
    else out.push({ source, object: obj });
  }
  return out;
}

export function readManifests(paths: string[], stdin: () => string = () => fs.readFileSync(0, 'utf8')): Manifest[] {
  const out: Manifest[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push(...parseManifests(stdin(), 'STDIN'));
      continue;
    }
    if (!fs.existsSync(p)) throw new CliError(`the path "${p}" does not exist`);
    for (const f of filesOf(p)) out.push(...parseManifests(fs.readFileSync(f, 'utf8'), f));
  }
  for (const m of out) {
    if (!m.object.kind || !m.object.apiVersion) throw new CliError(`error validating "${m.source}": apiVersion and kind must be set`);
    if (!m.object.metadata?.name && !m.object.metadata?.generateName) throw new CliError(`error validating "${m.source}": ${m.object.kind} has no metadata.name`);
  }
  return out;
}
