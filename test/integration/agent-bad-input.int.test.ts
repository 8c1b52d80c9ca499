import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent } from '../helpers/agent-process.js';
import { startTestServer, type TestServer } from '../helpers/control-server.js';
import { clip } from '../helpers/paths.js';
import { waitUntil } from '../helpers/wait.js';

describe('edge agent: bad input is a clear outcome, never a crash', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.server.close();
  });

  it('a missing model file stops the agent with a message naming the file and where it looked', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'portail-no-models-'));
    const agent = spawnAgent(
      { site: 'bad-input', agent: 'no-models', mqtt: { url: t.server.mqttUrl }, cameras: [{ id: 'c1', url: clip('intel-face-demographics-walking.mp4'), role: 'both' }] },
      { PORTAIL_MODELS_DIR: empty },
    );
    const code = await agent.exited;
    expect(code).toBe(3);
    expect(agent.output()).toMatch(/face_detection_yunet_2023mar_dynamic\.onnx|person_yolox_nano_416\.onnx/);
    expect(agent.output()).toContain(empty);
  }, 60_000);

  it("providers ['cuda', 'cpu'] without CUDA: the agent runs on CPU, says so in its status, and logs why", async () => {
    const agent = spawnAgent({
      site: 'bad-input',
      agent: 'no-cuda',
      mqtt: { url: t.server.mqttUrl },
      vision: { providers: ['cuda', 'cpu'] },
      cameras: [{ id: 'c1', url: clip('intel-face-demographics-walking.mp4'), role: 'both', loop: true, maxFps: 5 }],
    });
    try {
      const models = await waitUntil(async () => {
        const res = await fetch(`${t.server.httpUrl}/api/agents`);
        const a = ((await res.json()) as { agents: { agent: string; state: string; status: { models?: { name: string; provider?: string }[] } | null }[] }).agents.find(
          (x) => x.agent === 'no-cuda' && x.state === 'online',
        );
        return a?.status?.models;
      }, 'agent online with its models', 60_000, 250);
      expect(models.map((m) => m.provider)).toEqual(['cpu', 'cpu']);
      const warnings = agent
        .output()
        .split('\n')
        .filter((l) => l.includes('execution provider unavailable'))
        .map((l) => JSON.parse(l) as { provider: string; reason: string });
      expect(warnings.length).toBeGreaterThanOrEqual(2);
      expect(warnings.every((w) => w.provider === 'cuda' && w.reason.length > 5)).toBe(true);
    } finally {
      expect(await agent.stop('SIGTERM')).toBe(0);
    }
  }, 90_000);

  it('an invalid configuration exits with code 2 and names the bad field', async () => {
    const agent = spawnAgent({ site: 'Bad Site!', agent: 'a', cameras: [] });
    expect(await agent.exited).toBe(2);
    expect(agent.output()).toMatch(/site: must be/);
    expect(agent.output()).toMatch(/cameras/);
  }, 60_000);

  it('a video path that does not exist → camera offline NOT_FOUND; the agent keeps running its other camera', async () => {
    const agent = spawnAgent({
      site: 'bad-input',
      agent: 'one-missing',
      mqtt: { url: t.server.mqttUrl },
      healthIntervalS: 1,
      cameras: [
        { id: 'missing', url: '/nonexistent/portail/entrance.mp4', role: 'gate', loop: true },
        { id: 'good', url: clip('intel-face-demographics-walking.mp4'), role: 'gate', loop: true, maxFps: 5 },
      ],
    });
    try {
      const ev = await waitUntil(async () => {
        const res = await fetch(`${t.server.httpUrl}/api/events?kind=camera&limit=50`);
        const body = (await res.json()) as { events: { camera: string; agent: string; payload: { state: string; code: string; reason?: string } }[] };
        return body.events.find((e) => e.agent === 'one-missing' && e.camera === 'missing');
      }, 'camera offline event', 60_000, 250);
      expect(ev.payload).toMatchObject({ state: 'offline', code: 'NOT_FOUND' });
      expect(ev.payload.reason).toContain('No such file');
      // the healthy camera still delivers frames, and health keeps coming
      const framesAt = async () => {
        const res = await fetch(`${t.server.httpUrl}/api/agents`);
        const body = (await res.json()) as { agents: { agent: string; health: { cameras: { id: string; framesProcessed: number }[] } | null }[] };
        return body.agents.find((a) => a.agent === 'one-missing')?.health?.cameras.find((c) => c.id === 'good')?.framesProcessed ?? 0;
      };
      const first = await waitUntil(framesAt, 'frames from the good camera', 30_000);
      await waitUntil(async () => (await framesAt()) > first, 'more frames from the good camera', 30_000);
      expect(agent.child.exitCode).toBeNull();
    } finally {
      expect(await agent.stop('SIGTERM')).toBe(0);
    }
  }, 120_000);
});
