import { describe, expect, it } from 'vitest';
import en from './en.json';
import fr from './fr.json';
import { translate } from './i18n.js';

describe('console i18n', () => {
  it('has the same keys in French and English, none empty', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(fr).sort());
    for (const dict of [fr, en]) {
      for (const [k, v] of Object.entries(dict)) expect(v.trim(), k).not.toBe('');
    }
  });

  it('uses the same placeholders in both languages', () => {
    const holes = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
    for (const k of Object.keys(fr) as Array<keyof typeof fr>) expect(holes(en[k]), k).toEqual(holes(fr[k]));
  });

  it('interpolates parameters and leaves unknown ones visible', () => {
    expect(translate('fr', 'movement.counts', { in: 3, out: 1 })).toBe('entrées : 3, sorties : 1');
    expect(translate('en', 'conn.closed', {})).toBe('Disconnected, retrying in {seconds} s');
  });
});
