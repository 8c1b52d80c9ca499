import { describe, expect, it } from 'vitest';
import { formatDateTime, formatWait } from './format.js';

describe('formatDateTime', () => {
  it('shows Paris time (summer and winter offsets), with the date when not today', () => {
    const now = new Date('2025-09-01T12:00:00Z');
    expect(formatDateTime('2025-09-01T06:05:09Z', 'fr', now)).toBe('08:05:09');
    expect(formatDateTime('2025-01-15T06:05:09Z', 'fr', now)).toBe('15/01/2025 07:05:09');
    expect(formatDateTime('2025-01-15T06:05:09Z', 'en', now)).toBe('15/01/2025, 07:05:09');
    expect(formatDateTime(null, 'fr', now)).toBeNull();
  });
});

describe('formatWait', () => {
  it('rounds up to what a person would say', () => {
    expect(formatWait(0, 'fr')).toBe('0 s');
    expect(formatWait(44.2, 'fr')).toBe('45 s');
    expect(formatWait(60, 'fr')).toBe('1 min');
    expect(formatWait(61, 'fr')).toBe('2 min');
    expect(formatWait(900, 'fr')).toBe('15 min');
    expect(formatWait(3600, 'en')).toBe('1 h');
    expect(formatWait(3900, 'fr')).toBe('1 h 05');
  });
});
