import { expect } from 'vitest';
import { seedPassage } from '../../test-support/gate-fixtures.js';
import { findStudent } from '../../people/people-store.js';
import { MATRIX_STUDENTS, type MatrixContext, type MatrixRows, type UserName } from './matrix-context.js';

/**
 * Rows of the gate view's routes (gate-routes.ts). Who is behind a passage: `photos:read` or
 * `overrides:write` at the site (reception, site admins); the ID photo: `photos:read`; acknowledging
 * and overriding: `overrides:write` (reception only); the visitor desk: `visitors:write` (reception
 * only). Regional IT never, unless it is also site admin of the site.
 */

const PASSAGE_READERS: Record<UserName, string[]> = {
  rec1: ['s1'],
  sup1: [],
  adm1: ['s1'],
  it1: [],
  itAll: [],
  itAdm1: ['s1'],
};
const PHOTO_READERS = PASSAGE_READERS;
const GATE_OPERATORS: Record<UserName, string[]> = {
  rec1: ['s1'],
  sup1: [],
  adm1: [],
  it1: [],
  itAll: [],
  itAdm1: [],
};
const VISITOR_DESK = GATE_OPERATORS;
const SITES = ['s1', 's2'] as const;

export function gateRows(ctx: MatrixContext): MatrixRows {
  const get: MatrixContext['get'] = (who, url) => ctx.get(who, url);
  const send: MatrixContext['send'] = (who, method, url, payload) => ctx.send(who, method, url, payload);
  const expectedFor: MatrixContext['expectedFor'] = (who, site, allowed) => ctx.expectedFor(who, site, allowed);
  // per site: a passage of the first matrix student (with a synthetic ID photo) and a visitor
  let seeded: Promise<Record<string, { eventId: string; visitorId: number; firstName: string }>> | null = null;
  const seed = () =>
    (seeded ??= (async () => {
      ctx.ensureStudents();
      const out: Record<string, { eventId: string; visitorId: number; firstName: string }> = {};
      for (const site of SITES) {
        const student = findStudent(ctx.t.db, site, MATRIX_STUDENTS[0]!.externalId)!;
        const { eventId } = await seedPassage(
          { db: ctx.t.db, dataDir: ctx.t.dataDir, events: ctx.t.events },
          { site, studentId: student.id, decision: 'mismatch', photo: true },
        );
        const v = ctx.t.app.deps.gate!.registerVisitor({
          site,
          lastName: 'Visiteur',
          firstName: 'Matrice',
          purpose: 'réunion',
          host: 'CPE',
          idDocumentType: 'id_card',
          actor: 'test',
        });
        if (!v.ok) throw new Error(v.error.message);
        out[site] = { eventId, visitorId: v.value.visitor.id, firstName: student.firstName };
      }
      return out;
    })());

  return {
    'GET /api/sites/:site/passages': async (who) => {
      const s = await seed();
      for (const site of SITES) {
        const res = await get(who, `/api/sites/${site}/passages?ids=${s[site]!.eventId}`);
        expect(res.statusCode, site).toBe(expectedFor(who, site, PASSAGE_READERS));
        if (res.statusCode === 200) {
          const body = res.json<{ passages: Array<{ holder: { firstName: string; photo: boolean } | null }> }>();
          expect(body.passages).toHaveLength(1);
          expect(body.passages[0]!.holder).toEqual({
            kind: 'student',
            firstName: s[site]!.firstName,
            className: MATRIX_STUDENTS[0]!.className,
            photo: true,
          });
          expect(res.headers['cache-control']).toBe('no-store');
        }
      }
    },
    'GET /api/sites/:site/passages/:eventId/photo': async (who) => {
      const s = await seed();
      for (const site of SITES) {
        const res = await get(who, `/api/sites/${site}/passages/${s[site]!.eventId}/photo`);
        expect(res.statusCode, site).toBe(expectedFor(who, site, PHOTO_READERS));
        if (res.statusCode === 200) {
          expect(res.headers['content-type']).toBe('image/jpeg');
          expect(res.headers['cache-control']).toBe('no-store');
          expect(res.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
        }
      }
    },
    'POST /api/sites/:site/passages/:eventId/ack': async (who) => {
      const s = await seed();
      for (const site of SITES) {
        const res = await send(who, 'POST', `/api/sites/${site}/passages/${s[site]!.eventId}/ack`, { note: 'vu' });
        expect(res.statusCode, site).toBe(expectedFor(who, site, GATE_OPERATORS));
        if (res.statusCode === 200) expect(res.json()).toMatchObject({ passage: { ack: { note: 'vu' } } });
      }
    },
    'POST /api/sites/:site/passages/:eventId/override': async (who) => {
      const s = await seed();
      for (const site of SITES) {
        const res = await send(who, 'POST', `/api/sites/${site}/passages/${s[site]!.eventId}/override`, {
          decision: 'allow',
          reason: 'carte échangée, vérifiée',
        });
        expect(res.statusCode, site).toBe(expectedFor(who, site, GATE_OPERATORS));
      }
    },
    'POST /api/sites/:site/visitors': async (who) => {
      for (const site of SITES) {
        const res = await send(who, 'POST', `/api/sites/${site}/visitors`, {
          lastName: 'Durand',
          firstName: 'Louise',
          purpose: 'rendez-vous',
          host: 'Proviseur',
          idDocumentType: 'passport',
        });
        const expected = expectedFor(who, site, VISITOR_DESK);
        expect(res.statusCode, site).toBe(expected === 200 ? 201 : expected);
      }
    },
    'GET /api/sites/:site/visitors': async (who) => {
      await seed();
      for (const site of SITES) {
        const res = await get(who, `/api/sites/${site}/visitors`);
        expect(res.statusCode, site).toBe(expectedFor(who, site, VISITOR_DESK));
        if (res.statusCode === 200) {
          const body = res.json<{ visitors: Array<{ visitor: { site: string } }> }>();
          expect(body.visitors.length).toBeGreaterThan(0);
          expect(body.visitors.every((v) => v.visitor.site === site)).toBe(true);
        }
      }
    },
    'GET /api/sites/:site/visitors/:visitorId/pass': async (who) => {
      const s = await seed();
      for (const site of SITES) {
        const res = await get(who, `/api/sites/${site}/visitors/${s[site]!.visitorId}/pass?format=qr`);
        expect(res.statusCode, site).toBe(expectedFor(who, site, VISITOR_DESK));
        if (res.statusCode === 200) expect(res.headers['content-type']).toBe('image/png');
      }
      // a visitor of another site through this site's URL: unknown here
      if (VISITOR_DESK[who as UserName]?.includes('s1')) {
        expect((await get(who, `/api/sites/s1/visitors/${s.s2!.visitorId}/pass`)).statusCode).toBe(404);
      }
    },
    'POST /api/sites/:site/visitors/:visitorId/end': async (who) => {
      const s = await seed();
      for (const site of SITES) {
        const res = await send(who, 'POST', `/api/sites/${site}/visitors/${s[site]!.visitorId}/end`, {});
        expect(res.statusCode, site).toBe(expectedFor(who, site, VISITOR_DESK));
      }
    },
  };
}
