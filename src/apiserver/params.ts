/**
 * Scalar query parameters (booleans and integers), read as kube-apiserver's parameter
 * codec reads them, so that clients other than kubectl get the answers they expect.
 */
import { goQuote, parseGoBool } from '../apis/go.ts';
import { badRequest } from './errors.ts';

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
