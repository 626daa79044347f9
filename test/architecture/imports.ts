/**
 * The import statements of ferry's own code (src/, controllers/, bin/), read with the TypeScript
 * compiler's parser: static imports, re-exports and `import('literal')` calls.
 */
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';

/** repo is the project's root directory. */
export const repo = path.resolve(import.meta.dirname, '../..');

/** Import is one import of one file. Paths are relative to the project root, with '/' separators. */
export interface Import {
  /** from is the importing file. */
  from: string;
  /** specifier is what the file wrote. */
  specifier: string;
  /** to is the imported file for a relative specifier; undefined for a package or a builtin. */
  to?: string;
  /** pkg is the package name for a bare specifier (`@scope/name` or `name`), not for node builtins. */
  pkg?: string;
  /** typeOnly is true for `import type`, `export type` and imports whose every name is a type: none is loaded when ferry runs. */
  typeOnly: boolean;
}

const codeFile = /\.(ts|js|mjs)$/;

/** sourceFiles lists the code files under the given folders (or the given files), sorted. */
export function sourceFiles(...roots: string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = path.join(repo, rel);
    if (fs.statSync(abs).isFile()) {
      if (codeFile.test(rel) && !rel.endsWith('.d.ts')) out.push(rel);
      return;
    }
    for (const e of fs.readdirSync(abs)) walk(path.posix.join(rel, e));
  };
  for (const r of roots) walk(r);
  return out.sort();
}

/** resolve finds the file a relative specifier names; it throws when there is none. */
function resolve(from: string, specifier: string): string {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`]) {
    const abs = path.join(repo, candidate);
    if (fs.existsSync(abs) && fs.statSync(abs).isFile()) return candidate;
  }
  throw new Error(`${from}: cannot resolve the import '${specifier}'`);
}

function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0])) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** importsOf reads one file's imports. */
export function importsOf(file: string): Import[] {
  const text = fs.readFileSync(path.join(repo, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('.ts') ? ts.ScriptKind.TS : ts.ScriptKind.JS);
  const out: Import[] = [];
  const add = (specifier: string, typeOnly: boolean) => {
    const relative = specifier.startsWith('.');
    out.push({ from: file, specifier, typeOnly, to: relative ? resolve(file, specifier) : undefined, pkg: relative ? undefined : packageOf(specifier) });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const everyNameIsAType = !!clause && !clause.name && !!named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      add(node.moduleSpecifier.text, !!clause?.isTypeOnly || everyNameIsAType);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.exportClause;
      const everyNameIsAType = !!named && ts.isNamedExports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      add(node.moduleSpecifier.text, node.isTypeOnly || everyNameIsAType);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) add(arg.text, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}
