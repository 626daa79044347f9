/**
 * Reading request bodies: the size cap, the media type, and decoding with bounded cost.
 *
 * Every body decode goes through parseJSON or parseYAML, which refuse deep nesting before
 * the parser sees it, with a linear scan that stops at the first level over the limit:
 *
 * - JSON: at most {@link maxJSONDepth} (1,000) levels. kube-apiserver refuses JSON nested
 *   more than 10,000 levels with a 400 (Go's encoding/json limit); ferry refuses earlier,
 *   also with a 400, because the checks after decoding recurse once per level on the
 *   JavaScript stack, which overflows near 2,000 levels. No Tilt object comes near 1,000.
 * - YAML: at most {@link maxYAMLDepth} (100) levels and {@link maxYAMLTokens} (50,000)
 *   tokens. The YAML parser recurses per level and costs microseconds per token, so a
 *   2.7 MiB body of `[[[[` or `- - - -` would hold the event loop for seconds and take
 *   gigabytes. A YAML body that is JSON (what kubectl and client-node send) is parsed as
 *   JSON, under the JSON limits.
 */
import type { IncomingMessage } from 'node:http';
import YAML, { CST, Lexer } from 'yaml';
import { badRequest, tooLarge, unsupportedMediaType } from './errors.ts';
import type { DeleteOptions } from './rest.ts';
import { queryBool } from './query.ts';

/** maxJSONDepth is the deepest nesting of arrays and objects a JSON body may have. */
export const maxJSONDepth = 1000;
/** maxYAMLDepth bounds the nesting of a YAML body (flow brackets, indentation and indicators). */
export const maxYAMLDepth = 100;
/** maxYAMLTokens bounds the tokens of a YAML body that is not JSON. */
export const maxYAMLTokens = 50_000;

/** bodyMediaTypes are the media types of POST and PUT bodies; no Content-Type means JSON. */
export const bodyMediaTypes = ['application/json', 'application/yaml'] as const;

/** jsonTooDeep is true when s nests arrays and objects more than limit levels. */
function jsonTooDeep(s: string, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Skip the string: to the next quote not escaped by a backslash.
      for (i++; i < s.length; i++) {
        const d = s.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return false;
}

/**
 * yamlTooComplex says why a YAML text is refused, or undefined. The depth it checks is
 * measured per token: in block context, the indentation of the line plus the block
 * indicators (`-`, `?`, `:`) before the token, since a block collection nests only through
 * more indentation or another indicator (at most one level more than this, where a
 * sequence sits at its key's indentation); inside flow collections, that depth where the
 * outermost one opened plus the open brackets. It stops at the first token over a limit.
 */
function yamlTooComplex(src: string): string | undefined {
  let tokens = 0;
  let flow = 0;
  let base = 0;
  let indent = 0;
  let indicators = 0;
  let lineStart = true;
  for (const token of new Lexer().lex(src)) {
    if (++tokens > maxYAMLTokens) return `the YAML document has more than ${maxYAMLTokens} tokens`;
    const type = CST.tokenType(token);
    if (type === 'newline') {
      indent = 0;
      indicators = 0;
      lineStart = true;
      continue;
    }
    if (type === 'space' || type === 'comment') {
      // Blank lines and comments nest nothing, however far they are indented.
      if (lineStart) indent = token.length;
      continue;
    }
    if (type === 'flow-seq-start' || type === 'flow-map-start') {
      if (flow === 0) base = indent + indicators;
      flow++;
    } else if (type === 'flow-seq-end' || type === 'flow-map-end') flow = Math.max(0, flow - 1);
    else if (flow === 0 && (type === 'seq-item-ind' || type === 'explicit-key-ind' || type === 'map-value-ind')) indicators++;
    lineStart = false;
    const depth = flow > 0 ? base + flow : indent + indicators;
    if (depth > maxYAMLDepth) return `the YAML document nests deeper than ${maxYAMLDepth} levels`;
  }
  return undefined;
}

/** refuseDeepJSON answers 400, starting with `what`, for JSON text that nests deeper than maxJSONDepth. */
function refuseDeepJSON(raw: string, what: string): void {
  if (jsonTooDeep(raw, maxJSONDepth)) throw badRequest(`${what}: the JSON document nests deeper than ${maxJSONDepth} levels`);
}

/** parseJSON decodes JSON text; failures, deep nesting included, are a 400 starting with `what`. */
export function parseJSON(raw: string, what: string): unknown {
  refuseDeepJSON(raw, what);
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw badRequest(`${what}: ${(err as Error).message}`);
  }
}

/** parseYAML decodes YAML text (JSON included) within the limits above; failures are a 400. */
export function parseYAML(raw: string, what: string): unknown {
  const start = /\S/.exec(raw)?.[0];
  if (start === '{' || start === '[') {
    refuseDeepJSON(raw, what);
    try {
      return JSON.parse(raw);
    } catch {
      // Flow-style YAML that is not JSON: parsed as YAML below.
    }
  }
  const refused = yamlTooComplex(raw);
  if (refused) throw badRequest(`${what}: ${refused}`);
  try {
    return YAML.parse(raw);
  } catch (err) {
    throw badRequest(`${what}: ${(err as Error).message}`);
  }
}

/** readRaw reads a request body as text; a body over maxBody bytes is a 413. */
export async function readRaw(req: IncomingMessage, maxBody: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBody) {
    req.resume();
    throw tooLarge(maxBody);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBody) {
        // Drain the rest so the answer can still be read on this connection.
        req.off('data', onData).off('end', onEnd).resume();
        reject(tooLarge(maxBody));
      } else chunks.push(chunk);
    };
    const onEnd = () => resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    req.on('data', onData).on('end', onEnd).on('error', reject);
  });
}

/** mediaType is the media type of a Content-Type header, without parameters, in lower case. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * readBody reads and decodes the object in a POST or PUT body by its Content-Type: JSON
 * (also when there is none, as kube-apiserver reads it) or YAML; anything else is a 415.
 */
export async function readBody(req: IncomingMessage, maxBody: number): Promise<unknown> {
  const header = req.headers['content-type'];
  const type = header === undefined || header.trim() === '' ? 'application/json' : mediaType(header);
  if (!(bodyMediaTypes as readonly string[]).includes(type)) {
    req.resume();
    throw unsupportedMediaType(type, [...bodyMediaTypes]);
  }
  const raw = await readRaw(req, maxBody);
  const what = 'the body of the request could not be decoded';
  return type === 'application/yaml' ? parseYAML(raw, what) : parseJSON(raw, what);
}

/** readDeleteOptions reads the DeleteOptions of a DELETE: its body, then the query's options. */
export async function readDeleteOptions(req: IncomingMessage, q: URLSearchParams, maxBody: number): Promise<DeleteOptions> {
  const raw = await readRaw(req, maxBody);
  let body: DeleteOptions = {};
  if (raw.trim()) body = parseJSON(raw, 'error decoding DeleteOptions') as DeleteOptions;
  const policy = q.get('propagationPolicy');
  if (policy) body.propagationPolicy = policy as DeleteOptions['propagationPolicy'];
  const orphan = queryBool(q, 'orphanDependents');
  if (orphan !== undefined) body.orphanDependents = orphan;
  if (q.getAll('dryRun').includes('All') || (body as { dryRun?: unknown }).dryRun) body.dryRun = true;
  return body;
}
