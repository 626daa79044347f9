/**
 * The daemon logs with winston, which appends a field named `message` to the line's message
 * (`LiveUpdate stopped for a rebuild Detected change to stop file ...`, one run-on sentence in
 * both the pretty and the JSON format). No log call of ferry's code passes one: the text goes
 * in another field (`detail`, `error`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { repo, sourceFiles } from './imports.ts';

const levels = new Set(['error', 'warn', 'info', 'verbose', 'debug', 'silly']);

/** messageFields lists the log calls of a file whose fields (an object literal, or one of a conditional's branches) hold `message`. */
function messageFields(file: string): string[] {
  const text = fs.readFileSync(path.join(repo, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const objects = (e: ts.Expression): ts.ObjectLiteralExpression[] => {
    if (ts.isObjectLiteralExpression(e)) return [e];
    if (ts.isConditionalExpression(e)) return [...objects(e.whenTrue), ...objects(e.whenFalse)];
    if (ts.isParenthesizedExpression(e)) return objects(e.expression);
    return [];
  };
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && levels.has(node.expression.name.text)) {
      const receiver = node.expression.expression.getText(source);
      const fields = node.arguments[1];
      if (/log/i.test(receiver) && fields) {
        for (const o of objects(fields)) {
          if (o.properties.some((p) => p.name && ts.isIdentifier(p.name) && p.name.text === 'message')) {
            const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
            found.push(`${file}:${line + 1}: ${node.getText(source).split('\n')[0]}`);
          }
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('log fields', () => {
  it('no log call passes a field named message (winston would append it to the line\'s message)', () => {
    const found = sourceFiles('src', 'controllers').flatMap(messageFields);
    assert.deepEqual(found, []);
  });
});
