import { buildTopic } from '@portail/protocol';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { startTestServer, type TestServer } from '../helpers/control-server.js';
import { clip } from '../helpers/paths.js';
import { waitUntil } from '../helpers/wait.js';

interface AgentRow {
  agent: string;
  status: { configVersion?: number } | null;
  configState: { appliedVersion: number | null; result: string; receivedVersion: number | null; errors?: string[] } | null;
}

describe('live configuration: the retained config topic is validated, applied without restart, or rejected', () => {
  let t: TestServer;
  let agent: AgentProcess;
  let pub: mqtt.MqttClient;
  const SITE = 'live-cfg';
  const topic = buildTopic('config', SITE, 'gate-1');
  const config = (version: number, hall: Record<string, unknown>) =>
    JSON.stringify({ v: 1, site: SITE, agent: 'gate-1', ts: new Date().toISOString(), configVersion: version, cameras: [{ id: 'hall', ...hall }] });
  const publish = (payload: string) => pub.publishAsync(topic, payload, { qos: 1, retain: true });
  const row = async () =>
    ((await (await fetch(`${t.server.httpUrl}/api/agents`)).json()) as { agents: AgentRow[] }).agents.find((a) => a.agent === 'gate-1');
  const movements = async (kind: string) =>
    ((await (await fetch(`${t.server.httpUrl}/api/events?kind=movement&limit=500`)).json()) as { events: { site: string; payload: { kind: string; rule: string } }[] }).events.filter(
      (e) => e.site === SITE && e.payload.kind === kind,
    );

  beforeAll(async () => {
    t = await startTestServer();
    pub = await mqtt.connectAsync(t.server.mqttUrl, { protocolVersion: 4, clientId: 'live-config-test' });
    agent = spawnAgent({
      site: SITE,
      agent: 'gate-1',
      mqtt: { url: t.server.mqttUrl },
      healthIntervalS: 1,
      vision: { face: { enabled: false } },
      // tracking off in the local file: the server's configuration turns it on
      cameras: [{ id: 'hall', url: clip('intel-one-by-one-person-detection.mp4'), role: 'tracking', loop: true, maxFps: 10, locationType: 'circulation' }],
    });
  }, 60_000);

  afterAll(async () => {
    await agent.stop('SIGTERM');
    await pub.endAsync();
    await t.server.close();
  });

  it('applies a valid configuration (tracking on, a counting line) without restarting', async () => {
    await publish(config(1, { locationType: 'circulation', trackingEnabled: true, lines: [{ id: 'entry', from: [480, 410], to: [150, 410] }] }));
    const applied = await waitUntil(async () => {
      const r = await row();
      return r?.configState?.result === 'applied' && r.status?.configVersion === 1 ? r : undefined;
    }, `config v1 applied (agent: ${agent.output().slice(-600)})`, 60_000, 250);
    expect(applied.configState).toMatchObject({ appliedVersion: 1, receivedVersion: 1 });
    // the rule works: the first person crosses the entry line a few seconds into the clip
    await waitUntil(async () => (await movements('line_counts')).some((e) => e.payload.rule === 'entry'), 'line counts from the live rule', 60_000, 500);
    expect(agent.child.exitCode).toBeNull();
  }, 120_000);

  it('rejects an invalid configuration with its reasons and keeps the one in force', async () => {
    // tracking a playground is refused by policy, whatever else the configuration says
    await publish(config(2, { locationType: 'playground', trackingEnabled: true }));
    const rejected = await waitUntil(async () => {
      const r = await row();
      return r?.configState?.result === 'rejected' ? r : undefined;
    }, 'config v2 rejected', 30_000, 250);
    expect(rejected.configState).toMatchObject({ appliedVersion: 1, receivedVersion: 2 });
    expect(rejected.configState!.errors!.join(' ')).toMatch(/never tracked|entrance|circulation/);
    expect(rejected.status?.configVersion).toBe(1);
    await publish('{"not": "a config"');
    await waitUntil(async () => (await row())?.configState?.receivedVersion === null, 'garbage rejected', 30_000, 250);
  }, 60_000);

  it('a zone added by a new configuration takes effect on the running agent', async () => {
    const before = (await movements('zone_entry')).length;
    await publish(
      config(3, {
        locationType: 'circulation',
        trackingEnabled: true,
        lines: [{ id: 'entry', from: [480, 410], to: [150, 410] }],
        // the whole room: the next person to be confirmed is inside it
        zones: [{ id: 'room', polygon: [[0, 0], [768, 0], [768, 432], [0, 432]] }],
      }),
    );
    await waitUntil(async () => (await row())?.configState?.appliedVersion === 3, 'config v3 applied', 30_000, 250);
    await waitUntil(async () => (await movements('zone_entry')).length > before, 'a zone entry from the new rule', 90_000, 500);
  }, 150_000);
});
