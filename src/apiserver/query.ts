/**
 * Query parameters of the REST API, read as kube-apiserver reads them: scalars (booleans
 * and integers, as its parameter codec reads them, so that clients other than kubectl get
 * the answers they expect), selectors, resourceVersion, list options and continue tokens,
 * and the options of writes.
 */
import { goQuote, parseGoBool } from '../apis/go.ts';
import { badRequest, invalid } from './errors.ts';
import { parseFieldSelector, parseLabelSelector, type Matcher } from './selectors.ts';
import type { WriteOptions } from './rest.ts';

/** fieldValidationModes are the values of `fieldValidation`: what unknown fields in a write do. */
export const fieldValidationModes = ['Strict', 'Warn', 'Ignore'] as const;
export type FieldValidation = (typeof fieldValidationModes)[number];

/**
 * queryBool reads a boolean query parameter as kube-apiserver does (apimachinery's
 * Convert_Slice_string_To_bool): absent is undefined; `0` and `false` in any case are
 * false; any other value, the empty one included, is true. So `watch=True` (the Python
 * client) and `watch=1` both watch.
 */
export function queryBool(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  return !(v === '0' || v.toLowerCase() === 'false');
}

/**
 * queryPretty reads `pretty` as kube-apiserver does: Go's strconv.ParseBool, where a value
 * it does not parse means not pretty.
 */
export function queryPretty(q: URLSearchParams): boolean {
  return parseGoBool(q.get('pretty') ?? '') === true;
}

const int64Max = 2n ** 63n - 1n;
const int64Min = -(2n ** 63n);

/**
 * queryInt64 reads an integer query parameter as kube-apiserver does, with Go's
 * strconv.ParseInt (base 10, 64 bits): absent is undefined; anything else that is not an
 * integer in range is a 400 with Go's message.
 */
export function queryInt64(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (!/^[+-]?\d+$/.test(v)) throw badRequest(`strconv.ParseInt: parsing ${goQuote(v)}: invalid syntax`);
  const n = BigInt(v);
  if (n > int64Max || n < int64Min) throw badRequest(`strconv.ParseInt: parsing ${goQuote(v)}: value out of range`);
  return Number(n);
}

/** matcher is the label and field selectors of a request as one predicate. */
export function matcher(q: URLSearchParams): Matcher {
  const labels = parseLabelSelector(q.get('labelSelector'));
  const fields = parseFieldSelector(q.get('fieldSelector'));
  return (o) => labels(o) && fields(o);
}

/** parseRv reads a resourceVersion; anything but digits is a 400. */
export function parseRv(s: string): number {
  if (!/^\d+$/.test(s)) throw badRequest(`invalid resource version: "${s}"`);
  return Number(s);
}

function listOptionsInvalid(field: string, type: 'Forbidden' | 'NotSupported', detail: string, value?: string) {
  return invalid('ListOptions.meta.k8s.io', '', [{ type, field, detail, value, supported: type === 'NotSupported' ? ['Exact', 'NotOlderThan'] : undefined }], '');
}

/** validateListOptions refuses the combinations of list options kube-apiserver refuses. */
export function validateListOptions(q: URLSearchParams, isWatch: boolean): void {
  const rvMatch = q.get('resourceVersionMatch');
  const rv = q.get('resourceVersion');
  if (q.has('sendInitialEvents')) {
    throw listOptionsInvalid('sendInitialEvents', 'Forbidden', isWatch ? 'sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled' : 'sendInitialEvents is forbidden for list');
  }
  if (!rvMatch) return;
  if (isWatch) return;
  if (rvMatch !== 'Exact' && rvMatch !== 'NotOlderThan') throw listOptionsInvalid('resourceVersionMatch', 'NotSupported', '', rvMatch);
  if (!rv) throw listOptionsInvalid('resourceVersionMatch', 'Forbidden', 'resourceVersionMatch is forbidden unless resourceVersion is provided');
  if (q.get('continue')) throw listOptionsInvalid('resourceVersionMatch', 'Forbidden', 'resourceVersionMatch is forbidden when continue is provided');
  if (rvMatch === 'Exact' && rv === '0') throw listOptionsInvalid('resourceVersionMatch', 'Forbidden', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
}

/** encodeContinue makes the continue token of a list page that ended at start. */
export function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

/** decodeContinue reads a continue token; a malformed one is a 400. */
export function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (t.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string') throw new Error('bad token');
    return { rv: t.rv, start: t.start };
  } catch {
    throw badRequest('continue key is not valid: the continue token is malformed');
  }
}

/** writeOptions reads dryRun, fieldValidation, fieldManager and force. */
export function writeOptions(q: URLSearchParams, userAgent?: string): WriteOptions {
  const dryRun = q.getAll('dryRun');
  for (const d of dryRun) if (d !== 'All') throw invalid('CreateOptions.meta.k8s.io', '', [{ type: 'NotSupported', field: 'dryRun', value: d, supported: ['All'] }], '');
  const fv = q.get('fieldValidation');
  if (fv && !(fieldValidationModes as readonly string[]).includes(fv)) {
    throw badRequest(`fieldValidation: Unsupported value: "${fv}": supported values: "Ignore", "Strict", "Warn"`);
  }
  return { dryRun: dryRun.length > 0, fieldValidation: (fv as FieldValidation) || undefined, fieldManager: q.get('fieldManager') ?? undefined, userAgent, force: queryBool(q, 'force') ?? false };
}
