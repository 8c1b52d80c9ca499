import { expect } from 'vitest';
import type { MatrixContext, MatrixRows, UserName, Who } from './matrix-context.js';
import { MATRIX_STUDENTS } from './matrix-context.js';

/**
 * Rows of the sites and agent-configuration routes (agent-config/): reading an agent's
 * configuration is `agents:read`, changing it needs `zones:write` / `cameras:write` at the site,
 * declaring a site is regional IT's (`sites:write`), and people counts appear only with `people:read`.
 */

/** sites where each user holds agents:read */
const READERS: Record<UserName, string[]> = {
  rec1: ['s1'],
  sup1: ['s1'],
  adm1: ['s1'],
  it1: ['s1'],
  itAll: ['s1', 's2'],
  itAdm1: ['s1', 's2'],
};
/** zones:write and cameras:write: site admins and regional IT */
const CONFIG_WRITERS: Record<UserName, string[]> = {
  rec1: [],
  sup1: [],
  adm1: ['s1'],
  it1: ['s1'],
  itAll: ['s1', 's2'],
  itAdm1: ['s1', 's2'],
};
/** sites:write: regional IT only */
const SITE_WRITERS: Record<UserName, string[]> = {
  rec1: [],
  sup1: [],
  adm1: [],
  it1: ['s1'],
  itAll: ['s1', 's2'],
  itAdm1: ['s1', 's2'],
};
/** people:read: where the people counts of GET /api/sites appear */
const PEOPLE_READERS: Record<UserName, string[]> = {
  rec1: [],
  sup1: [],
  adm1: ['s1'],
  it1: [],
  itAll: [],
  itAdm1: ['s1'],
};

export function siteRows(ctx: MatrixContext): MatrixRows {
  const { get, send, expectedFor } = ctx;
  let putCount = 0;
  const configBody = () => {
    putCount++;
    return {
      cameras: [
        {
          id: 'gate-1',
          locationType: 'entrance',
          zones: [
            {
              id: `z${putCount}`,
              polygon: [
                [0, 0],
                [100, 0],
                [100, 100],
              ],
            },
          ],
        },
      ],
      thresholds: { faceScore: 0.7 },
    };
  };
  const configUrl = (site: string) => `/api/sites/${site}/agents/gate-1/config`;

  return {
    'GET /api/sites': async (who: Who) => {
      ctx.ensureStudents();
      const res = await get(who, '/api/sites');
      if (who === 'anonymous') return expect(res.statusCode).toBe(401);
      expect(res.statusCode).toBe(200);
      const sites = res.json<{
        sites: Array<{ site: string; agents: { total: number }; people?: { students: number } }>;
      }>().sites;
      const listed = sites.map((s) => s.site).filter((s) => s === 's1' || s === 's2');
      expect(listed).toEqual(READERS[who]);
      for (const s of sites.filter((x) => x.site === 's1' || x.site === 's2')) {
        expect(s.agents.total).toBe(1);
        // other rows may erase or mark students departed meanwhile: some remain, never more than imported
        if (PEOPLE_READERS[who].includes(s.site))
          expect(s.people?.students).toSatisfy((n: number) => n > 0 && n <= MATRIX_STUDENTS.length);
        else expect(s.people).toBeUndefined();
      }
      // no names of people in the list, whoever asks
      expect(res.body).not.toContain(MATRIX_STUDENTS[0]!.lastName);
    },
    'POST /api/sites/:site': async (who: Who) => {
      const body = { name: 'Lycée de test', timeZone: 'Europe/Paris' };
      const own = await send(who, 'POST', '/api/sites/s1', body);
      if (who === 'anonymous') return expect(own.statusCode).toBe(401);
      if (!SITE_WRITERS[who].includes('s1')) return expect(own.statusCode).toBe(403);
      // the first regional IT declares s1; the next ones find it declared
      expect([201, 409]).toContain(own.statusCode);
      const cross = await send(who, 'POST', '/api/sites/s2', body);
      // created or already declared both mean allowed
      expect(cross.statusCode === 201 || cross.statusCode === 409 ? 200 : cross.statusCode).toBe(
        expectedFor(who, 's2', SITE_WRITERS),
      );
      const bad = await send(who, 'POST', `/api/sites/new-${who.toLowerCase()}`, {
        name: 'x',
        timeZone: 'Mars/Olympus',
      });
      expect(bad.statusCode).toBe(SITE_WRITERS[who].length > 1 ? 400 : 403);
    },
    'PUT /api/sites/:site': async (who: Who) => {
      for (const site of ['s1', 's2']) {
        const res = await send(who, 'PUT', `/api/sites/${site}`, {
          name: `Site ${site}`,
          settings: { notes: 'gates A and B' },
        });
        expect(res.statusCode).toBe(expectedFor(who, site, SITE_WRITERS));
        if (res.statusCode === 200)
          expect(res.json()).toMatchObject({ site: { site, name: `Site ${site}`, declared: true } });
      }
    },
    'GET /api/sites/:site/agents/:agent/config': async (who: Who) => {
      for (const site of ['s1', 's2']) {
        const res = await get(who, configUrl(site));
        expect(res.statusCode).toBe(expectedFor(who, site, READERS));
        if (res.statusCode === 200) expect(res.json()).toMatchObject({ site, agent: 'gate-1', agentState: 'online' });
      }
    },
    'GET /api/sites/:site/agents/:agent/config/history': async (who: Who) => {
      for (const site of ['s1', 's2']) {
        const res = await get(who, `${configUrl(site)}/history`);
        expect(res.statusCode).toBe(expectedFor(who, site, READERS));
        if (res.statusCode === 200) expect(Array.isArray(res.json<{ versions: unknown[] }>().versions)).toBe(true);
      }
    },
    'PUT /api/sites/:site/agents/:agent/config': async (who: Who) => {
      for (const site of ['s1', 's2']) {
        const res = await send(who, 'PUT', configUrl(site), configBody());
        expect(res.statusCode).toBe(expectedFor(who, site, CONFIG_WRITERS));
        if (res.statusCode === 200) expect(res.json<{ version: number; unchanged: boolean }>().unchanged).toBe(false);
      }
    },
  };
}
