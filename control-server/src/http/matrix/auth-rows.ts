import { expect } from 'vitest';
import type { RoleGrant } from '../../auth/permissions.js';
import type { MatrixContext, MatrixRows, UserName, Who } from './matrix-context.js';

/**
 * Rows of the operators' and audit routes added with issue #7's second part: the audit read API
 * (`audit:read`: site admins for their sites, regional IT), the recovery codes of the second factor
 * (any logged-in account; without TOTP enrolled: 409), OpenID Connect (public; 404 when no provider
 * is configured, as here), and account administration (`users:write`, on accounts whose every grant
 * the caller administers; accounts of other sites do not exist for it: 404).
 */

/** sites whose audit rows each user reads (`*`: every row, the server-wide ones included) */
const AUDIT_SCOPE: Record<UserName, string[] | '*' | null> = {
  rec1: null,
  sup1: null,
  adm1: ['s1'],
  it1: ['s1'],
  itAll: '*',
  itAdm1: '*',
};

/** sites where each user administers accounts (users:write) */
const ACCOUNT_ADMINS: Record<UserName, string[]> = {
  rec1: [],
  sup1: [],
  adm1: ['s1'],
  it1: ['s1'],
  itAll: ['s1', 's2'],
  itAdm1: ['s1', 's2'],
};

let serial = 0;

export function authRows(ctx: MatrixContext): MatrixRows {
  const get: MatrixContext['get'] = (who, url) => ctx.get(who, url);
  const send: MatrixContext['send'] = (who, method, url, payload) => ctx.send(who, method, url, payload);

  /** a fresh reception account at `site`, so each call changes an account nobody else uses */
  async function target(site: string): Promise<number> {
    serial += 1;
    const name = `target-${serial}`;
    await ctx.t.addUser(name, [{ role: 'reception', site } satisfies RoleGrant]);
    return ctx.t.users.getByUsername(name)!.id;
  }

  /** an account-administration route: 401, 403 without users:write, 404 for another site's account */
  const accountRow =
    (method: 'POST' | 'PUT', path: (id: number) => string, payload?: Record<string, unknown>) =>
    async (who: Who): Promise<void> => {
      for (const site of ['s1', 's2']) {
        const id = await target(site);
        const res = await send(who, method, path(id), payload);
        const expected =
          who === 'anonymous'
            ? 401
            : ACCOUNT_ADMINS[who].length === 0
              ? 403
              : ACCOUNT_ADMINS[who].includes(site)
                ? 200
                : 404;
        expect(res.statusCode, `${site}: ${res.body}`).toBe(expected);
      }
    };

  return {
    'GET /api/audit': async (who) => {
      const res = await get(who, '/api/audit?limit=500');
      if (who === 'anonymous') return expect(res.statusCode).toBe(401);
      const scope = AUDIT_SCOPE[who];
      if (scope === null) return expect(res.statusCode).toBe(403);
      expect(res.statusCode).toBe(200);
      const sites = new Set(res.json<{ entries: Array<{ site: string | null }> }>().entries.map((e) => e.site));
      if (scope === '*') expect(sites.has(null) || sites.has('*')).toBe(true);
      else expect([...sites].every((s) => s !== null && scope.includes(s))).toBe(true);
      // another site's rows: refused, not silently emptied
      const cross = await get(who, '/api/audit?site=s2');
      expect(cross.statusCode).toBe(scope === '*' ? 200 : 403);
    },
    'GET /api/audit/verify': async (who) => {
      const res = await get(who, '/api/audit/verify');
      const scope = who === 'anonymous' ? undefined : AUDIT_SCOPE[who];
      expect(res.statusCode).toBe(who === 'anonymous' ? 401 : scope === null ? 403 : 200);
      if (res.statusCode === 200) expect(res.json()).toMatchObject({ ok: true });
    },
    'GET /api/audit/export': async (who) => {
      const res = await get(who, '/api/audit/export');
      const scope = who === 'anonymous' ? undefined : AUDIT_SCOPE[who];
      expect(res.statusCode).toBe(who === 'anonymous' ? 401 : scope === null ? 403 : 200);
      if (res.statusCode === 200) expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    },
    'POST /api/auth/totp/recovery-codes': async (who) => {
      const res = await send(who, 'POST', '/api/auth/totp/recovery-codes', { code: '123456' });
      // nobody here has enrolled TOTP (the setup row never confirms)
      expect(res.statusCode).toBe(who === 'anonymous' ? 401 : 409);
    },
    'GET /api/auth/oidc/login': async (who) => {
      expect((await get(who, '/api/auth/oidc/login')).statusCode).toBe(404);
    },
    'GET /api/auth/oidc/callback': async (who) => {
      expect((await get(who, '/api/auth/oidc/callback?code=x&state=y')).statusCode).toBe(404);
    },
    'POST /api/users/:id/disable': accountRow('POST', (id) => `/api/users/${id}/disable`),
    'POST /api/users/:id/enable': accountRow('POST', (id) => `/api/users/${id}/enable`),
    'POST /api/users/:id/password': accountRow('POST', (id) => `/api/users/${id}/password`, {
      password: 'a new long passphrase',
    }),
    'POST /api/users/:id/totp/reset': accountRow('POST', (id) => `/api/users/${id}/totp/reset`),
    'PUT /api/users/:id/roles': async (who) => {
      for (const site of ['s1', 's2']) {
        const id = await target(site);
        const res = await send(who, 'PUT', `/api/users/${id}/roles`, { roles: [{ role: 'supervisor', site }] });
        const expected =
          who === 'anonymous'
            ? 401
            : ACCOUNT_ADMINS[who].length === 0
              ? 403
              : ACCOUNT_ADMINS[who].includes(site)
                ? 200
                : 404;
        expect(res.statusCode, site).toBe(expected);
      }
    },
    'PUT /api/users/:id/email': accountRow('PUT', (id) => `/api/users/${id}/email`, { email: null }),
  };
}
