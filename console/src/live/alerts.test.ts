import { ACCESS_DECISIONS, MOVEMENT_KINDS } from '@portail/protocol';
import { describe, expect, it } from 'vitest';
import { alertKindOf, alertSeverity } from './alerts.js';
import { accessEvent, at, movementEvent } from './event-fixtures.js';
import type { LiveEvent } from './wire.js';

describe('alert classification', () => {
  it('takes zone entries, wrong ways and tailgating among movement events, not crossings or counts', () => {
    const kinds = Object.fromEntries(
      MOVEMENT_KINDS.map((kind) => [kind, alertKindOf(movementEvent(1, { kind, rule: 'r' }))]),
    );
    expect(kinds).toEqual({
      zone_entry: 'zone_entry',
      line_crossing: null,
      wrong_way: 'wrong_way',
      tailgating: 'tailgating',
      line_counts: null,
    });
  });

  it('takes only the gate verdicts a person must look at', () => {
    const flagged = ACCESS_DECISIONS.filter(
      (decision) => alertKindOf(accessEvent(1, { decision, biometric: true })) !== null,
    );
    expect(flagged).toEqual(['mismatch', 'spoof_suspected']);
  });

  it('never takes a camera event', () => {
    const cam: LiveEvent = {
      id: 'c',
      kind: 'camera',
      site: 's',
      agent: 'a',
      camera: 'c',
      ts: at(1),
      receivedAt: at(1),
      payload: { id: 'c', v: 1, site: 's', agent: 'a', camera: 'c', ts: at(1), state: 'offline', code: 'UNREACHABLE' },
    };
    expect(alertKindOf(cam)).toBeNull();
  });

  it('ranks likely intrusion or fraud above rule breaches', () => {
    expect(alertSeverity('tailgating')).toBe('high');
    expect(alertSeverity('spoof_suspected')).toBe('high');
    expect(alertSeverity('mismatch')).toBe('high');
    expect(alertSeverity('wrong_way')).toBe('medium');
    expect(alertSeverity('zone_entry')).toBe('medium');
  });
});
