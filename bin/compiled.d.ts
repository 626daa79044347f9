/** The project's root directory. */
export const root: string;
/** compiledIsFresh says whether dist/ is up to date with src/ and controllers/. */
export function compiledIsFresh(): boolean;
