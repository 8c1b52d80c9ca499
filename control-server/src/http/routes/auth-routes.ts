import type { FastifyPluginAsync } from 'fastify';
import { PERMISSIONS, sitesWith, type Permission, type Principal } from '../../auth/permissions.js';
import { newTotpSecret, totpUri } from '../../auth/totp.js';
import { OIDC_TRANSACTION_MS } from '../../auth/oidc-login.js';
import type { SessionRecord } from '../../repositories/session-repository.js';
import type { UserRecord } from '../../repositories/user-repository.js';
import { clearSessionCookie, SESSION_COOKIE, setSessionCookie, type AuthPluginOptions } from '../auth/auth-plugin.js';

export interface AuthRoutesOptions {
  plugin: AuthPluginOptions;
  idleTimeoutMs: number;
  /** close the live connections of a session that logged out */
  onLogout: (sessionIdHash: string) => void;
}

export function publicUser(u: UserRecord) {
  return {
    id: u.id,
    username: u.username,
    disabled: u.disabled,
    totpEnabled: u.totpEnabled,
    roles: u.roles,
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
  };
}

/** For each permission held somewhere: `*` (every site) or the list of sites. */
export function permissionMap(p: Principal): Partial<Record<Permission, '*' | string[]>> {
  const out: Partial<Record<Permission, '*' | string[]>> = {};
  for (const perm of PERMISSIONS) {
    const sites = sitesWith(p, perm);
    if (sites === '*') out[perm] = '*';
    else if (sites.size > 0) out[perm] = [...sites].sort();
  }
  return out;
}

function sessionBody(
  p: Principal,
  user: UserRecord,
  session: SessionRecord,
  idleTimeoutMs: number,
  extra: { totpEnrolmentRequired: boolean; recoveryCodesLeft: number | null },
) {
  return {
    authMode: 'required' as const,
    authenticated: true as const,
    user: publicUser(user),
    // until the account enrols TOTP (auth.totpRequiredRoles) it may do nothing else: no permissions shown
    permissions: extra.totpEnrolmentRequired ? {} : permissionMap(p),
    csrfToken: session.csrfToken,
    expiresAt: session.expiresAt,
    idleTimeoutMs,
    totpEnrolmentRequired: extra.totpEnrolmentRequired,
    recoveryCodesLeft: extra.recoveryCodesLeft,
  };
}

const ADMIN_ROLES = new Set(['site_admin', 'regional_it']);
/** the id of a login in progress at the identity provider (its state, nonce and PKCE verifier stay here) */
export const OIDC_TXN_COOKIE = 'portail_oidc';
/** secrets offered by /totp/setup and not yet confirmed, per user; they expire after 10 minutes */
const PENDING_TOTP_MS = 10 * 60_000;

/**
 * POST /api/auth/login, POST /api/auth/logout, GET /api/auth/me, and the optional second factor of
 * admin accounts: POST /api/auth/totp/setup then POST /api/auth/totp/confirm.
 */
