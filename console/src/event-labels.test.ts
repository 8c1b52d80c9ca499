import { describe, expect, it } from 'vitest';
import { alertLabel, decisionTone, movementRuleKey, pluralCategory } from './event-labels.js';
import { accessEvent, movementEvent } from './live/event-fixtures.js';

describe('alert labels', () => {
  it('reads tailgating in French and English, singular and plural', () => {
    const two = movementEvent(1, { kind: 'tailgating', rule: 'gate', excess: 2 });
    const one = movementEvent(1, { kind: 'tailgating', rule: 'gate', excess: 1 });
    expect(alertLabel('fr', 'tailgating', two)).toBe('Talonnage : 2 personnes de plus que de badges');
    expect(alertLabel('fr', 'tailgating', one)).toBe('Talonnage : 1 personne de plus que de badges');
    expect(alertLabel('en', 'tailgating', two)).toBe('Tailgating: 2 more people than credentials');
    expect(alertLabel('en', 'tailgating', one)).toBe('Tailgating: 1 more person than credentials');
    // an agent that left out the excess still gets a headline
    expect(alertLabel('fr', 'tailgating', movementEvent(1, { kind: 'tailgating', rule: 'gate' }))).toBe('Talonnage');
  });

  it('names the other alerts plainly', () => {
    const m = (kind: 'wrong_way' | 'zone_entry') => movementEvent(1, { kind, rule: 'r' });
    const a = (decision: 'mismatch' | 'spoof_suspected') => accessEvent(1, { decision, biometric: true });
    expect(alertLabel('fr', 'wrong_way', m('wrong_way'))).toBe('Sens interdit');
    expect(alertLabel('fr', 'zone_entry', m('zone_entry'))).toBe('Zone réglementée');
    expect(alertLabel('fr', 'mismatch', a('mismatch'))).toBe('Visage différent du badge');
    expect(alertLabel('fr', 'spoof_suspected', a('spoof_suspected'))).toBe('Fraude suspectée');
    expect(alertLabel('en', 'wrong_way', m('wrong_way'))).toBe('Wrong way');
  });

  it('follows each language’s plural rule', () => {
    expect(pluralCategory('fr', 0)).toBe('one');
    expect(pluralCategory('en', 0)).toBe('other');
    expect(pluralCategory('fr', 2)).toBe('other');
  });
});

describe('event tones and rule names', () => {
  it('colours gate verdicts: pass green, retry orange, refusal red', () => {
    expect(decisionTone('confirmed')).toBe('ok');
    expect(decisionTone('accepted')).toBe('ok');
    expect(decisionTone('low_quality')).toBe('warn');
    expect(decisionTone('no_face')).toBe('warn');
    expect(decisionTone('mismatch')).toBe('bad');
    expect(decisionTone('revoked')).toBe('bad');
  });

  it('calls a rule a zone, a line or a rule after the movement kind', () => {
    expect(movementRuleKey('zone_entry')).toBe('movement.zone');
    expect(movementRuleKey('wrong_way')).toBe('movement.line');
    expect(movementRuleKey('line_counts')).toBe('movement.line');
    expect(movementRuleKey('tailgating')).toBe('movement.rule');
  });
});
