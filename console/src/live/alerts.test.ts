import { ACCESS_DECISIONS, MOVEMENT_KINDS } from '@portail/protocol';
import { describe, expect, it } from 'vitest';
import {
  agentOfflineAlertId,
  alertKindOf,
  alertOfEvent,
  alertSeverity,
  buildQueue,
  groupByKind,
  queueGroupOf,
} from './alerts.js';
import { accessEvent, at, cameraEvent, movementEvent } from './event-fixtures.js';
import type { AgentView, LiveEvent } from './wire.js';

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

describe('the supervisors queue', () => {
  const tail = movementEvent(30, { kind: 'tailgating', rule: 'tg', excess: 1 });
  const crossing = movementEvent(31, { kind: 'line_crossing', rule: 'entry', direction: 'in' });
  const otherSite = movementEvent(32, { kind: 'zone_entry', rule: 'roof' }, { site: 'lycee-b' });
  const camOff = cameraEvent(20, { state: 'offline', code: 'UNREACHABLE' });
  const camStopped = cameraEvent(21, { state: 'offline', code: 'STOPPED' });
  const agent = (state: 'online' | 'offline', lastSeen: string): AgentView => ({
    site: 'lycee-a',
    agent: 'gate-9',
    state,
    status: null,
    health: null,
    lastSeen,
    updatedAt: at(59),
  });
  const base = { site: 'lycee-a', server: [], agents: [], acked: new Set<string>(), sinceMs: 0 };

  it('merges the live alerts of the site, cameras going offline included, without traffic or agent stops', () => {
    const q = buildQueue({ ...base, events: [crossing, tail, otherSite, camOff, camStopped] });
    expect(q.map((a) => [a.kind, a.id])).toEqual([
      ['tailgating', tail.id],
      ['camera_offline', camOff.id],
    ]);
    expect(queueGroupOf('camera_offline')).toBe('equipment');
    expect(queueGroupOf('tailgating')).toBe('people');
  });

  it('keeps each alert once, drops the acknowledged ones and those older than the window', () => {
    const fromServer = alertOfEvent(tail)!;
    const q = buildQueue({ ...base, server: [fromServer], events: [tail, camOff], acked: new Set([camOff.id]) });
    expect(q.map((a) => a.id)).toEqual([tail.id]);
    expect(buildQueue({ ...base, events: [tail, camOff], sinceMs: Date.parse(at(25)) }).map((a) => a.id)).toEqual([
      tail.id,
    ]);
  });

  it('shows an agent outage while the agent is offline, under the server id so an ack matches', () => {
    const offline = agent('offline', at(10));
    const id = agentOfflineAlertId('gate-9', at(10));
    expect(id).toBe(`agent-offline.gate-9.${Date.parse(at(10))}`);
    const computed = buildQueue({ ...base, events: [], agents: [offline] });
    expect(computed).toMatchObject([{ id, kind: 'agent_offline', agent: 'gate-9', ts: at(10) }]);
    // listed by the server with its own id: that one is kept, no duplicate
    const listed = { ...computed[0]!, id: 'agent-offline.gate-9.1' };
    expect(buildQueue({ ...base, server: [listed], events: [], agents: [offline] }).map((a) => a.id)).toEqual([
      'agent-offline.gate-9.1',
    ]);
    // back online: gone, even though the server listed it at load
    expect(buildQueue({ ...base, server: [listed], events: [], agents: [agent('online', at(40))] })).toEqual([]);
    expect(buildQueue({ ...base, events: [], agents: [offline], acked: new Set([id]) })).toEqual([]);
  });

  it('groups by kind in the order of each group’s newest alert', () => {
    const tail2 = movementEvent(40, { kind: 'tailgating', rule: 'tg', excess: 2 });
    const wrong = movementEvent(35, { kind: 'wrong_way', rule: 'entry', direction: 'out' });
    const groups = groupByKind(buildQueue({ ...base, events: [tail, wrong, tail2] }));
    expect(groups.map((g) => [g.kind, g.items.map((a) => a.id)])).toEqual([
      ['tailgating', [tail2.id, tail.id]],
      ['wrong_way', [wrong.id]],
    ]);
  });
});
