/**
 * Reading request bodies: the size cap, and decoding into objects and DeleteOptions.
 */
import type { IncomingMessage } from 'node:http';
import YAML from 'yaml';
import { badRequest, tooLarge } from './errors.ts';
import type { DeleteOptions } from './rest.ts';

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

/** readBody reads and decodes the object in a POST or PUT body. */
export async function readBody(req: IncomingMessage, maxBody: number): Promise<unknown> {
  const raw = await readRaw(req, maxBody);
  const type = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim();
  try {
    if (type === 'application/yaml' || type === 'application/x-yaml') return YAML.parse(raw);
    return JSON.parse(raw);
  } catch (err) {
    throw badRequest(`the body of the request could not be decoded: ${(err as Error).message}`);
  }
}

/** readDeleteOptions reads the DeleteOptions of a DELETE: its body, then the query's options. */
export async function readDeleteOptions(req: IncomingMessage, q: URLSearchParams, maxBody: number): Promise<DeleteOptions> {
  const raw = await readRaw(req, maxBody);
  let body: DeleteOptions = {};
  if (raw.trim()) {
    try {
      body = JSON.parse(raw);
    } catch (err) {
      throw badRequest(`error decoding DeleteOptions: ${(err as Error).message}`);
    }
  }
  const policy = q.get('propagationPolicy');
  if (policy) body.propagationPolicy = policy as DeleteOptions['propagationPolicy'];
  const orphan = q.get('orphanDependents');
  if (orphan) body.orphanDependents = orphan === 'true';
  if (q.getAll('dryRun').includes('All') || (body as { dryRun?: unknown }).dryRun) body.dryRun = true;
  return body;
}
