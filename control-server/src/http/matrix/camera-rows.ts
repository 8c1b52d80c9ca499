import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import WebSocket from 'ws';
import type { MatrixContext, MatrixRows, UserName, Who } from './matrix-context.js';
import { VISIBLE_AGENT_SITES } from './matrix-context.js';

/**
 * Rows of the camera routes (cameras/): the registry (read with `agents:read`, changed with
 * `cameras:write`: site admins and regional IT), the pixelated snapshot (`snapshots:read`,
 * `cameras:write` or `zones:write`: supervisors, site admins, regional IT), enrolment capture
 * (`enrolment:write`: site admins), the live preview socket (`preview:view`: supervisors and site
 * admins, never regional IT through its own role: faces are visible), and the fleet view.
 */

const CAMERA_WRITERS: Record<UserName, string[]> = {
  rec1: [],
  sup1: [],
  adm1: ['s1'],
  it1: ['s1'],
  itAll: ['s1', 's2'],
  itAdm1: ['s1', 's2'],
};
const SNAPSHOT_READERS: Record<UserName, string[]> = {
  rec1: [],
  sup1: ['s1'],
  adm1: ['s1'],
  it1: ['s1'],
  itAll: ['s1', 's2'],
  itAdm1: ['s1', 's2'],
};
const ENROLERS: Record<UserName, string[]> = {
  rec1: [],
  sup1: [],
  adm1: ['s1'],
  it1: [],
  itAll: [],
  itAdm1: ['s1'],
};
const PREVIEW_VIEWERS: Record<UserName, string[]> = {
  rec1: [],
  sup1: ['s1'],
  adm1: ['s1'],
  it1: [],
  itAll: [],
  itAdm1: ['s1'],
};

const SECRET = 'MatrixCamPw9';
const body = (name: string) => ({ name, role: 'gate', locationType: 'entrance', trackingEnabled: false });

