import { agentConfigSchema } from '@portail/protocol';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeStatus, waitFor } from '../test-support/fixtures.js';
import { connectAgentClient, publishValid, startHarness, type Harness } from '../test-support/harness.js';

/**
 * The privacy service inside the real server (embedded broker, SQLite, HTTP): the startup purge
 * ran and left its receipt, and the retained configuration published on MQTT reaches the register.
 */
describe('privacy in the running control server', () => {
  let h: Harness;
  let agent: MqttClient;

  beforeAll(async () => {
    h = await startHarness();
    agent = await connectAgentClient(h.server.mqttUrl);
  });
  afterAll(async () => {
    await agent?.endAsync();
    await h?.stop();
  });

  const get = (url: string) => fetch(`${h.server.httpUrl}${url}`);

  it('runs the retention purge at startup and records it', async () => {
    const last = await waitFor(async () => {
      const body = (await (await get('/api/sites/lycee/privacy/retention')).json()) as {
        retention: { lastPurge: { at: string } | null };
      };
      return body.retention.lastPurge ?? undefined;
    }, 'the startup purge');
    expect(Date.parse(last.at)).not.toBeNaN();
  });

  it('learns cameras’ location types from the retained configuration on MQTT', async () => {
    const ts = new Date().toISOString();
    await publishValid(
      agent,
      'config',
      agentConfigSchema.parse({
        v: 1,
        site: 'lycee',
        agent: 'gate-1',
        ts,
        configVersion: 1,
        cameras: [{ id: 'hall', locationType: 'circulation', trackingEnabled: true }],
      }),
      true,
    );
    await publishValid(
      agent,
      'status',
      makeStatus('lycee', 'gate-1', { cameras: [{ id: 'hall', role: 'tracking', state: 'online' }] }),
      true,
    );
    const md = await waitFor(async () => {
      const text = await (await get('/api/sites/lycee/privacy/register')).text();
      return text.includes('| gate-1 | hall | suivi anonyme | zone de circulation | activé |') ? text : undefined;
    }, 'the camera in the register');
    expect(md).toContain('# Registre des activités de traitement — site `lycee`');
  });
});
