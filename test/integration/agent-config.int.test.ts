import { buildTopic } from '@portail/protocol';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { startTestServer, type TestServer } from '../helpers/control-server.js';
import { clip } from '../helpers/paths.js';
import { waitUntil } from '../helpers/wait.js';

interface ConfigView {
  current: { version: number; source: string; createdBy: string; cameras: Array<{ id: string; lines: unknown[] }>; thresholds: Record<string, number> } | null;
  state: { appliedVersion: number | null; result: string; receivedVersion: number | null; errors?: string[] } | null;
  appliedVersion: number | null;
  brokerVersion: number | null;
}

interface HealthRow {
  agent: string;
  health: { ts: string; detectors: Array<{ kind: string; detectionsInInterval: number }> } | null;
}

/**
 * The server owns each agent's configuration: a legacy retained configuration is imported rather than
 * overwritten, a PUT through the API becomes version N+1, is published retained, and the real agent
 * applies it (its rule fires) or rejects it with reasons; score thresholds from it take effect.
 */
describe('agent configuration published by the control server to a real agent', () => {
  let t: TestServer;
  let agent: AgentProcess;
  const SITE = 'cfg-srv';
  const url = () => `${t.server.httpUrl}/api/sites/${SITE}/agents/gate-1/config`;
  const view = async () => (await (await fetch(url())).json()) as ConfigView;
  const put = async (body: Record<string, unknown>) => {
    const res = await fetch(url(), { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { version?: number; error?: string; issues?: Array<{ path: string }> } };
  };
  const hall = (over: Record<string, unknown> = {}) => ({ id: 'hall', locationType: 'circulation', trackingEnabled: true, ...over });
  const lineCounts = async () =>
    ((await (await fetch(`${t.server.httpUrl}/api/events?kind=movement&limit=500`)).json()) as { events: { site: string; payload: { kind: string; rule: string } }[] }).events.filter(
      (e) => e.site === SITE && e.payload.kind === 'line_counts' && e.payload.rule === 'entry',
    );
  const personDetections = async () => {
    const rows = ((await (await fetch(`${t.server.httpUrl}/api/agents?site=${SITE}`)).json()) as { agents: HealthRow[] }).agents;
    const h = rows.find((a) => a.agent === 'gate-1')?.health;
    return h ? { ts: h.ts, n: h.detectors.find((d) => d.kind === 'person')?.detectionsInInterval ?? 0 } : null;
  };
  /** person detections over the next `count` health messages */
  const detectionsOverNext = async (count: number) => {
    const seen: number[] = [];
    let lastTs = (await personDetections())?.ts;
    await waitUntil(async () => {
      const d = await personDetections();
      if (d && d.ts !== lastTs) {
        lastTs = d.ts;
        seen.push(d.n);
      }
      return seen.length >= count;
    }, `${count} health messages`, 30_000, 200);
    return seen;
  };

  beforeAll(async () => {
    t = await startTestServer();
    agent = spawnAgent({
      site: SITE,
      agent: 'gate-1',
      mqtt: { url: t.server.mqttUrl },
      healthIntervalS: 1,
      vision: { face: { enabled: false }, person: { enabled: true, model: 'yolox-nano-416', scoreThreshold: 0.1 } },
      // tracking off in the local file: the server's configuration turns it on
      cameras: [{ id: 'hall', url: clip('intel-one-by-one-person-detection.mp4'), role: 'tracking', loop: true, maxFps: 10, locationType: 'circulation' }],
    });
    await waitUntil(async () => (await personDetections()) !== null, `agent health (agent: ${agent.output().slice(-600)})`, 60_000, 250);
  }, 90_000);

  afterAll(async () => {
    await agent?.stop('SIGTERM');
    await t?.server.close();
  });

  it('imports a retained configuration it did not publish instead of overwriting it', async () => {
    // as an older tool would have left it on the broker
    const legacy = await mqtt.connectAsync(t.server.mqttUrl, { protocolVersion: 4, clientId: 'legacy-config-tool' });
    const payload = { v: 1, site: SITE, agent: 'gate-1', ts: new Date().toISOString(), configVersion: 5, cameras: [hall({ trackingEnabled: false })] };
    await legacy.publishAsync(buildTopic('config', SITE, 'gate-1'), JSON.stringify(payload), { qos: 1, retain: true });
    await legacy.endAsync();
    const imported = await waitUntil(async () => {
      const v = await view();
      return v.current?.version === 5 && v.state?.appliedVersion === 5 ? v : undefined;
    }, 'legacy v5 imported and applied', 30_000, 250);
    expect(imported.current).toMatchObject({ source: 'imported', createdBy: 'broker' });
    expect(imported.brokerVersion).toBe(5);
  }, 60_000);

  it('a change through the API is version N+1, published retained, applied by the agent, and its rule fires', async () => {
    const stale = await put({ baseVersion: 4, cameras: [hall()] });
    expect(stale.status).toBe(409);
    const invalid = await put({ baseVersion: 5, cameras: [hall({ lines: [{ id: 'entry', from: [10, 10], to: [10, 10] }] })] });
    expect(invalid.status).toBe(400);
    expect(invalid.body.issues?.map((i) => i.path)).toContain('cameras.0.lines.0.to');
    // a camera the agent does not run is refused before anything is published
    expect((await put({ baseVersion: 5, cameras: [hall({ id: 'roof' })] })).body.issues?.[0]?.path).toBe('cameras.0.id');

    const saved = await put({ baseVersion: 5, cameras: [hall({ lines: [{ id: 'entry', from: [480, 410], to: [150, 410] }] })] });
    expect(saved).toMatchObject({ status: 200, body: { version: 6 } });
    const applied = await waitUntil(async () => {
      const v = await view();
      return v.state?.result === 'applied' && v.appliedVersion === 6 ? v : undefined;
    }, `v6 applied (agent: ${agent.output().slice(-600)})`, 30_000, 250);
    expect(applied.current).toMatchObject({ version: 6, source: 'console', cameras: [{ id: 'hall', lines: [{ id: 'entry' }] }] });
    expect(applied.brokerVersion).toBe(6);
    // the line counts the people of the clip crossing it
    await waitUntil(async () => (await lineCounts()).length > 0, 'line counts from the server-published rule', 60_000, 500);
  }, 120_000);

  it('applies the person score threshold of the configuration, and reports one below the local floor as rejected', async () => {
    const lines = [{ id: 'entry', from: [480, 410], to: [150, 410] }];
    // the clip has people in view most of the time: with the local floor, detections come in
    expect((await detectionsOverNext(3)).some((n) => n > 0)).toBe(true);
    expect(await put({ baseVersion: 6, cameras: [hall({ lines })], thresholds: { personScore: 1 } })).toMatchObject({ body: { version: 7 } });
    await waitUntil(async () => (await view()).appliedVersion === 7, 'v7 applied', 30_000, 250);
    // skip the interval in which the change landed, then nothing scores 1.0
    await detectionsOverNext(1);
    expect(await detectionsOverNext(3)).toEqual([0, 0, 0]);

    expect(await put({ baseVersion: 7, cameras: [hall({ lines })], thresholds: { personScore: 0.05 } })).toMatchObject({ body: { version: 8 } });
    const rejected = await waitUntil(async () => {
      const v = await view();
      return v.state?.result === 'rejected' && v.state.receivedVersion === 8 ? v : undefined;
    }, 'v8 rejected', 30_000, 250);
    expect(rejected.state!.errors!.join(' ')).toMatch(/thresholds\.personScore: 0\.05 is below 0\.1/);
    // the one in force stays
    expect(rejected.appliedVersion).toBe(7);
    expect(rejected.state!.appliedVersion).toBe(7);
  }, 90_000);
});
