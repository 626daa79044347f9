/** JSON values as the API server and the schemas handle them. */

/** JsonObject is a JSON object: string keys, any values. */
export type JsonObject = Record<string, unknown>;

/** isObject is true for a JSON object: not null, not an array. */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
