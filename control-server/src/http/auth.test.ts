import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyAuditRows } from '../audit/audit-log.js';
import { base32Decode, totpAt } from '../auth/totp.js';
import { createLogger } from '../infra/logger.js';
import { buildAuthTestApp, login, sessionCookieOf, TEST_PASSWORD, type AuthTestApp } from '../test-support/auth.js';
import { CSRF_HEADER, SESSION_COOKIE } from './auth/auth-plugin.js';

describe('accounts, sessions, CSRF, lockout (auth required)', () => {
  let t: AuthTestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const attempt = (app: AuthTestApp, username: string, password: string, headers: Record<string, string> = {}) =>
    app.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password }, headers });

  it('logs in with an httpOnly, SameSite=Strict cookie holding a random id stored only as a hash', async () => {
    t = await buildAuthTestApp();
    await t.addUser('alice', [{ role: 'supervisor', site: 's1' }]);
    const res = await attempt(t, 'alice', TEST_PASSWORD);
    expect(res.statusCode).toBe(200);
    const cookie = res.cookies.find((c) => c.name === SESSION_COOKIE)!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(cookie.secure).toBeFalsy(); // plain HTTP here; `auto` sets Secure behind HTTPS
    expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = t.db.prepare('SELECT id_hash FROM sessions').all() as Array<{ id_hash: string }>;
    expect(stored).toHaveLength(1);
    expect(stored[0]!.id_hash).not.toBe(cookie.value);
    expect(res.json()).toMatchObject({
      user: { username: 'alice', roles: [{ role: 'supervisor', site: 's1' }] },
      permissions: { 'agents:read': ['s1'], 'events.movement:read': ['s1'] },
      csrfToken: expect.any(String),
    });
    expect(JSON.stringify(res.json())).not.toContain('password');
  });

  it('issues a new session id at each login and drops the one the browser came with (no fixation)', async () => {
    t = await buildAuthTestApp();
    await t.addUser('alice', [{ role: 'supervisor', site: 's1' }]);
    const first = await login(t.app, 'alice');
    // a planted, unknown id is not adopted either
    const planted = 'planted-session-id-aaaaaaaaaaaaaaaaaaaaaaaaaa';
    const second = await attempt(t, 'alice', TEST_PASSWORD, { cookie: `${SESSION_COOKIE}=${first.cookie}` });
    const secondId = sessionCookieOf(second)!;
    expect(secondId).not.toBe(first.cookie);
    // /me is public: a dead session reads as `authenticated: false` (no 401 for the browser to log)
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: first.headers })).json()).toMatchObject({
      authenticated: false,
    });
    expect((await t.app.inject({ method: 'GET', url: '/api/agents', headers: first.headers })).statusCode).toBe(401);
    const third = await attempt(t, 'alice', TEST_PASSWORD, { cookie: `${SESSION_COOKIE}=${planted}` });
    expect(sessionCookieOf(third)).not.toBe(planted);
  });

  it('ends a session after the idle timeout, and after the absolute timeout even when used', async () => {
    t = await buildAuthTestApp({ policy: { idleTimeoutMs: 10 * 60_000, absoluteTimeoutMs: 60 * 60_000 } });
    await t.addUser('alice', [{ role: 'supervisor', site: 's1' }]);
    const me = (h: Record<string, string>) => t!.app.inject({ method: 'GET', url: '/api/auth/me', headers: h });
    const idle = await login(t.app, 'alice');
    t.clock.nowMs += 10 * 60_000 + 1;
    expect((await me(idle.headers)).json()).toMatchObject({ authenticated: false });

    const busy = await login(t.app, 'alice');
    for (let i = 0; i < 6; i++) {
      t.clock.nowMs += 9 * 60_000;
      expect((await me(busy.headers)).json()).toMatchObject({ authenticated: true });
    }
    t.clock.nowMs += 9 * 60_000; // 63 min after login
    const expired = await me(busy.headers);
    expect(expired.statusCode).toBe(200);
    expect(expired.json()).toEqual({
      authMode: 'required',
      authenticated: false,
      login: { password: true, oidc: null },
    });
    // the browser is told to forget the dead cookie
    expect(expired.cookies.find((c) => c.name === SESSION_COOKIE)?.value).toBe('');
  });

  it('requires the CSRF token and a same-origin Origin on state-changing requests', async () => {
    t = await buildAuthTestApp();
    await t.addUser('adm', [{ role: 'site_admin', site: 's1' }]);
    const s = await login(t.app, 'adm');
    const post = (headers: Record<string, string>) =>
      t!.app.inject({
        method: 'POST',
        url: '/api/users',
        headers: { host: 'portail.lycee.test', ...headers },
        payload: {
          username: `u${Math.random().toString(36).slice(2, 8)}`,
          password: 'a long enough passphrase',
          roles: [{ role: 'reception', site: 's1' }],
        },
      });
    const cookieOnly = { cookie: s.headers.cookie! };
    expect((await post(cookieOnly)).json()).toMatchObject({ error: 'CSRF_TOKEN_INVALID' });
    expect((await post({ ...cookieOnly, [CSRF_HEADER]: 'x'.repeat(43) })).statusCode).toBe(403);
    expect((await post({ ...s.headers, origin: 'https://evil.example' })).json()).toMatchObject({
      error: 'ORIGIN_NOT_ALLOWED',
    });
    expect((await post({ ...s.headers, 'sec-fetch-site': 'cross-site' })).statusCode).toBe(403);
    expect((await post({ ...s.headers, origin: 'http://portail.lycee.test' })).statusCode).toBe(201);
    // login itself refuses a cross-origin form (login CSRF)
    const cross = await attempt(t, 'adm', TEST_PASSWORD, {
      origin: 'https://evil.example',
      host: 'portail.lycee.test',
    });
    expect(cross.statusCode).toBe(403);
  });

  it('locks a username after repeated failures, with a clear message, whether or not it exists', async () => {
    t = await buildAuthTestApp({ policy: { maxFailedLogins: 3, lockoutMs: 15 * 60_000 } });
    await t.addUser('alice', [{ role: 'supervisor', site: 's1' }]);
    for (const name of ['alice', 'nobody']) {
      expect((await attempt(t, name, 'wrong password 1')).json()).toMatchObject({ error: 'INVALID_CREDENTIALS' });
      expect((await attempt(t, name, 'wrong password 2')).statusCode).toBe(401);
      const locked = await attempt(t, name, 'wrong password 3');
      expect(locked.statusCode).toBe(429);
      expect(locked.headers['retry-after']).toBe('900');
      expect(locked.json()).toMatchObject({
        error: 'ACCOUNT_LOCKED',
        message: expect.stringMatching(/locked for 15 min/),
      });
    }
    // the right password does not open a locked account
    expect((await attempt(t, 'alice', TEST_PASSWORD)).json()).toMatchObject({ error: 'ACCOUNT_LOCKED' });
    t.clock.nowMs += 15 * 60_000;
    expect((await attempt(t, 'alice', TEST_PASSWORD)).statusCode).toBe(200);
  });

  it('limits login attempts per address', async () => {
    t = await buildAuthTestApp({ policy: { loginAttemptsPerIp: 3, loginWindowMs: 60_000 } });
    for (let i = 0; i < 3; i++) expect((await attempt(t, `user${i}`, 'wrong password x')).statusCode).toBe(401);
    const limited = await attempt(t, 'user9', 'wrong password x');
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: 'RATE_LIMITED' });
    t.clock.nowMs += 60_000;
    expect((await attempt(t, 'user9', 'wrong password x')).statusCode).toBe(401);
  });

  it('ends the sessions of a disabled account', async () => {
    t = await buildAuthTestApp();
    await t.addUser('alice', [{ role: 'supervisor', site: 's1' }]);
    const s = await login(t.app, 'alice');
    const id = t.users.getByUsername('alice')!.id;
    t.users.setDisabled(id, true, new Date().toISOString());
    expect((await t.app.inject({ method: 'GET', url: '/api/agents', headers: s.headers })).statusCode).toBe(401);
    expect((await attempt(t, 'alice', TEST_PASSWORD)).statusCode).toBe(401);
  });

  it('enrols a TOTP second factor for an admin and then requires it at login', async () => {
    t = await buildAuthTestApp();
    await t.addUser('adm', [{ role: 'site_admin', site: 's1' }]);
    const s = await login(t.app, 'adm');
    const setup = await t.app.inject({ method: 'POST', url: '/api/auth/totp/setup', headers: s.headers });
    const { secret, uri } = setup.json<{ secret: string; uri: string }>();
    expect(uri).toMatch(/^otpauth:\/\/totp\/Portail%3Aadm\?secret=/);
    const code = totpAt(base32Decode(secret), t.clock.nowMs);
    const confirm = await t.app.inject({
      method: 'POST',
      url: '/api/auth/totp/confirm',
      headers: s.headers,
      payload: { code },
    });
    expect(confirm.statusCode).toBe(200);
    expect(confirm.json<{ recoveryCodes: string[] }>().recoveryCodes).toHaveLength(10);
    // the code used to confirm cannot log in again within its window (replay guard): the next one can
    t.clock.nowMs += 30_000;

    const noCode = await attempt(t, 'adm', TEST_PASSWORD);
    expect(noCode.json()).toMatchObject({ error: 'TOTP_REQUIRED' });
    expect(sessionCookieOf(noCode)).toBeUndefined();
    const withCode = (c: string) =>
      t!.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username: 'adm', password: TEST_PASSWORD, totp: c },
      });
    const wrong = String((Number(totpAt(base32Decode(secret), t.clock.nowMs)) + 1) % 1_000_000).padStart(6, '0');
    expect((await withCode(wrong)).json()).toMatchObject({ error: 'INVALID_CREDENTIALS' });
    expect((await withCode(totpAt(base32Decode(secret), t.clock.nowMs))).statusCode).toBe(200);
  });

  it('refuses to start when a route declares no permission', async () => {
    await expect(
      buildAuthTestApp({
        beforeReady: (app) => {
          app.get('/api/forgotten', async () => ({ secret: true }));
        },
      }),
    ).rejects.toThrow(/routes without a valid config.permission: GET \/api\/forgotten/);
  });

  it('writes logins, denials and user creation to a verifiable audit chain', async () => {
    t = await buildAuthTestApp();
    await t.addUser('adm', [{ role: 'site_admin', site: 's1' }]);
    await attempt(t, 'adm', 'wrong password 1');
    const s = await login(t.app, 'adm');
    await t.app.inject({ method: 'GET', url: '/api/stats', headers: s.headers });
    await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: s.headers });
    const rows = [...t.audit.iterate()];
    expect(rows.map((r) => `${r.action}:${r.outcome}`)).toEqual([
      'user.create:ok',
      'auth.login:failed',
      'auth.login:ok',
      'access.denied:denied',
      'auth.logout:ok',
    ]);
    expect(rows[3]).toMatchObject({ actor: 'adm', role: 'site_admin', target: 'GET /api/stats', ip: '127.0.0.1' });
    expect(verifyAuditRows(rows)).toMatchObject({ ok: true, rows: 5 });
  });

  it('audits reads of access events, one row per site, with the event ids', async () => {
    t = await buildAuthTestApp();
    await t.addUser('sup', [{ role: 'supervisor', site: 's1' }]);
    const { makeAccessEvent, makeCameraEvent } = await import('../test-support/fixtures.js');
    const a = makeAccessEvent('s1', 'gate-1');
    t.events.insert('access', a, new Date().toISOString());
    t.events.insert('camera', makeCameraEvent('s1', 'gate-1'), new Date().toISOString());
    const s = await login(t.app, 'sup');
    await t.app.inject({ method: 'GET', url: '/api/events?kind=camera', headers: s.headers });
    expect([...t.audit.iterate()].filter((r) => r.action === 'events.read')).toHaveLength(0);
    await t.app.inject({ method: 'GET', url: '/api/events', headers: s.headers });
    const reads = [...t.audit.iterate()].filter((r) => r.action === 'events.read');
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatchObject({
      actor: 'sup',
      role: 'supervisor',
      site: 's1',
      details: { kind: 'access', ids: [a.id] },
    });
  });

  it('never writes a password to the log, even at trace level', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString('utf8'));
        cb();
      },
    });
    const logger = createLogger('trace', sink);
    t = await buildAuthTestApp({ logger });
    await t.addUser('alice', [{ role: 'site_admin', site: 's1' }]);
    await attempt(t, 'alice', 'Wrong-Secret-Passphrase-123');
    const s = await login(t.app, 'alice');
    await t.app.inject({
      method: 'POST',
      url: '/api/users',
      headers: s.headers,
      payload: { username: 'bob', password: 'Bobs-Secret-Passphrase-456', roles: [{ role: 'reception', site: 's1' }] },
    });
    // a handler that logs a request body with a password field is redacted too
    logger.info({ body: { username: 'x', password: 'Logged-By-Mistake-789' } }, 'body');
    const text = lines.join('');
    expect(text).toContain('login'); // the log did record the logins
    for (const secret of [
      TEST_PASSWORD,
      'Wrong-Secret-Passphrase-123',
      'Bobs-Secret-Passphrase-456',
      'Logged-By-Mistake-789',
      s.cookie,
      s.csrf,
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it('in disabled mode, every route is open as before and the mode is logged loudly', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(chunk.toString('utf8'));
          cb();
        },
      }),
    );
    t = await buildAuthTestApp({ mode: 'disabled', logger });
    expect(lines.join('')).toMatch(/AUTH DISABLED/);
    for (const url of ['/api/agents', '/api/events', '/api/stats', '/metrics', '/api/users']) {
      expect((await t.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/me' })).json()).toMatchObject({ authMode: 'disabled' });
  });
});
