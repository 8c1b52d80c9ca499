import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent } from '../helpers/agent-process.js';
import { startTestServer, type TestServer } from '../helpers/control-server.js';
import { recordMqtt } from '../helpers/mqtt-recorder.js';
import { clip } from '../helpers/paths.js';
import { waitUntil } from '../helpers/wait.js';

const listRecursive = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));

describe('privacy of a running agent', () => {
  let t: TestServer;
  const work = mkdtempSync(join(tmpdir(), 'portail-privacy-'));
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.server.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('writes no frame, crop or file of its own to its temp or data directory, and sends nothing but ids, boxes and figures', async () => {
    const tmp = join(work, 'tmp');
    const data = join(work, 'data');
    for (const d of [tmp, data]) rmSync(d, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(tmp);
    mkdirSync(data);
    const mq = await recordMqtt(t.server.mqttUrl);
    const agent = spawnAgent(
      {
        site: 'privacy',
        agent: 'gate-1',
        mqtt: { url: t.server.mqttUrl },
        dataDir: data,
        healthIntervalS: 1,
        cameras: [
          { id: 'entrance', url: clip('intel-face-demographics-walking-and-pause.mp4'), role: 'both', loop: true, maxFps: 6 },
          {
            id: 'hall',
            url: clip('intel-one-by-one-person-detection.mp4'),
            role: 'tracking',
            maxFps: 10,
            locationType: 'circulation',
            trackingEnabled: true,
            rules: { lines: [{ id: 'entry', from: [480, 410], to: [150, 410] }] },
          },
        ],
      },
      // TSX_DISABLE_CACHE: tsx's own transpile cache would otherwise land in TMPDIR
      { TMPDIR: tmp, TSX_DISABLE_CACHE: '1' },
    );
    try {
      await waitUntil(async () => {
        const res = await fetch(`${t.server.httpUrl}/api/agents`);
        const a = ((await res.json()) as { agents: { agent: string; health: { detectors: { detections: number }[] } | null }[] }).agents.find(
          (x) => x.agent === 'gate-1',
        );
        return (a?.health?.detectors.reduce((s, d) => s + d.detections, 0) ?? 0) > 20;
      }, 'detections from the running agent', 60_000, 250);
    } finally {
      expect(await agent.stop('SIGTERM')).toBe(0);
    }
    await mq.close();
    // onnxruntime's telemetry, ffmpeg, tsx: nothing may write into the temp dir
    expect(listRecursive(tmp)).toEqual([]);
    // only the agent database (event outbox: ids, boxes, figures); no image of any kind
    expect(listRecursive(data).filter((f) => !/agent\.sqlite(-wal|-shm)?$/.test(f))).toEqual([]);
    // what crossed MQTT: no image-sized payload, no base64 blob, no JPEG/PNG signature
    const mine = mq.messages.filter((m) => m.topic.startsWith('portail/v1/privacy/'));
    expect(mine.length).toBeGreaterThan(3);
    for (const m of mine) {
      expect(m.payload.length).toBeLessThan(8_192);
      expect(m.payload).not.toMatch(/[A-Za-z0-9+/]{200,}/);
      expect(m.payload).not.toMatch(/\/9j\/|iVBORw0KGgo/);
    }
  }, 120_000);
});
