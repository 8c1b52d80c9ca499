import { afterEach, describe, expect, it } from 'vitest';
import { base32Decode, totpAt } from '../auth/totp.js';
import {
  buildAuthTestApp,
  login,
  sessionCookieOf,
  TEST_PASSWORD,
  type AuthTestApp,
  type LoggedIn,
} from '../test-support/auth.js';
import { SESSION_COOKIE } from './auth/auth-plugin.js';

/** Recovery codes, the TOTP replay guard, mandatory TOTP per role, and administrators' account changes. */
describe('second factor and account administration', () => {
  let t: AuthTestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const post = (app: AuthTestApp, s: LoggedIn, url: string, payload?: unknown) =>
    app.app.inject({
      method: 'POST',
      url,
      headers: s.headers,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const loginWith = (app: AuthTestApp, body: Record<string, string>) =>
    app.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'adm', password: TEST_PASSWORD, ...body },
    });

  /** setup + confirm for `s`; returns the secret and the recovery codes */
  async function enrol(app: AuthTestApp, s: LoggedIn): Promise<{ secret: string; codes: string[] }> {
    const setup = await post(app, s, '/api/auth/totp/setup');
    expect(setup.statusCode).toBe(200);
    const { secret } = setup.json<{ secret: string }>();
    const confirm = await post(app, s, '/api/auth/totp/confirm', {
      code: totpAt(base32Decode(secret), app.clock.nowMs),
    });
    expect(confirm.statusCode).toBe(200);
    expect(confirm.headers['cache-control']).toBe('no-store');
    return { secret, codes: confirm.json<{ recoveryCodes: string[] }>().recoveryCodes };
  }

  it('gives 10 single-use recovery codes, hashed at rest, and regenerates them on a valid code (audited)', async () => {
    t = await buildAuthTestApp();
    await t.addUser('adm', [{ role: 'site_admin', site: 's1' }]);
    const s = await login(t.app, 'adm');
    const { secret, codes } = await enrol(t, s);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/);
    // only hashes in the database
    const stored = t.db.prepare('SELECT code_hash FROM user_recovery_codes').all() as Array<{ code_hash: string }>;
    expect(stored).toHaveLength(10);
    const dump = JSON.stringify(stored);
    for (const c of codes) expect(dump).not.toContain(c.replace(/-/g, ''));

    // a code logs in once (typed in lower case with spaces: what a person reads off paper)
    const typed = codes[0]!.toLowerCase().replace(/-/g, ' ');
    const first = await loginWith(t, { recoveryCode: typed });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ recoveryCodesLeft: 9 });
    expect((await loginWith(t, { recoveryCode: codes[0]! })).json()).toMatchObject({ error: 'INVALID_CREDENTIALS' });
    expect([...t.audit.iterate()].some((r) => r.action === 'auth.recovery_code.use' && r.details.remaining === 9)).toBe(
      true,
    );

    // regeneration needs a valid TOTP code; the old codes stop working
    const s2 = await login(t.app, 'adm', TEST_PASSWORD).catch(() => null);
    expect(s2).toBeNull(); // TOTP is now required for a password login
    const fresh: LoggedIn = {
      cookie: sessionCookieOf(first)!,
      csrf: first.json<{ csrfToken: string }>().csrfToken,
      headers: {
        cookie: `${SESSION_COOKIE}=${sessionCookieOf(first)!}`,
        'x-csrf-token': first.json<{ csrfToken: string }>().csrfToken,
      },
    };
    expect((await post(t, fresh, '/api/auth/totp/recovery-codes', { code: '000000' })).statusCode).toBe(400);
    t.clock.nowMs += 60_000;
    const regen = await post(t, fresh, '/api/auth/totp/recovery-codes', {
      code: totpAt(base32Decode(secret), t.clock.nowMs),
    });
    expect(regen.statusCode).toBe(200);
    const next = regen.json<{ recoveryCodes: string[] }>().recoveryCodes;
    expect(next).toHaveLength(10);
    expect((await loginWith(t, { recoveryCode: codes[1]! })).statusCode).toBe(401);
    expect((await loginWith(t, { recoveryCode: next[0]! })).statusCode).toBe(200);
    const actions = [...t.audit.iterate()].map((r) => `${r.action}:${r.outcome}`);
    expect(actions).toEqual(expect.arrayContaining(['user.totp.recovery_codes:failed', 'user.totp.recovery_codes:ok']));
  });

  it('refuses a TOTP code the second time within its window', async () => {
    t = await buildAuthTestApp();
    await t.addUser('adm', [{ role: 'site_admin', site: 's1' }]);
    const { secret } = await enrol(t, await login(t.app, 'adm'));
    t.clock.nowMs += 30_000;
    const code = totpAt(base32Decode(secret), t.clock.nowMs);
    expect((await loginWith(t, { totp: code })).statusCode).toBe(200);
    expect((await loginWith(t, { totp: code })).json()).toMatchObject({ error: 'INVALID_CREDENTIALS' });
    t.clock.nowMs += 30_000;
    expect((await loginWith(t, { totp: totpAt(base32Decode(secret), t.clock.nowMs) })).statusCode).toBe(200);
  });

  it('makes an account of a listed role enrol TOTP before any other route answers', async () => {
    t = await buildAuthTestApp({ policy: { totpRequiredRoles: ['site_admin', 'regional_it'] } });
    await t.addUser('adm', [{ role: 'site_admin', site: 's1' }]);
    await t.addUser('rec', [{ role: 'reception', site: 's1' }]);
    const res = await loginWith(t, {});
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ totpEnrolmentRequired: true, permissions: {} });
    const s: LoggedIn = {
      cookie: sessionCookieOf(res)!,
      csrf: res.json<{ csrfToken: string }>().csrfToken,
      headers: {
        cookie: `${SESSION_COOKIE}=${sessionCookieOf(res)!}`,
        'x-csrf-token': res.json<{ csrfToken: string }>().csrfToken,
      },
    };
    for (const url of ['/api/agents', '/api/users', '/api/audit']) {
      const refused = await t.app.inject({ method: 'GET', url, headers: s.headers });
      expect(refused.statusCode, url).toBe(403);
      expect(refused.json(), url).toMatchObject({ error: 'TOTP_ENROLMENT_REQUIRED' });
    }
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: s.headers })).json()).toMatchObject({
      authenticated: true,
      totpEnrolmentRequired: true,
    });
    await enrol(t, s);
    expect((await t.app.inject({ method: 'GET', url: '/api/agents', headers: s.headers })).statusCode).toBe(200);
    const me = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: s.headers });
    expect(me.json()).toMatchObject({ totpEnrolmentRequired: false, recoveryCodesLeft: 10 });
    // a role that is not listed logs in as before
    expect((await login(t.app, 'rec')).csrf).toBeTruthy();
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/agents', headers: (await login(t.app, 'rec')).headers }))
        .statusCode,
    ).toBe(200);
  });

  it('lets an administrator disable, enable, reset the password and TOTP of, and regrant, the accounts it administers', async () => {
    t = await buildAuthTestApp();
    await t.addUser('adm1', [{ role: 'site_admin', site: 's1' }]);
    await t.addUser('rec1', [{ role: 'reception', site: 's1' }]);
    await t.addUser('both', [
      { role: 'reception', site: 's1' },
      { role: 'reception', site: 's2' },
    ]);
    await t.addUser('rec2', [{ role: 'reception', site: 's2' }]);
    const adm = await login(t.app, 'adm1');
    const id = (name: string) => t!.users.getByUsername(name)!.id;

    const rec = await login(t.app, 'rec1');
    const disabled = await post(t, adm, `/api/users/${id('rec1')}/disable`);
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json()).toMatchObject({ user: { username: 'rec1', disabled: true } });
    // its sessions ended
    expect((await t.app.inject({ method: 'GET', url: '/api/agents', headers: rec.headers })).statusCode).toBe(401);
    expect((await post(t, adm, `/api/users/${id('rec1')}/enable`)).json()).toMatchObject({ user: { disabled: false } });

    const newPassword = 'another long passphrase';
    expect((await post(t, adm, `/api/users/${id('rec1')}/password`, { password: 'short' })).statusCode).toBe(400);
    expect((await post(t, adm, `/api/users/${id('rec1')}/password`, { password: newPassword })).statusCode).toBe(200);
    await expect(login(t.app, 'rec1')).rejects.toThrow(/401/);
    expect((await login(t.app, 'rec1', newPassword)).csrf).toBeTruthy();

    expect((await post(t, adm, `/api/users/${id('rec1')}/totp/reset`)).statusCode).toBe(200);
    const roles = await t.app.inject({
      method: 'PUT',
      url: `/api/users/${id('rec1')}/roles`,
      headers: adm.headers,
      payload: { roles: [{ role: 'supervisor', site: 's1' }] },
    });
    expect(roles.json()).toMatchObject({ user: { roles: [{ role: 'supervisor', site: 's1' }] } });

    // an account with a grant elsewhere: its s1 grant may change, the account as a whole may not
    expect((await post(t, adm, `/api/users/${id('both')}/disable`)).statusCode).toBe(403);
    const partial = await t.app.inject({
      method: 'PUT',
      url: `/api/users/${id('both')}/roles`,
      headers: adm.headers,
      payload: { roles: [] },
    });
    expect(partial.json()).toMatchObject({ user: { roles: [{ role: 'reception', site: 's2' }] } });
    // an account of another site does not exist for it; its own account is not changed this way
    expect((await post(t, adm, `/api/users/${id('rec2')}/disable`)).statusCode).toBe(404);
    expect((await post(t, adm, `/api/users/${id('adm1')}/disable`)).statusCode).toBe(409);
    // granting above its level is refused
    const raise = await t.app.inject({
      method: 'PUT',
      url: `/api/users/${id('rec1')}/roles`,
      headers: adm.headers,
      payload: { roles: [{ role: 'regional_it', site: 's1' }] },
    });
    expect(raise.statusCode).toBe(403);

    const listed = await t.app.inject({ method: 'GET', url: '/api/sites/s1/users', headers: adm.headers });
    const rec1 = listed.json<{ users: Array<Record<string, unknown>> }>().users.find((u) => u.username === 'rec1')!;
    expect(rec1).toMatchObject({ totpEnabled: false, lockedUntil: null, email: null, recoveryCodesLeft: null });

    const actions = [...t.audit.iterate()].map((r) => `${r.action}:${r.outcome}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'user.disable:ok',
        'user.enable:ok',
        'user.password.reset:ok',
        'user.totp.reset:ok',
        'user.roles.set:ok',
        'user.disable:denied',
        'user.roles.set:denied',
      ]),
    );
  });
});
