import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Every user-facing string of the console goes through the i18n layer (French first, English
 * second). This test parses each component (.tsx) and fails on text written directly in JSX, and on
 * literal strings in the attributes people read (title, aria-label, placeholder, alt, label).
 * Symbols, digits and punctuation alone are not words and pass (×, →, %, ·).
 */
const SRC = fileURLToPath(new URL('..', import.meta.url));
const READ_ATTRIBUTES = new Set(['title', 'aria-label', 'placeholder', 'alt', 'label', 'aria-description']);
/** a word: two letters in a row in any script */
const WORD = /\p{L}{2,}/u;

function componentFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return componentFiles(p);
    return p.endsWith('.tsx') ? [p] : [];
  });
}

export function hardCodedStrings(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TSX);
  const found: string[] = [];
  const where = (n: ts.Node) => `${path.relative(SRC, fileName)}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
  const visit = (n: ts.Node): void => {
    if (ts.isJsxText(n) && WORD.test(n.text)) found.push(`${where(n)} text ${JSON.stringify(n.text.trim())}`);
    if (ts.isJsxAttribute(n) && READ_ATTRIBUTES.has(n.name.getText(sf)) && n.initializer) {
      const init = n.initializer;
      const literal = ts.isStringLiteral(init)
        ? init.text
        : ts.isJsxExpression(init) && init.expression && ts.isStringLiteralLike(init.expression)
          ? init.expression.text
          : null;
      if (literal !== null && WORD.test(literal)) {
        found.push(`${where(n)} ${n.name.getText(sf)}=${JSON.stringify(literal)}`);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

describe('no hard-coded user-facing strings in console components', () => {
  it('finds what it is meant to find (the check itself)', () => {
    const sample = `export const A = () => <p title="Bonjour">Entrée <b>{t('x')}</b> → 3 %<i aria-label={'fermer'} /></p>;`;
    expect(hardCodedStrings('sample.tsx', sample)).toEqual([
      expect.stringContaining('title="Bonjour"'),
      expect.stringContaining('text "Entrée"'),
      expect.stringContaining('aria-label="fermer"'),
    ]);
    expect(hardCodedStrings('ok.tsx', `export const B = () => <p title={t('k')}>{t('k')} · {n} × 2</p>;`)).toEqual([]);
  });

  it('every component goes through the i18n layer', () => {
    const files = componentFiles(SRC);
    expect(files.length).toBeGreaterThan(10);
    const found = files.flatMap((f) => hardCodedStrings(f, readFileSync(f, 'utf8')));
    expect(found).toEqual([]);
  });
});