export function cameraRows(ctx: MatrixContext): MatrixRows {
  const get: MatrixContext['get'] = (who, url) => ctx.get(who, url);
  const send: MatrixContext['send'] = (who, method, url, payload) => ctx.send(who, method, url, payload);
  const expectedFor: MatrixContext['expectedFor'] = (who, site, allowed) => ctx.expectedFor(who, site, allowed);
  let seeded = false;
  const seed = () => {
    if (seeded) return;
    seeded = true;
    for (const site of ['s1', 's2']) {
      const r = ctx.t.cameras.registry.put(
        { site, agent: 'gate-1', camera: 'gate-1' },
        { ...body('Entrée'), rtspUrl: `rtsp://viewer:${SECRET}@192.0.2.10/live` } as never,
        { actor: 'matrix' },
      );
      expect(r.ok).toBe(true);
    }
  };

  /** what a preview socket answers: an HTTP status, or the first text message and the close code */
  const preview = (who: Who, site: string) =>
    new Promise<{ status?: number; first?: { type: string; error?: string }; close?: number }>((resolve) => {
      const port = (ctx.t.app.server.address() as AddressInfo).port;
      const headers = who === 'anonymous' ? {} : { cookie: ctx.headersOf(who).cookie! };
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/preview?site=${site}&agent=gate-1&camera=none`, { headers });
      let first: { type: string; error?: string } | undefined;
      ws.on('message', (d: Buffer, isBinary: boolean) => {
        if (!isBinary && !first) first = JSON.parse(d.toString('utf8')) as { type: string; error?: string };
      });
      ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
      ws.on('error', () => {
        // a refused upgrade also errors; its status was reported by unexpected-response
      });
      ws.on('close', (close) => resolve({ ...(first ? { first } : {}), close }));
    });

  return {
    'GET /api/sites/:site/cameras': async (who) => {
      seed();
      for (const site of ['s1', 's2']) {
        const res = await get(who, `/api/sites/${site}/cameras`);
        const expected = who === 'anonymous' ? 401 : VISIBLE_AGENT_SITES[who].includes(site) ? 200 : 403;
        expect(res.statusCode, site).toBe(expected);
        expect(res.body).not.toContain(SECRET);
        if (res.statusCode !== 200) continue;
        const cams = res.json<{ cameras: Array<{ camera: string; hasUrl: boolean; url?: string | null }> }>().cameras;
        const gate = cams.find((c) => c.camera === 'gate-1')!;
        expect(gate.hasUrl).toBe(true);
        // the redacted URL only to those who may change it
        const writer = who !== 'anonymous' && CAMERA_WRITERS[who].includes(site);
        expect(gate.url, `${site} url`).toBe(writer ? 'rtsp://viewer:***@192.0.2.10/live' : undefined);
      }
    },
    'PUT /api/sites/:site/agents/:agent/cameras/:camera': async (who) => {
      for (const site of ['s1', 's2']) {
        const res = await send(
          who,
          'PUT',
          `/api/sites/${site}/agents/gate-1/cameras/put-${who.toLowerCase()}`,
          body(`Caméra ${who}`),
        );
        const expected = expectedFor(who, site, CAMERA_WRITERS);
        expect(res.statusCode === 201 ? 200 : res.statusCode, site).toBe(expected);
        const stored = ctx.t.cameras.registry.get({ site, agent: 'gate-1', camera: `put-${who.toLowerCase()}` });
        expect(stored !== null, site).toBe(expected === 200);
      }
    },
    'DELETE /api/sites/:site/agents/:agent/cameras/:camera': async (who) => {
      for (const site of ['s1', 's2']) {
        const ref = { site, agent: 'gate-1', camera: `del-${who.toLowerCase()}` };
        ctx.t.cameras.registry.put(ref, body('À supprimer') as never, { actor: 'matrix' });
        const res = await send(who, 'DELETE', `/api/sites/${site}/agents/gate-1/cameras/del-${who.toLowerCase()}`);
        const expected = expectedFor(who, site, CAMERA_WRITERS);
        expect(res.statusCode, site).toBe(expected === 200 ? 204 : expected);
        expect(ctx.t.cameras.registry.get(ref) === null, site).toBe(expected === 200);
      }
    },
    'GET /api/sites/:site/agents/:agent/cameras/:camera/snapshot': async (who) => {
      for (const site of ['s1', 's2']) {
        // an unregistered camera: the permission is decided before any frame is grabbed
        const res = await get(who, `/api/sites/${site}/agents/gate-1/cameras/none/snapshot`);
        const expected = expectedFor(who, site, SNAPSHOT_READERS);
        expect(res.statusCode, site).toBe(expected === 200 ? 404 : expected);
      }
    },
    'POST /api/sites/:site/students/:studentId/enrolment/capture': async (who) => {
      for (const site of ['s1', 's2']) {
        const res = await send(who, 'POST', `/api/sites/${site}/students/999999/enrolment/capture`, {
          agent: 'gate-1',
          camera: 'gate-1',
        });
        const expected = expectedFor(who, site, ENROLERS);
        expect(res.statusCode, site).toBe(expected === 200 ? 404 : expected);
      }
    },
    'GET /ws/preview': async (who) => {
      for (const site of ['s1', 's2']) {
        const r = await preview(who, site);
        if (who === 'anonymous') {
          expect(r.status ?? r.close, site).toBeOneOf([401, 1008]);
          continue;
        }
        if (PREVIEW_VIEWERS[who].includes(site)) {
          // allowed: the socket opens and says the camera is unknown
          expect(r.first, site).toMatchObject({ type: 'error', error: 'CAMERA_ERR_UNKNOWN' });
          expect(r.close, site).toBe(4004);
        } else {
          expect(r.first?.type, site).not.toBe('preview');
          expect(r.status ?? r.close, site).toBeOneOf([403, 1008]);
        }
      }
    },
    'GET /api/fleet': async (who) => {
      const res = await get(who, '/api/fleet');
      if (who === 'anonymous') {
        expect(res.statusCode).toBe(401);
        return;
      }
      expect(res.statusCode).toBe(200);
      const fleet = res.json<{ sites: Array<{ site: string }>; agents: Array<{ site: string }> }>();
      expect(fleet.sites.map((s) => s.site).filter((s) => s === 's1' || s === 's2')).toEqual(VISIBLE_AGENT_SITES[who]);
      expect([...new Set(fleet.agents.map((a) => a.site))].every((s) => VISIBLE_AGENT_SITES[who].includes(s))).toBe(
        true,
      );
    },
  };
}
