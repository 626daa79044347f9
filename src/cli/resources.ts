/**
 * The words for a resource name the daemon does not know, shared by `ferry trigger` and
 * `ferry logs` so both say it the same way.
 */

/**
 * unknownResourceMessage says that `unknown` name no resource and lists the `known` ones, as
 * `error: no resource "nope" (resources: api, web)`.
 */
export function unknownResourceMessage(unknown: string[], known: string[]): string {
  const names = unknown.map((u) => `"${u}"`).join(', ');
  const sorted = [...new Set(known)].sort();
  return `error: no resource ${names}${sorted.length ? ` (resources: ${sorted.join(', ')})` : ': no object belongs to any resource yet'}`;
}
