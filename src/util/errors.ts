/** Error text for status messages and logs. */

/**
 * errorText is an error's message followed by the messages of its causes (`what we were doing:
 * why`), each once: a cause whose message the text already holds is not repeated. Non-errors
 * are shown with String().
 */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  let text = err.message;
  let cause: unknown = err.cause;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    const more = cause instanceof Error ? cause.message : String(cause);
    if (more && !text.includes(more)) text += `: ${more}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return text;
}
