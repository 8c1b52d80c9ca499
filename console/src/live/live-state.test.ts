import type { Health } from '@portail/protocol';
import { describe, expect, it } from 'vitest';
import { accessEvent, lineCountsEvent, movementEvent } from './event-fixtures.js';
import { initialLiveState, MAX_EVENTS, mergeAlerts, mergeEvents, reduceLive } from './live-state.js';
import type { AgentView, LiveEvent } from './wire.js';

const at = (s: number): string => new Date(Date.UTC(2025, 8, 1, 7, 30, s)).toISOString();
const ev = (id: string, s: number): LiveEvent => ({
  id,
  kind: 'camera',
  site: 'lycee-a',
  agent: 'gate-1',
  camera: 'c1',
  ts: at(s),
  receivedAt: at(s),
  payload: { id, v: 1, site: 'lycee-a', agent: 'gate-1', camera: 'c1', ts: at(s), state: 'online', code: 'OK' },
});
const agent = (state: AgentView['state']): AgentView => ({
  site: 'lycee-a',
  agent: 'gate-1',
  state,
  status: null,
  health: null,
  lastSeen: null,
  updatedAt: at(0),
});

describe('live state', () => {
  it('keeps events unique by id, newest first, capped', () => {
    const merged = mergeEvents([ev('b', 2), ev('a', 1)], [ev('c', 3), ev('b', 2), ev('d', 0)], 3);
    expect(merged.map((e) => e.id)).toEqual(['c', 'b', 'a']);
  });

  it('re-syncs from a second hello without duplicating what was already shown', () => {
    let s = reduceLive(
      initialLiveState,
      { type: 'hello', serverTime: at(0), agents: [agent('online')], events: [ev('a', 1)] },
      at(1),
    );
    s = reduceLive(s, { type: 'event', kind: 'camera', event: ev('b', 2) }, at(2));
    // reconnect: the new snapshot holds both events and the agent now offline
    s = reduceLive(
      s,
      { type: 'hello', serverTime: at(3), agents: [agent('offline')], events: [ev('b', 2), ev('a', 1)] },
      at(3),
    );
    expect(s.events.map((e) => e.id)).toEqual(['b', 'a']);
    expect(s.agents['lycee-a/gate-1']?.state).toBe('offline');
    // a replayed push of a known id changes nothing
    const same = reduceLive(s, { type: 'event', kind: 'camera', event: ev('a', 1) }, at(4));
    expect(same.events).toBe(s.events);
  });

  it('creates a row for health from an agent not seen before', () => {
    const health: Health = {
      v: 1,
      site: 'lycee-b',
      agent: 'g',
      ts: at(0),
      intervalS: 5,
      uptimeS: 1,
      cameras: [],
      detectors: [],
      stages: {},
    };
    const s = reduceLive(initialLiveState, { type: 'health', site: 'lycee-b', agent: 'g', health }, at(5));
    expect(s.agents['lycee-b/g']).toMatchObject({ state: 'unknown', health, lastSeen: at(5) });
  });
});

