import { describe, expect, it } from 'vitest';
import type { AgentView } from '../../live/wire.js';
import { agentRowOf, liveFleet, siteHealth, type FleetResponse } from './fleet-model.js';

const agent = (site: string, name: string, over: Partial<AgentView> = {}): AgentView => ({
  site,
  agent: name,
  state: 'online',
  status: {
    v: 1,
    site,
    agent: name,
    state: 'online',
    ts: '2026-03-02T07:00:00.000Z',
    version: '0.2.0',
    models: [{ name: 'yunet', sha256: 'a'.repeat(64), provider: 'cpu' }],
    cameras: [
      { id: 'gate', role: 'gate', state: 'online' },
      { id: 'hall', role: 'tracking', state: 'stalled' },
    ],
  },
  health: {
    v: 1,
    site,
    agent: name,
    ts: '2026-03-02T07:00:05.000Z',
    intervalS: 5,
    uptimeS: 100,
    cameras: [
      { id: 'gate', state: 'online', fps: 9.96, framesIn: 1, framesProcessed: 1, framesDropped: 0 },
      { id: 'hall', state: 'online', fps: 4.04, framesIn: 1, framesProcessed: 1, framesDropped: 0 },
    ],
    detectors: [],
    stages: { face: { p50Ms: 10, p95Ms: 40, count: 5 }, frame: { p50Ms: 30, p95Ms: 61.26, count: 5 } },
    outboxDepth: 3,
  },
  syncState: {
    v: 1,
    site,
    agent: name,
    ts: '2026-03-02T07:00:00.000Z',
    appliedVersion: 7,
    result: 'applied',
    receivedVersion: 7,
  },
  lastSeen: '2026-03-02T07:00:05.000Z',
  updatedAt: '2026-03-02T07:00:05.000Z',
  ...over,
});

describe('fleet model', () => {
  it('an agent row: slowest camera fps, frame p95 latency, cameras online, sync held', () => {
    expect(agentRowOf(agent('s1', 'gate-1'))).toMatchObject({
      fps: 4,
      latencyP95Ms: 61.3,
      outboxDepth: 3,
      cameras: { online: 1, total: 2 },
      syncVersion: 7,
      providers: ['cpu'],
      version: '0.2.0',
    });
    expect(agentRowOf(agent('s1', 'x', { health: null }))).toMatchObject({
      fps: null,
      latencyP95Ms: null,
      outboxDepth: null,
    });
  });

  it('live agents replace fetched rows; summaries keep the fetched alert counts and published version', () => {
    const fetched: FleetResponse = {
      generatedAt: '2026-03-02T07:00:00.000Z',
      agents: [
        { ...agentRowOf(agent('s1', 'gate-1')), fps: 1 },
        agentRowOf(agent('s2', 'gate-9', { state: 'offline' })),
      ],
      sites: [
        {
          site: 's1',
          agents: { online: 1, total: 1 },
          alertsLastHour: { tailgating: 2, total: 2 },
          worst: { fps: 1, latencyP95Ms: 1, outboxDepth: 0 },
          versions: [],
          sync: { published: 8, upToDate: 0, behind: 1 },
        },
      ],
    };
    const live = { 's1/gate-1': agent('s1', 'gate-1'), 's1/gate-2': agent('s1', 'gate-2', { state: 'offline' }) };
    const f = liveFleet(fetched, live);
    expect(f.agents.map((a) => `${a.site}/${a.agent}:${a.state}`)).toEqual([
      's1/gate-1:online',
      's1/gate-2:offline',
      's2/gate-9:offline',
    ]);
    const s1 = f.sites.find((s) => s.site === 's1')!;
    expect(s1.agents).toEqual({ online: 1, total: 2 });
    // live figures win over the fetched ones; the offline agent's stale figures do not count
    expect(s1.worst.fps).toBe(4);
    expect(s1.alertsLastHour).toEqual({ tailgating: 2, total: 2 });
    expect(s1.sync).toEqual({ published: 8, upToDate: 0, behind: 2 });
    expect(siteHealth(s1)).toBe('bad');
    expect(f.sites.find((s) => s.site === 's2')!.sync.published).toBeNull();
  });

  it('site health: ok, warn on alerts or lag, bad when an agent is down', () => {
    const base = liveFleet(null, { 's1/a': agent('s1', 'a') }).sites[0]!;
    expect(siteHealth(base)).toBe('ok');
    expect(siteHealth({ ...base, alertsLastHour: { mismatch: 1, total: 1 } })).toBe('warn');
    expect(siteHealth({ ...base, worst: { ...base.worst, outboxDepth: 500 } })).toBe('warn');
  });
});
