import { describe, expect, it } from 'vitest';
import { formatDateTime } from './format.js';

describe('formatDateTime', () => {
  it('shows Paris time (summer and winter offsets), with the date when not today', () => {
    const now = new Date('2025-09-01T12:00:00Z');
    expect(formatDateTime('2025-09-01T06:05:09Z', 'fr', now)).toBe('08:05:09');
    expect(formatDateTime('2025-01-15T06:05:09Z', 'fr', now)).toBe('15/01/2025 07:05:09');
    expect(formatDateTime('2025-01-15T06:05:09Z', 'en', now)).toBe('15/01/2025, 07:05:09');
    expect(formatDateTime(null, 'fr', now)).toBeNull();
  });
});