describe('live state: alert queue and line counts', () => {
  const crossing = movementEvent(2, {
    kind: 'line_crossing',
    rule: 'entry',
    direction: 'in',
    trackId: 'mh7jnistiwnmicq3',
  });
  const wrongWay = movementEvent(3, {
    kind: 'wrong_way',
    rule: 'entry',
    direction: 'out',
    trackId: 'k2v7k2v7k2v7k2v7',
  });
  const mismatch = accessEvent(4, { decision: 'mismatch', biometric: true, credentialId: 'c-5k2m9q' });
  const accepted = accessEvent(5, { decision: 'accepted', biometric: false, credentialId: 'c-aaaa' });
  const tailgating = movementEvent(6, { kind: 'tailgating', rule: 'gate-tailgating', excess: 2 });

  it('rebuilds alerts and counts from the hello snapshot, then adds live pushes newest first', () => {
    let s = reduceLive(
      initialLiveState,
      {
        type: 'hello',
        serverTime: at(5),
        agents: [],
        events: [
          accepted,
          mismatch,
          lineCountsEvent(3, 'entry', 1, 0),
          wrongWay,
          crossing,
          lineCountsEvent(1, 'entry', 0, 0),
        ],
      },
      at(5),
    );
    expect(s.alerts.map((e) => e.id)).toEqual([mismatch.id, wrongWay.id]);
    expect(s.lineCounts['lycee-a/gate-1/hall/entry']).toMatchObject({ in: 1, out: 0 });

    s = reduceLive(s, { type: 'event', kind: 'movement', event: tailgating }, at(6));
    s = reduceLive(s, { type: 'event', kind: 'movement', event: lineCountsEvent(7, 'entry', 2, 0) }, at(7));
    expect(s.alerts.map((e) => e.id)).toEqual([tailgating.id, mismatch.id, wrongWay.id]);
    expect(s.lineCounts['lycee-a/gate-1/hall/entry']).toMatchObject({ in: 2, out: 0 });
    // every event still reaches the event list, crossings included
    expect(s.events.map((e) => e.id)).toContain(crossing.id);
    expect(s.events).toHaveLength(8);

    // a reconnect's snapshot holding the same events changes neither
    const again = reduceLive(
      s,
      { type: 'hello', serverTime: at(8), agents: [], events: [tailgating, mismatch] },
      at(8),
    );
    expect(again.alerts).toBe(s.alerts);
    expect(again.lineCounts).toBe(s.lineCounts);
  });

  it('keeps alerts when ordinary traffic overflows the event list', () => {
    let s = reduceLive(initialLiveState, { type: 'event', kind: 'movement', event: wrongWay }, at(3));
    for (let i = 0; i < MAX_EVENTS + 5; i += 1) {
      s = reduceLive(s, { type: 'event', kind: 'movement', event: lineCountsEvent(10 + i, 'entry', i, 0) }, at(10 + i));
    }
    expect(s.events.map((e) => e.id)).not.toContain(wrongWay.id);
    expect(s.alerts.map((e) => e.id)).toEqual([wrongWay.id]);
  });

  it('caps the alert queue, dropping the oldest', () => {
    const many = Array.from({ length: 5 }, (_, i) =>
      movementEvent(i, { kind: 'zone_entry', rule: 'cour', trackId: `t${i}` }),
    );
    expect(mergeAlerts([], many, 3).map((e) => e.id)).toEqual([many[4]!.id, many[3]!.id, many[2]!.id]);
    expect(mergeAlerts([], [crossing, accepted])).toEqual([]);
  });
});

describe('live state: resume and gate passage actions', () => {
  it('a resumed hello adds only the new events; an event seen twice (push, then resume) is kept once', () => {
    let s = reduceLive(
      initialLiveState,
      { type: 'hello', serverTime: at(0), agents: [], events: [ev('a', 1)], cursor: 'a', resumed: false },
      at(0),
    );
    s = reduceLive(s, { type: 'event', kind: 'camera', event: ev('b', 2) }, at(2));
    // the server restarted; the resume carries b again (the client's cursor was older) and c
    s = reduceLive(
      s,
      { type: 'hello', serverTime: at(5), agents: [], events: [ev('c', 4), ev('b', 2)], cursor: 'c', resumed: true },
      at(5),
    );
    expect(s.events.map((e) => e.id)).toEqual(['c', 'b', 'a']);
    const again = reduceLive(
      s,
      { type: 'hello', serverTime: at(6), agents: [], events: [ev('c', 4)], resumed: true },
      at(6),
    );
    expect(again.events).toBe(s.events);
  });

  it('records the latest acknowledgement or override of a passage, by event id', () => {
    const ack = { by: 'accueil', at: at(3), note: null };
    let s = reduceLive(
      initialLiveState,
      { type: 'passage_action', site: 'lycee-a', eventId: 'p1', ack, override: null },
      at(3),
    );
    expect(s.passageActions.p1).toEqual({ ack, override: null });
    const override = { decision: 'allow' as const, reason: 'vérifié', by: 'accueil', at: at(4) };
    s = reduceLive(s, { type: 'passage_action', site: 'lycee-a', eventId: 'p1', ack, override }, at(4));
    expect(s.passageActions.p1).toEqual({ ack, override });
    // a hello keeps them (they are not in the snapshot)
    s = reduceLive(s, { type: 'hello', serverTime: at(5), agents: [], events: [] }, at(5));
    expect(Object.keys(s.passageActions)).toEqual(['p1']);
  });
});

describe('alert acknowledgements on the live feed', () => {
  it('records each acknowledgement once and keeps them across a hello', () => {
    const ack = {
      alertId: 'e1',
      site: 'lycee-a',
      kind: 'tailgating',
      agent: 'gate-1',
      camera: 'hall',
      alertTs: at(1),
      ackedAt: at(2),
      ackedBy: 'surveillance',
      note: null,
    };
    const s1 = reduceLive(initialLiveState, { type: 'alert_ack', ack }, at(2));
    expect(s1.acked).toEqual({ e1: ack });
    expect(reduceLive(s1, { type: 'alert_ack', ack }, at(3))).toBe(s1);
    const s2 = reduceLive(s1, { type: 'hello', serverTime: at(4), agents: [], events: [] }, at(4));
    expect(s2.acked).toEqual({ e1: ack });
  });
});
