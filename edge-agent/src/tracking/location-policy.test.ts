import { LOCATION_TYPES, type LocationType } from '@portail/protocol';
import { describe, expect, it } from 'vitest';
import { canEnableTracking } from './location-policy.js';

describe('canEnableTracking', () => {
  it.each(['entrance', 'circulation'] as const)('allows a camera at an %s', (t) => {
    expect(canEnableTracking(t)).toEqual({ ok: true });
  });

  it.each(['playground', 'classroom', 'canteen', 'other'] as const)('refuses a camera at a %s, saying why', (t) => {
    const r = canEnableTracking(t);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('TRACKING_ERR_LOCATION_NOT_ALLOWED');
    expect(r.error.message).toContain(`"${t}"`);
    expect(r.error.message).toContain('only entrances and circulation areas may be tracked');
    expect(r.error.message).toContain('playgrounds, classrooms and canteens are never tracked (CNIL proportionality)');
  });

  it('allows exactly two of the declared location types', () => {
    expect(LOCATION_TYPES.filter((t) => canEnableTracking(t).ok)).toEqual(['entrance', 'circulation']);
  });

  it('refuses a value outside the enum (e.g. from unchecked JSON)', () => {
    const r = canEnableTracking('Entrance' as LocationType);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.message).toMatch(/unknown location type "Entrance"/);
  });
});
