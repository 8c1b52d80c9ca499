// A real agent tracking people on the demo hall clip publishes the `tracks` topic: recent anonymous
// trails and the geometry of its rules reach a console's WebSocket through the real broker and
// server, are never stored, and carry none of the tracker's ids (those of the movement events).
import type { Tracks } from '@portail/protocol';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { startTestServer, type TestServer } from '../helpers/control-server.js';
import { clip } from '../helpers/paths.js';
import { waitUntil } from '../helpers/wait.js';
import { recordWs, type WsRecorder } from '../helpers/ws-recorder.js';

const SITE = 'int-lycee';
const AGENT = 'hall-1';

describe('tracks topic: agent → server → console', () => {
  let t: TestServer;
  let agent: AgentProcess;
  let ws: WsRecorder;

  beforeAll(async () => {
    t = await startTestServer();
    ws = await recordWs(t.server.httpUrl);
    agent = spawnAgent({
      site: SITE,
      agent: AGENT,
      mqtt: { url: t.server.mqttUrl },
      cameras: [
        {
          id: 'hall',
          url: clip('intel-one-by-one-person-detection.mp4'),
          role: 'tracking',
          maxFps: 10,
          locationType: 'circulation',
          trackingEnabled: true,
          rules: {
            lines: [{ id: 'entry', from: [480, 410], to: [150, 410] }],
            zones: [
              {
                id: 'fond',
                polygon: [
                  [0, 0],
                  [200, 0],
                  [200, 120],
                  [0, 120],
                ],
              },
            ],
          },
        },
      ],
    });
  }, 60_000);

  afterAll(async () => {
    ws?.close();
    await agent?.stop('SIGKILL');
    await t?.server.close();
  });

  it('pushes trails of people walking, with the rules in force, and stores nothing', async () => {
    const tracksOf = () => ws.messages.filter((m) => m.type === 'tracks').map((m) => m.tracks as Tracks);
    // a trail of several points: someone walked for a while in view
    await waitUntil(
      () => tracksOf().some((x) => x.tracks.some((tr) => tr.points.length >= 3)),
      `a tracks message with a trail; agent output:\n${agent.output().slice(-2000)}`,
      120_000,
    );
    const all = tracksOf();
    const first = all[0]!;
    expect(first).toMatchObject({ site: SITE, agent: AGENT, camera: 'hall', windowMs: 10_000 });
    expect(first.frame.width).toBeGreaterThan(0);
    expect(first.rules).toEqual({
      zones: [
        {
          id: 'fond',
          polygon: [
            [0, 0],
            [200, 0],
            [200, 120],
            [0, 120],
          ],
        },
      ],
      lines: [{ id: 'entry', from: [480, 410], to: [150, 410], allowedDirection: 'both' }],
    });
    const trail = all.flatMap((x) => x.tracks).find((tr) => tr.points.length >= 3)!;
    // foot points inside the frame, oldest first (ages decreasing)
    for (const [x, y] of trail.points) {
      expect(x).toBeGreaterThanOrEqual(-50);
      expect(x).toBeLessThanOrEqual(first.frame.width + 50);
      expect(y).toBeLessThanOrEqual(first.frame.height + 50);
    }
    const ages = trail.points.map((p) => p[2]);
    expect([...ages].sort((a, b) => b - a)).toEqual(ages);

    // every few seconds, not every frame
    const times = all.map((x) => Date.parse(x.ts));
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(2_900);

    // the trail ids are not the tracker's: no movement event's track id appears in any trail
    const movementTrackIds = new Set(
      ws.messages
        .filter((m) => m.type === 'event' && m.kind === 'movement')
        .map((m) => (m.event as { payload: { trackId?: string } }).payload.trackId)
        .filter((id): id is string => typeof id === 'string'),
    );
    for (const x of all) for (const tr of x.tracks) expect(movementTrackIds.has(tr.id)).toBe(false);

    // nothing stored: no row of the server's database holds a trail
    const db = new Database(t.dbPath, { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare(`SELECT count(*) AS n FROM events WHERE payload LIKE '%"windowMs"%'`).get() as {
        n: number;
      };
      expect(rows.n).toBe(0);
    } finally {
      db.close();
    }
  }, 180_000);
});
