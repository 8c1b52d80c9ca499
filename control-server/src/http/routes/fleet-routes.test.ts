import { describe, expect, it } from 'vitest';
import type { AgentRecord } from '../../repositories/agent-repository.js';
import { makeHealth, makeStatus } from '../../test-support/fixtures.js';
import { fleetAgentOf, summariseFleet } from './fleet-routes.js';

const record = (site: string, agent: string, over: Partial<AgentRecord> = {}): AgentRecord => ({
  site,
  agent,
  state: 'online',
  status: makeStatus(site, agent, { version: '1.2.0' }),
  health: {
    ...makeHealth(site, agent),
    cameras: [
      { id: 'gate', state: 'online', fps: 9.5, framesIn: 10, framesProcessed: 10, framesDropped: 0 },
      { id: 'hall', state: 'online', fps: 3.25, framesIn: 10, framesProcessed: 10, framesDropped: 0 },
    ],
    stages: { face: { p50Ms: 5, p95Ms: 90, count: 3 }, frame: { p50Ms: 20, p95Ms: 44.44, count: 3 } },
    outboxDepth: 2,
  },
  configState: null,
  syncState: null,
  lastSeen: '2026-03-02T07:00:00.000Z',
  updatedAt: '2026-03-02T07:00:00.000Z',
  ...over,
});

describe('fleet summary', () => {
  it('an agent: slowest camera, frame-stage p95, outbox, versions', () => {
    expect(fleetAgentOf(record('s1', 'a'))).toMatchObject({
      fps: 3.3,
      latencyP95Ms: 44.4,
      outboxDepth: 2,
      version: '1.2.0',
    });
    const noFrame = record('s1', 'b');
    delete noFrame.health!.stages.frame;
    expect(fleetAgentOf(noFrame).latencyP95Ms).toBe(90);
  });

  it('per site: online counts, worst of online agents, alert totals, sync held against published', () => {
    const rows = [
      fleetAgentOf(record('s1', 'a')),
      fleetAgentOf(
        record('s1', 'b', { state: 'offline', health: { ...record('s1', 'b').health!, outboxDepth: 40, cameras: [] } }),
      ),
      fleetAgentOf(
        record('s2', 'c', {
          syncState: {
            v: 1,
            site: 's2',
            agent: 'c',
            ts: '2026-03-02T07:00:00.000Z',
            appliedVersion: 4,
            result: 'applied',
            receivedVersion: 4,
            templateCount: 0,
            revocationCount: 0,
          },
        }),
      ),
    ];
    const view = summariseFleet(
      rows,
      (site) => (site === 's1' ? { tailgating: 2, cameraOffline: 1 } : {}),
      new Map([['s2', 4]]),
      'now',
    );
    const s1 = view.sites.find((s) => s.site === 's1')!;
    expect(s1.agents).toEqual({ online: 1, total: 2 });
    expect(s1.alertsLastHour).toEqual({ tailgating: 2, cameraOffline: 1, total: 3 });
    // the offline agent's stale fps does not count, its outbox backlog does
    expect(s1.worst).toEqual({ fps: 3.3, latencyP95Ms: 44.4, outboxDepth: 40 });
    expect(s1.sync).toEqual({ published: null, upToDate: 0, behind: 0 });
    expect(view.sites.find((s) => s.site === 's2')!.sync).toEqual({ published: 4, upToDate: 1, behind: 0 });
    expect(JSON.stringify(view)).not.toMatch(/credential|firstName|lastName/);
  });
});
