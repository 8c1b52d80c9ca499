import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { translate } from './i18n.js';

/** every dictionary file of the folder: fr.json/en.json (common) and <area>.fr.json/<area>.en.json */
const dir = new URL('.', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
const load = (f: string): Record<string, string> =>
  JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as Record<string, string>;
const pairs = files
  .filter((f) => f === 'fr.json' || f.endsWith('.fr.json'))
  .map((frFile) => ({ frFile, enFile: frFile.replace(/fr\.json$/, 'en.json') }));

describe('console i18n', () => {
  it('has the same keys in French and English in every area file, none empty', () => {
    expect(pairs.length).toBeGreaterThan(1);
    for (const { frFile, enFile } of pairs) {
      expect(files, enFile).toContain(enFile);
      const fr = load(frFile);
      const en = load(enFile);
      expect(Object.keys(en).sort(), enFile).toEqual(Object.keys(fr).sort());
      for (const dict of [fr, en]) {
        for (const [k, v] of Object.entries(dict)) expect(v.trim(), `${frFile}: ${k}`).not.toBe('');
      }
    }
  });

  it('never defines a key in two area files (the merge would silently keep one)', () => {
    const owner = new Map<string, string>();
    for (const { frFile } of pairs) {
      for (const k of Object.keys(load(frFile))) {
        expect(owner.get(k), `${k} in ${frFile}`).toBeUndefined();
        owner.set(k, frFile);
      }
    }
  });

  it('uses the same placeholders in both languages', () => {
    const holes = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
    for (const { frFile, enFile } of pairs) {
      const fr = load(frFile);
      const en = load(enFile);
      for (const k of Object.keys(fr)) expect(holes(en[k] ?? ''), `${frFile}: ${k}`).toEqual(holes(fr[k]!));
    }
  });

  it('interpolates parameters and leaves unknown ones visible', () => {
    expect(translate('fr', 'movement.counts', { in: 3, out: 1 })).toBe('entrées : 3, sorties : 1');
    expect(translate('en', 'conn.closed', {})).toBe('Disconnected, retrying in {seconds} s');
  });
});
