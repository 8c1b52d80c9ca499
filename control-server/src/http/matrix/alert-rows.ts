import { expect } from 'vitest';
import { makeMovementEvent } from '../../test-support/fixtures.js';
import type { MatrixContext, MatrixRows, UserName } from './matrix-context.js';

/**
 * Rows of the live view's routes (alerts, site statistics). Alerts: read by supervisors and site
 * admins (`alerts:ack` or `events.movement:read`), acknowledged by supervisors only (`alerts:ack`);
 * statistics: aggregates, read with `events.movement:read` or `events.access:read` at the site.
 */

/** sites where each user may read the alert queue */
const ALERT_READERS: Record<UserName, string[]> = {
  rec1: [],
  sup1: ['s1'],
  adm1: ['s1'],
  it1: [],
  itAll: [],
  itAdm1: ['s1'],
};
/** alerts:ack: supervisors only */
const ALERT_ACKERS: Record<UserName, string[]> = {
  rec1: [],
  sup1: ['s1'],
  adm1: [],
  it1: [],
  itAll: [],
  itAdm1: [],
};
/** passages (access) statistics: roles reading access events; reception included (its own gate's flow) */
const PASSAGE_STATS_READERS: Record<UserName, string[]> = {
  rec1: ['s1'],
  sup1: ['s1'],
  adm1: ['s1'],
  it1: [],
  itAll: [],
  itAdm1: ['s1'],
};
/** line counts: movement readers */
const MOVEMENT_STATS_READERS: Record<UserName, string[]> = {
  rec1: [],
  sup1: ['s1'],
  adm1: ['s1'],
  it1: [],
  itAll: [],
  itAdm1: ['s1'],
};

export function alertRows(ctx: MatrixContext): MatrixRows {
  return {
    'GET /api/sites/:site/alerts': async (who) => {
      for (const site of ['s1', 's2']) {
        const tailgating = makeMovementEvent(site, 'gate-1', { kind: 'tailgating', rule: 'tg', excess: 1 });
        ctx.t.events.insert('movement', tailgating, new Date().toISOString());
        const res = await ctx.get(who, `/api/sites/${site}/alerts?open=1`);
        expect(res.statusCode, site).toBe(ctx.expectedFor(who, site, ALERT_READERS));
        if (res.statusCode === 200) {
          const body = res.json<{ site: string; alerts: Array<{ id: string; kind: string; site: string }> }>();
          expect(body.site).toBe(site);
          expect(body.alerts.map((a) => a.id)).toContain(tailgating.id);
          expect(body.alerts.every((a) => a.site === site)).toBe(true);
          // the matrix's camera event (offline, unreachable) is an alert too
          expect(body.alerts.map((a) => a.kind)).toContain('camera_offline');
        }
      }
    },
    'POST /api/sites/:site/alerts/:alertId/ack': async (who) => {
      for (const site of ['s1', 's2']) {
        const e = makeMovementEvent(site, 'gate-1', { kind: 'wrong_way', rule: 'entry', direction: 'out' });
        ctx.t.events.insert('movement', e, new Date().toISOString());
        const url = `/api/sites/${site}/alerts/${e.id}/ack`;
        const res = await ctx.send(who, 'POST', url, { note: 'vu, élève revenu' });
        const expected = ctx.expectedFor(who, site, ALERT_ACKERS);
        expect(res.statusCode, site).toBe(expected);
        if (expected !== 200) continue;
        expect(res.json()).toMatchObject({
          ack: { alertId: e.id, kind: 'wrong_way', ackedBy: who, note: 'vu, élève revenu' },
        });
        // once only: a second supervisor gets the first acknowledgement back
        const again = await ctx.send(who, 'POST', url, {});
        expect(again.statusCode).toBe(409);
        expect(again.json()).toMatchObject({ error: 'ALREADY_ACKNOWLEDGED', ack: { ackedBy: who } });
        // gone from the open queue, and in the audit log
        const open = await ctx.get(who, `/api/sites/${site}/alerts?open=1`);
        expect(open.json<{ alerts: Array<{ id: string }> }>().alerts.map((a) => a.id)).not.toContain(e.id);
        const audited = [...ctx.t.audit.iterate({ site })].filter(
          (r) => r.action === 'alert.ack' && r.target === `alert:${e.id}`,
        );
        expect(audited).toHaveLength(1);
        expect(audited[0]!.actor).toBe(who);
        // an unknown id is a 404, not a silent success
        expect(
          (await ctx.send(who, 'POST', `/api/sites/${site}/alerts/0190aaaa-0000-7000-8000-000000000000/ack`, {}))
            .statusCode,
        ).toBe(404);
      }
    },
    'GET /api/sites/:site/stats/passages': async (who) => {
      for (const site of ['s1', 's2']) {
        const res = await ctx.get(who, `/api/sites/${site}/stats/passages?bucket=5m`);
        expect(res.statusCode, site).toBe(ctx.expectedFor(who, site, PASSAGE_STATS_READERS));
        if (res.statusCode === 200) {
          const body = res.json<{ site: string; bucketMs: number; gates: unknown[] }>();
          expect(body).toMatchObject({ site, bucketMs: 300_000 });
          // aggregates only: no credential id, no event id
          expect(res.body).not.toContain('cred-8f3a');
        }
      }
    },
    'GET /api/sites/:site/stats/decision-times': async (who) => {
      for (const site of ['s1', 's2']) {
        const res = await ctx.get(who, `/api/sites/${site}/stats/decision-times`);
        expect(res.statusCode, site).toBe(ctx.expectedFor(who, site, PASSAGE_STATS_READERS));
        if (res.statusCode === 200) expect(res.body).not.toContain('cred-8f3a');
      }
    },
    'GET /api/sites/:site/stats/line-counts': async (who) => {
      for (const site of ['s1', 's2']) {
        const res = await ctx.get(who, `/api/sites/${site}/stats/line-counts?bucket=1h`);
        expect(res.statusCode, site).toBe(ctx.expectedFor(who, site, MOVEMENT_STATS_READERS));
      }
    },
  };
}
