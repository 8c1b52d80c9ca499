import { afterAll, describe, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/control-server.js';
import { startMosquitto, type MosquittoInstance } from '../helpers/mosquitto.js';
import { runFoundationFlow } from './foundation-flow.js';

describe('foundation: real agent → broker → control server → SQLite + WebSocket', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('works with the embedded broker (aedes)', async () => {
    const t: TestServer = await startTestServer();
    cleanups.push(() => t.server.close());
    await runFoundationFlow(t, t.server.mqttUrl, 'it-embedded');
  }, 180_000);

  it('works with a private Mosquitto, the server in external-broker mode', async () => {
    const mosq: MosquittoInstance = await startMosquitto();
    cleanups.push(() => mosq.stop());
    const t = await startTestServer({ externalMqttUrl: mosq.url });
    cleanups.push(() => t.server.close());
    await runFoundationFlow(t, mosq.url, 'it-mosquitto');
  }, 180_000);
});