export const authRoutes: FastifyPluginAsync<AuthRoutesOptions> = async (app, opts) => {
  const pendingTotp = new Map<number, { secret: string; expiresAtMs: number }>();

  const bodyOf = (p: Principal, user: UserRecord, session: SessionRecord) => {
    const d = app.deps.auth.details(user);
    return sessionBody(p, user, session, opts.idleTimeoutMs, {
      totpEnrolmentRequired: d.totpEnrolmentRequired,
      recoveryCodesLeft: d.recoveryCodesLeft,
    });
  };

  app.post<{ Body: { username: string; password: string; totp?: string; recoveryCode?: string } }>(
    '/api/auth/login',
    {
      config: { permission: 'public' },
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['username', 'password'],
          properties: {
            username: { type: 'string', minLength: 1, maxLength: 128 },
            password: { type: 'string', minLength: 1, maxLength: 1024 },
            totp: { type: 'string', maxLength: 16 },
            recoveryCode: { type: 'string', maxLength: 32 },
          },
        },
      },
    },
    async (req, reply) => {
      const { username, password, totp, recoveryCode } = req.body;
      const res = await app.deps.auth.login({
        username,
        password,
        ...(totp !== undefined ? { totp } : {}),
        ...(recoveryCode !== undefined ? { recoveryCode } : {}),
        ip: req.ip,
        userAgent: req.headers['user-agent'] ?? null,
        ...(req.cookies[SESSION_COOKIE] ? { previousSessionId: req.cookies[SESSION_COOKIE] } : {}),
      });
      if (!res.ok) {
        const e = res.error;
        switch (e.code) {
          case 'INVALID_CREDENTIALS':
            return reply.code(401).send({ error: e.code, message: 'wrong username or password' });
          case 'TOTP_REQUIRED':
            return reply.code(401).send({ error: e.code, message: 'enter the 6-digit code of your authenticator app' });
          case 'ACCOUNT_LOCKED': {
            const minutes = Math.max(1, Math.ceil(e.retryAfterMs / 60_000));
            reply.header('retry-after', String(Math.ceil(e.retryAfterMs / 1000)));
            return reply.code(429).send({
              error: e.code,
              retryAfterS: Math.ceil(e.retryAfterMs / 1000),
              message: `too many failed logins: this account is locked for ${minutes} min; an administrator can unlock it sooner (portail-admin user unlock)`,
            });
          }
          case 'RATE_LIMITED':
            reply.header('retry-after', String(Math.ceil(e.retryAfterMs / 1000)));
            return reply.code(429).send({
              error: e.code,
              retryAfterS: Math.ceil(e.retryAfterMs / 1000),
              message: 'too many login attempts from this address: wait and retry',
            });
        }
      }
      const { sessionId, session, user } = res.value;
      setSessionCookie(req, reply, opts.plugin, sessionId);
      return bodyOf(app.deps.auth.principalOf(user), user, session);
    },
  );

  app.post(
    '/api/auth/logout',
    { config: { permission: 'authenticated', duringTotpEnrolment: true } },
    async (req, reply) => {
      const cookie = req.cookies[SESSION_COOKIE];
      if (cookie && req.authSession && req.principal) {
        app.deps.auth.logout(cookie, req.principal, req.ip);
        opts.onLogout(req.authSession.idHash);
      }
      clearSessionCookie(reply);
      return reply.code(204).send();
    },
  );

  // public: before login it answers 200 `{ authenticated: false }`, which a page reads without a
  // console error (a 401 is logged by every browser), with the login options the page offers
  app.get('/api/auth/me', { config: { permission: 'public', duringTotpEnrolment: true } }, async (req) => {
    const p = req.principal;
    if (p?.authDisabled) {
      return { authMode: 'disabled', authenticated: true, user: null, permissions: permissionMap(p), csrfToken: null };
    }
    const user = p && req.authSession && p.userId !== null ? lookupUser(p.userId) : null;
    if (!p || !req.authSession || !user) {
      return { authMode: 'required', authenticated: false, login: loginOptions() };
    }
    return bodyOf(p, user, req.authSession);
  });

  function loginOptions() {
    const oidc = app.deps.oidc;
    return { password: true, oidc: oidc ? { label: oidc.label, url: '/api/auth/oidc/login' } : null };
  }

  function lookupUser(id: number): UserRecord | null {
    return app.deps.users.get(id);
  }

  app.post(
    '/api/auth/totp/setup',
    { config: { permission: 'authenticated', duringTotpEnrolment: true } },
    async (req, reply) => {
      const p = req.principal!;
      const user = p.userId === null ? null : lookupUser(p.userId);
      // admin roles, and any role the deployment makes it mandatory for (auth.totpRequiredRoles)
      const offered =
        user !== null && (p.grants.some((g) => ADMIN_ROLES.has(g.role)) || app.deps.auth.needsTotpEnrolment(user));
      if (p.userId === null || !offered) {
        return reply
          .code(403)
          .send({ error: 'FORBIDDEN', message: 'a second factor is offered to site_admin and regional_it accounts' });
      }
      if (!user) return reply.code(401).send({ error: 'UNAUTHENTICATED' });
      if (user.totpEnabled) return reply.code(409).send({ error: 'TOTP_ALREADY_ENABLED' });
      const secret = newTotpSecret();
      pendingTotp.set(p.userId, { secret, expiresAtMs: Date.now() + PENDING_TOTP_MS });
      return { secret, uri: totpUri(secret, user.username), confirmWithin: PENDING_TOTP_MS / 1000 };
    },
  );

  app.post<{ Body: { code: string } }>(
    '/api/auth/totp/confirm',
    {
      config: { permission: 'authenticated', duringTotpEnrolment: true },
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['code'],
          properties: { code: { type: 'string', pattern: '^[0-9]{6}$' } },
        },
      },
    },
    async (req, reply) => {
      const p = req.principal!;
      const pending = p.userId === null ? undefined : pendingTotp.get(p.userId);
      if (p.userId === null || !pending || pending.expiresAtMs < Date.now()) {
        return reply.code(409).send({ error: 'NO_PENDING_TOTP', message: 'call /api/auth/totp/setup first' });
      }
      const res = app.deps.auth.enableTotp(p, pending.secret, req.body.code, req.ip);
      if (!res.ok) return reply.code(400).send({ error: res.error.code, message: res.error.message });
      pendingTotp.delete(p.userId);
      // the recovery codes in clear, this once: only their hashes are kept
      return reply.header('cache-control', 'no-store').send({ recoveryCodes: res.value.recoveryCodes });
    },
  );

  // OpenID Connect (auth.oidc): the browser goes to the provider and comes back to the callback
  app.get('/api/auth/oidc/login', { config: { permission: 'public' } }, async (req, reply) => {
    const oidc = app.deps.oidc;
    if (!oidc) return reply.code(404).send({ error: 'OIDC_NOT_CONFIGURED', message: 'no identity provider is set up' });
    const res = await oidc.begin();
    if (!res.ok) return reply.redirect(`/?login_error=${res.error.code}`, 303);
    // Lax, not Strict: the provider sends the browser back with a cross-site top-level navigation
    reply.setCookie(OIDC_TXN_COOKIE, res.value.transactionId, {
      httpOnly: true,
      sameSite: 'lax',
      secure:
        opts.plugin.cookieSecure === 'always' || (opts.plugin.cookieSecure === 'auto' && req.protocol === 'https'),
      path: '/api/auth/oidc',
      maxAge: OIDC_TRANSACTION_MS / 1000,
    });
    return reply.header('cache-control', 'no-store').redirect(res.value.url, 303);
  });

  app.get('/api/auth/oidc/callback', { config: { permission: 'public' } }, async (req, reply) => {
    const oidc = app.deps.oidc;
    if (!oidc) return reply.code(404).send({ error: 'OIDC_NOT_CONFIGURED', message: 'no identity provider is set up' });
    const txn = req.cookies[OIDC_TXN_COOKIE];
    reply.clearCookie(OIDC_TXN_COOKIE, { path: '/api/auth/oidc', httpOnly: true, sameSite: 'lax' });
    // the URL the provider redirected to: the configured redirect URL's origin and path, this query
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
    const callbackUrl = new URL(`${oidc.redirectPath}${query}`, oidc.redirectOrigin);
    const res = await oidc.finish(txn, callbackUrl);
    if (!res.ok) {
      opts.plugin.audit.append({
        actor: 'anonymous',
        action: 'auth.login',
        outcome: 'failed',
        ip: req.ip,
        target: null,
        details: { method: 'oidc', reason: res.error.code },
      });
      return reply.redirect(`/?login_error=${res.error.code}`, 303);
    }
    const login = app.deps.auth.loginExternal({
      user: res.value.user,
      method: 'oidc',
      details: { issuer: oidc.issuer, created: res.value.created },
      ip: req.ip,
      userAgent: req.headers['user-agent'] ?? null,
      ...(req.cookies[SESSION_COOKIE] ? { previousSessionId: req.cookies[SESSION_COOKIE] } : {}),
    });
    if (!login.ok) return reply.redirect('/?login_error=OIDC_NO_ACCOUNT', 303);
    setSessionCookie(req, reply, opts.plugin, login.value.sessionId);
    return reply.redirect('/', 303);
  });

  app.post<{ Body: { code: string } }>(
    '/api/auth/totp/recovery-codes',
    {
      config: { permission: 'authenticated' },
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['code'],
          properties: { code: { type: 'string', pattern: '^[0-9]{6}$' } },
        },
      },
    },
    async (req, reply) => {
      const res = app.deps.auth.regenerateRecoveryCodes(req.principal!, req.body.code, req.ip);
      if (!res.ok) {
        const status = res.error.code === 'TOTP_INVALID' ? 400 : res.error.code === 'UNAVAILABLE' ? 503 : 409;
        return reply.code(status).send({ error: res.error.code, message: res.error.message });
      }
      return reply.header('cache-control', 'no-store').send({ recoveryCodes: res.value.recoveryCodes });
    },
  );
};
