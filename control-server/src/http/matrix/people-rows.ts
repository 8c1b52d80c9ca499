import { expect } from 'vitest';
import { findStudent } from '../../people/people-store.js';
import { multipartBody, registryCsv } from '../../people/testing.js';
import {
  MATRIX_STUDENTS,
  PEOPLE_ADMINS,
  WHO,
  type MatrixContext,
  type MatrixRows,
  type UserName,
  type Who,
} from './matrix-context.js';

/**
 * People routes (people-routes.ts): personal data, so site admins of the site only (adm1 and
 * itAdm1 at s1); regional IT without site_admin, reception and supervisors get 403, so does every
 * caller at s2 (cross-site). The sync state holds versions only: site admins and regional IT.
 * Students used: [0] never consents (enrolment refused before any model runs), [3] consent,
 * re-issue, revoke, card, withdrawal; [4..10] one per caller for a first issue; [11] departure.
 * The privacy rows erase [1] and [2] before these run.
 */

/** sites where each user may read the site's sync state (people:read or sites:write) */
const SYNC_READERS: Record<UserName, string[]> = {
  rec1: [],
  sup1: [],
  adm1: ['s1'],
  it1: ['s1'],
  itAll: ['s1', 's2'],
  itAdm1: ['s1', 's2'],
};

