/** The output formats of `ferry get` (as kubectl's -o), in a module of their own so the command line can list them without loading get.ts. */
export const outputFormats = ['table', 'wide', 'yaml', 'json', 'name'] as const;
export type OutputFormat = (typeof outputFormats)[number];
