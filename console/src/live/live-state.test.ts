import type { Health } from '@portail/protocol';
import { describe, expect, it } from 'vitest';
import { initialLiveState, mergeEvents, reduceLive } from './live-state.js';
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
