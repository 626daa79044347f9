/**
 * stableStringify writes a JSON value with every object's keys sorted (by UTF-16 code unit), so
 * equal content gives equal text whatever order its keys were set in: what a content hash is
 * taken over. As JSON.stringify, it leaves out properties whose value is undefined and writes
 * an undefined array element (or an undefined value) as null.
 */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
