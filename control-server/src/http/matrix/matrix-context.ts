import type { Response as InjectResponse } from 'light-my-request';
import { expect } from 'vitest';
import type { RoleGrant } from '../../auth/permissions.js';
import { importRegistry } from '../../people/registry-import.js';
import { generateStudents, registryCsv } from '../../people/testing.js';
import type { AuthTestApp, LoggedIn } from '../../test-support/auth.js';

/**
 * Shared context of the permission matrix (permission-matrix.test.ts). Each area keeps its rows in its
 * own file here (`*-rows.ts`, a function of this context returning `MatrixRows`), so that routes added
 * by different work streams do not collide in one file; the test merges them and fails on any route
 * without a row.
 */

export const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';

export const USERS = {
  rec1: [{ role: 'reception', site: 's1' }],
  sup1: [{ role: 'supervisor', site: 's1' }],
  adm1: [{ role: 'site_admin', site: 's1' }],
  it1: [{ role: 'regional_it', site: 's1' }],
  itAll: [{ role: 'regional_it', site: '*' }],
  // regional IT everywhere, and site admin of s1 only: personal data of s1, not of s2
  itAdm1: [
    { role: 'regional_it', site: '*' },
    { role: 'site_admin', site: 's1' },
  ],
} satisfies Record<string, RoleGrant[]>;
export type Who = keyof typeof USERS | 'anonymous';
export const WHO: Who[] = ['anonymous', ...(Object.keys(USERS) as Array<keyof typeof USERS>)];

/** kind@site strings of the events each user must see, all other combinations hidden */
export const VISIBLE_EVENTS: Record<keyof typeof USERS, string[]> = {
  rec1: ['access@s1', 'camera@s1'],
  sup1: ['access@s1', 'movement@s1', 'camera@s1'],
  adm1: ['access@s1', 'movement@s1', 'camera@s1'],
  it1: ['camera@s1'],
  itAll: ['camera@s1', 'camera@s2'],
  itAdm1: ['access@s1', 'movement@s1', 'camera@s1', 'camera@s2'],
};
export const VISIBLE_AGENT_SITES: Record<keyof typeof USERS, string[]> = {
  rec1: ['s1'],
  sup1: ['s1'],
  adm1: ['s1'],
  it1: ['s1'],
  itAll: ['s1', 's2'],
  itAdm1: ['s1', 's2'],
};

/** sites where each user holds register:read (the register, retention, pilot, equal service: no personal data) */
export const REGISTER_READERS: Record<keyof typeof USERS, string[]> = {
  rec1: [],
  sup1: [],
  adm1: ['s1'],
  it1: ['s1'],
  itAll: ['s1', 's2'],
  itAdm1: ['s1', 's2'],
};
/** retention:write: site admins only, never regional IT through its own role */
export const PRIVACY_WRITERS: Record<keyof typeof USERS, string[]> = {
  rec1: [],
  sup1: [],
  adm1: ['s1'],
  it1: [],
  itAll: [],
  itAdm1: ['s1'],
};
/** people:export and people:erase: personal data, site admins only */
export const PEOPLE_ADMINS = PRIVACY_WRITERS;
export const MATRIX_STUDENTS = generateStudents(12, 77);

export type UserName = keyof typeof USERS;
/** One row per route (`METHOD /url` as Fastify registers it): checks what `who` gets. */
export type MatrixRows = Record<string, (who: Who) => Promise<void>>;

export interface MatrixContext {
  /** the app under test, with users s1/s2 data loaded (valid once beforeAll has run) */
  readonly t: AuthTestApp;
  readonly sessions: ReadonlyMap<Who, LoggedIn>;
  headersOf: (who: Who) => Record<string, string>;
  get: (who: Who, url: string) => Promise<InjectResponse>;
  send: (
    who: Who,
    method: 'PUT' | 'POST' | 'DELETE' | 'PATCH',
    url: string,
    payload?: Record<string, unknown>,
  ) => Promise<InjectResponse>;
  /** 401 anonymous, 200 where the caller is listed for the site, else 403 */
  expectedFor: (who: Who, site: string, allowed: Record<UserName, string[]>) => number;
  /** imports MATRIX_STUDENTS into s1 and s2 once */
  ensureStudents: () => void;
}

export function createMatrixContext(getApp: () => AuthTestApp, sessions: Map<Who, LoggedIn>): MatrixContext {
  let studentsImported = false;
  const headersOf = (who: Who): Record<string, string> => (who === 'anonymous' ? {} : sessions.get(who)!.headers);
  return {
    get t() {
      return getApp();
    },
    sessions,
    headersOf,
    get: (who, url) => getApp().app.inject({ method: 'GET', url, headers: headersOf(who) }),
    send: (who, method, url, payload) =>
      getApp().app.inject({ method, url, headers: headersOf(who), ...(payload ? { payload } : {}) }),
    expectedFor: (who, site, allowed) => (who === 'anonymous' ? 401 : allowed[who].includes(site) ? 200 : 403),
    ensureStudents() {
      if (studentsImported) return;
      studentsImported = true;
      for (const site of ['s1', 's2']) {
        const r = importRegistry(getApp().db, {
          site,
          bytes: Buffer.from(registryCsv(MATRIX_STUDENTS)),
          actor: 'test',
        });
        expect(r.ok).toBe(true);
      }
    },
  };
}