export function peopleRows(ctx: MatrixContext): MatrixRows {
  const get: MatrixContext['get'] = (who, url) => ctx.get(who, url);
  const send: MatrixContext['send'] = (who, method, url, payload) => ctx.send(who, method, url, payload);
  const headersOf = (who: Who) => ctx.headersOf(who);
  const expectedFor: MatrixContext['expectedFor'] = (who, site, allowed) => ctx.expectedFor(who, site, allowed);
  const ensureStudents = () => ctx.ensureStudents();
  const sid = (site: string, k: number) => findStudent(ctx.t.db, site, MATRIX_STUDENTS[k]!.externalId)!.id;
  const expect1 = (who: Who, site: string, ok = 200) => {
    const e = expectedFor(who, site, PEOPLE_ADMINS);
    return e === 200 ? ok : e;
  };
  const upload = (who: Who, url: string, bytes: Uint8Array, filename: string) => {
    const body = multipartBody(bytes, { filename });
    return ctx.t.app.inject({
      method: 'POST',
      url,
      headers: { ...headersOf(who), ...body.headers },
      payload: body.payload,
    });
  };
  /** a fresh credential (token held for the card) of student [3] at `site`, made outside the API */
  const freshCredential = (site: string) => {
    const r = ctx.t.people.reissue(site, sid(site, 3), { actor: 'test', reason: 'setup' });
    if (!r.ok) throw new Error(r.error.message);
    return r.value.credential.id;
  };

  return {
    'GET /api/sites/:site/students': async (who) => {
      ensureStudents();
      for (const site of ['s1', 's2']) {
        const res = await get(
          who,
          `/api/sites/${site}/students?q=${encodeURIComponent(MATRIX_STUDENTS[0]!.externalId)}`,
        );
        expect(res.statusCode, site).toBe(expect1(who, site));
        if (res.statusCode === 200) {
          const body = res.json<{ total: number; students: Array<{ externalId: string }> }>();
          expect(body.students.map((s) => s.externalId)).toEqual([MATRIX_STUDENTS[0]!.externalId]);
          expect(res.headers['cache-control']).toBe('no-store');
        }
      }
    },
    'GET /api/sites/:site/students/:studentId': async (who) => {
      ensureStudents();
      for (const site of ['s1', 's2']) {
        const res = await get(who, `/api/sites/${site}/students/${sid(site, 0)}`);
        expect(res.statusCode, site).toBe(expect1(who, site));
        if (res.statusCode === 200)
          expect(res.json()).toMatchObject({ student: { site, externalId: MATRIX_STUDENTS[0]!.externalId } });
      }
      if (expect1(who, 's1') === 200) {
        // a student of another site, asked for through a site the caller administers: not found, not revealed
        expect((await get(who, `/api/sites/s1/students/${sid('s2', 0)}`)).statusCode).toBe(404);
      }
    },
    'POST /api/sites/:site/students/imports': async (who) => {
      ensureStudents();
      for (const site of ['s1', 's2']) {
        const res = await upload(
          who,
          `/api/sites/${site}/students/imports`,
          Buffer.from(registryCsv(MATRIX_STUDENTS)),
          'eleves.csv',
        );
        await ctx.t.people.imports.idle();
        expect(res.statusCode, site).toBe(expect1(who, site, 202));
        if (res.statusCode === 202) {
          const id = res.json<{ job: { id: string } }>().job.id;
          expect(ctx.t.people.imports.get(site, id)?.state).toBe('done');
        }
      }
    },
    'GET /api/sites/:site/students/imports/:jobId': async (who) => {
      ensureStudents();
      for (const site of ['s1', 's2']) {
        const started = ctx.t.people.imports.start({
          site,
          bytes: Buffer.from(registryCsv(MATRIX_STUDENTS)),
          actor: 'test',
        });
        if (!started.ok) throw new Error(started.error.message);
        await ctx.t.people.imports.idle();
        const res = await get(who, `/api/sites/${site}/students/imports/${started.value.id}`);
        expect(res.statusCode, site).toBe(expect1(who, site));
        if (res.statusCode === 200)
          expect(res.json()).toMatchObject({ job: { state: 'done' }, report: { rows: MATRIX_STUDENTS.length } });
      }
    },
    'POST /api/sites/:site/students/:studentId/consents': async (who) => {
      ensureStudents();
      for (const site of ['s1', 's2']) {
        const res = await send(who, 'POST', `/api/sites/${site}/students/${sid(site, 3)}/consents`, {
          party: 'student',
          action: 'refuse',
          channel: 'paper',
          noticeVersion: 'v1',
        });
        expect(res.statusCode, site).toBe(expect1(who, site, 201));
      }
    },
    'PUT /api/sites/:site/students/:studentId/guardians': async (who) => {
      ensureStudents();
      for (const site of ['s1', 's2']) {
        const res = await send(who, 'PUT', `/api/sites/${site}/students/${sid(site, 3)}/guardians`, { count: 2 });
        expect(res.statusCode, site).toBe(expect1(who, site));
      }
    },
    'POST /api/sites/:site/students/:studentId/enrolment': async (who) => {
      ensureStudents();
      for (const site of ['s1', 's2']) {
        // student [0] has no consent: refused before the photo is decoded (no model is opened)
        const res = await upload(
          who,
          `/api/sites/${site}/students/${sid(site, 0)}/enrolment`,
          Buffer.from('not a photo'),
          'p.jpg',
        );
        expect(res.statusCode, site).toBe(expect1(who, site, 409));
        if (res.statusCode === 409) expect(res.json()).toMatchObject({ error: 'ENROL_ERR_CONSENT' });
      }
    },
    'POST /api/sites/:site/students/:studentId/credentials': async (who) => {
      ensureStudents();
      for (const site of ['s1', 's2']) {
        const res = await send(
          who,
          'POST',
          `/api/sites/${site}/students/${sid(site, 4 + WHO.indexOf(who))}/credentials`,
        );
        expect(res.statusCode, site).toBe(expect1(who, site, 201));
      }
    },
    'POST /api/sites/:site/students/:studentId/credentials/reissue': async (who) => {
      ensureStudents();
      for (const site of ['s1', 's2']) {
        const res = await send(who, 'POST', `/api/sites/${site}/students/${sid(site, 3)}/credentials/reissue`, {
          reason: 'lost',
        });
        expect(res.statusCode, site).toBe(expect1(who, site, 201));
        if (res.statusCode === 201) expect(res.json()).toMatchObject({ biometrics: 'none' });
      }
    },
    'POST /api/sites/:site/credentials/:credentialId/revoke': async (who) => {
      ensureStudents();
      for (const site of ['s1', 's2']) {
        const id = freshCredential(site);
        const res = await send(who, 'POST', `/api/sites/${site}/credentials/${id}/revoke`, { reason: 'lost' });
        expect(res.statusCode, site).toBe(expect1(who, site));
      }
    },
    'GET /api/sites/:site/credentials/:credentialId/:file': async (who) => {
      ensureStudents();
      for (const site of ['s1', 's2']) {
        const id = freshCredential(site);
        for (const [file, type] of [
          ['card.png', 'image/png'],
          ['qr.png', 'image/png'],
          ['card.pdf', 'application/pdf'],
        ] as const) {
          const res = await get(who, `/api/sites/${site}/credentials/${id}/${file}`);
          expect(res.statusCode, `${site} ${file}`).toBe(expect1(who, site));
          if (res.statusCode === 200) {
            expect(res.headers['content-type']).toBe(type);
            expect(res.headers['cache-control']).toBe('no-store');
          }
        }
      }
    },
    'POST /api/sites/:site/students/:studentId/withdrawal': async (who) => {
      ensureStudents();
      for (const site of ['s1', 's2']) {
        const res = await send(who, 'POST', `/api/sites/${site}/students/${sid(site, 3)}/withdrawal`);
        expect(res.statusCode, site).toBe(expect1(who, site));
      }
    },
    'POST /api/sites/:site/students/:studentId/departure': async (who) => {
      ensureStudents();
      for (const site of ['s1', 's2']) {
        const res = await send(who, 'POST', `/api/sites/${site}/students/${sid(site, 11)}/departure`);
        expect(res.statusCode, site).toBe(expect1(who, site));
      }
    },
    'GET /api/sites/:site/sync': async (who) => {
      for (const site of ['s1', 's2']) {
        const res = await get(who, `/api/sites/${site}/sync`);
        expect(res.statusCode, site).toBe(expectedFor(who, site, SYNC_READERS));
        if (res.statusCode === 200) {
          const body = res.json<{ site: string; agents: unknown }>();
          expect(body.site).toBe(site);
          expect(Array.isArray(body.agents)).toBe(true);
        }
      }
    },
  };
}
