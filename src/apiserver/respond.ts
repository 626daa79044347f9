/**
 * Writing answers: JSON bodies with optional warnings, and lists that reuse each stored
 * object's encoding instead of encoding it again.
 */
import type { ServerResponse } from 'node:http';
import type { KindDef } from '../apis/kind.ts';
import { apiVersion, type KubeObject } from '../apis/meta.ts';
import { encode } from './store.ts';

/** sendJSON answers with body as JSON, indented when pretty, with `Warning` headers. */
export function sendJSON(res: ServerResponse, code: number, body: object, pretty: boolean, warnings: string[] = []): void {
  send(res, code, pretty ? JSON.stringify(body, null, 2) + '\n' : encode(body), warnings);
}

function send(res: ServerResponse, code: number, json: string, warnings: string[] = []): void {
  const headers: Record<string, string | string[]> = { 'Content-Type': 'application/json' };
  // A header carries only Latin-1: anything past ASCII in a warning is sent \u-escaped.
  if (warnings.length) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}`);
  res.writeHead(code, headers);
  res.end(json);
}

/** sendList answers with a list of stored objects, reusing each one's stored encoding. */
export function sendList(res: ServerResponse, def: KindDef, meta: object, items: KubeObject[], pretty: boolean): void {
  const list = { apiVersion, kind: `${def.kind}List`, metadata: meta, items };
  if (pretty) return sendJSON(res, 200, list, pretty);
  const head = JSON.stringify({ ...list, items: [] }).slice(0, -3);
  send(res, 200, `${head}[${items.map(encode).join(',')}]}`);
}
