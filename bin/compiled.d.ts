/** The project's root directory: the installed package, or the source checkout. */
export const root: string;
/**
 * compiledIsFresh says whether bin/ferry.js runs dist/ rather than the sources: always in an
 * installed package (no src/); in a source checkout, unless FERRY_FROM_SOURCE is set, when
 * dist/.built is newer than git's index. dir defaults to root, env to process.env.
 */
export function compiledIsFresh(dir?: string, env?: Record<string, string | undefined>): boolean;
