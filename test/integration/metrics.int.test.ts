import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { startTestServer, type TestServer } from '../helpers/control-server.js';
import { freePort } from '../helpers/free-port.js';
import { clip } from '../helpers/paths.js';
import { waitUntil } from '../helpers/wait.js';

/** Value of a Prometheus sample line, by metric name and a label fragment. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(labels) && !l.startsWith('#'));
  return line ? Number(line.split(' ').at(-1)) : undefined;
}

describe('health endpoints: the agent\'s local /healthz and /metrics, the server\'s /metrics', () => {
  let t: TestServer;
  let agent: AgentProcess;
  let port: number;
  beforeAll(async () => {
    t = await startTestServer();
    port = await freePort();
    agent = spawnAgent({
      site: 'metrics',
      agent: 'gate-1',
      mqtt: { url: t.server.mqttUrl },
      healthIntervalS: 1,
      localHttp: { port },
      cameras: [
        { id: 'entrance', url: clip('intel-face-demographics-walking.mp4'), role: 'gate', loop: true, maxFps: 6 },
        { id: 'missing', url: '/nonexistent/portail.mp4', role: 'gate', loop: true },
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await agent.stop('SIGTERM');
    await t.server.close();
  });

  it('the agent reports its cameras on /healthz and counts frames, stages and detections on /metrics', async () => {
    const health = await waitUntil(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      const body = (await res.json()) as { ok: boolean; cameras: { id: string; state: string }[] };
      return res.status === 200 && body.ok ? body : undefined;
    }, `agent /healthz ok (${agent.output().slice(-400)})`, 60_000, 250);
    expect(health.cameras).toEqual(
      expect.arrayContaining([
        { id: 'entrance', role: 'gate', state: 'online' },
        { id: 'missing', role: 'gate', state: 'offline' },
      ]),
    );
    const text = await waitUntil(async () => {
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return (sample(body, 'portail_agent_frames_processed_total', 'camera="entrance"') ?? 0) > 5 ? body : undefined;
    }, 'frames counted in /metrics', 30_000, 250);
    expect(sample(text, 'portail_agent_camera_up', 'camera="missing"')).toBe(0);
    expect(sample(text, 'portail_agent_camera_up', 'camera="entrance"')).toBe(1);
    expect(sample(text, 'portail_agent_stage_seconds_count', 'stage="face"')).toBeGreaterThan(0);
    expect(sample(text, 'portail_agent_detections_total', 'kind="face"')).toBeGreaterThan(0);
    expect(text).toContain('portail_agent_process_resident_memory_bytes');
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
  }, 90_000);

  it('the server exposes ingest counters on /metrics', async () => {
    await fetch(`${t.server.httpUrl}/api/agents`);
    const text = await (await fetch(`${t.server.httpUrl}/metrics`)).text();
    expect(sample(text, 'portail_server_messages_received_total')).toBeGreaterThan(0);
    expect(sample(text, 'portail_server_events_stored_total')).toBeGreaterThan(0);
    expect(sample(text, 'portail_server_agents', 'state="online"')).toBe(1);
    expect(sample(text, 'portail_server_mqtt_subscribed')).toBe(1);
    expect(text).toContain('portail_server_messages_rejected_total');
  });
});
