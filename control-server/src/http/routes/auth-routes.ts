import type { FastifyPluginAsync } from 'fastify';
import { PERMISSIONS, sitesWith, type Permission, type Principal } from '../../auth/permissions.js';
import { newTotpSecret, totpUri, verifyTotp } from '../../auth/totp.js';
import type { SessionRecord } from '../../repositories/session-repository.js';
import type { UserRecord } from '../../repositories/user-repository.js';
import {
  auditRequest,
  clearSessionCookie,
  SESSION_COOKIE,
  setSessionCookie,
  type AuthPluginOptions,
} from '../auth/auth-plugin.js';

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

function sessionBody(p: Principal, user: UserRecord, session: SessionRecord, idleTimeoutMs: number) {
  return {
    authMode: 'required' as const,
    user: publicUser(user),
    permissions: permissionMap(p),
    csrfToken: session.csrfToken,
    expiresAt: session.expiresAt,
    idleTimeoutMs,
  };
}

const ADMIN_ROLES = new Set(['site_admin', 'regional_it']);
/** secrets offered by /totp/setup and not yet confirmed, per user; they expire after 10 minutes */
const PENDING_TOTP_MS = 10 * 60_000;

/**
 * POST /api/auth/login, POST /api/auth/logout, GET /api/auth/me, and the optional second factor of
 * admin accounts: POST /api/auth/totp/setup then POST /api/auth/totp/confirm.
 */
export const authRoutes: FastifyPluginAsync<AuthRoutesOptions> = async (app, opts) => {
  const pendingTotp = new Map<number, { secret: string; expiresAtMs: number }>();

  app.post<{ Body: { username: string; password: string; totp?: string } }>(
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
          },
        },
      },
    },
    async (req, reply) => {
      const { username, password, totp } = req.body;
      const res = await app.deps.auth.login({
        username,
        password,
        ...(totp !== undefined ? { totp } : {}),
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
      return sessionBody(app.deps.auth.principalOf(user), user, session, opts.idleTimeoutMs);
    },
  );

  app.post('/api/auth/logout', { config: { permission: 'authenticated' } }, async (req, reply) => {
    const cookie = req.cookies[SESSION_COOKIE];
    if (cookie && req.authSession && req.principal) {
      app.deps.auth.logout(cookie, req.principal, req.ip);
      opts.onLogout(req.authSession.idHash);
    }
    clearSessionCookie(reply);
    return reply.code(204).send();
  });

  app.get('/api/auth/me', { config: { permission: 'authenticated' } }, async (req, reply) => {
    const p = req.principal!;
    if (p.authDisabled || !req.authSession || p.userId === null) {
      return { authMode: 'disabled', user: null, permissions: permissionMap(p), csrfToken: null };
    }
    const user = lookupUser(p.userId);
    if (!user) return reply.code(401).send({ error: 'UNAUTHENTICATED' });
    return sessionBody(p, user, req.authSession, opts.idleTimeoutMs);
  });

  function lookupUser(id: number): UserRecord | null {
    return app.deps.users.get(id);
  }

  app.post('/api/auth/totp/setup', { config: { permission: 'authenticated' } }, async (req, reply) => {
    const p = req.principal!;
    if (p.userId === null || !p.grants.some((g) => ADMIN_ROLES.has(g.role))) {
      return reply
        .code(403)
        .send({ error: 'FORBIDDEN', message: 'a second factor is offered to site_admin and regional_it accounts' });
    }
    const user = lookupUser(p.userId);
    if (!user) return reply.code(401).send({ error: 'UNAUTHENTICATED' });
    if (user.totpEnabled) return reply.code(409).send({ error: 'TOTP_ALREADY_ENABLED' });
    const secret = newTotpSecret();
    pendingTotp.set(p.userId, { secret, expiresAtMs: Date.now() + PENDING_TOTP_MS });
    return { secret, uri: totpUri(secret, user.username), confirmWithin: PENDING_TOTP_MS / 1000 };
  });

  app.post<{ Body: { code: string } }>(
    '/api/auth/totp/confirm',
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
      const p = req.principal!;
      const pending = p.userId === null ? undefined : pendingTotp.get(p.userId);
      if (p.userId === null || !pending || pending.expiresAtMs < Date.now()) {
        return reply.code(409).send({ error: 'NO_PENDING_TOTP', message: 'call /api/auth/totp/setup first' });
      }
      if (!verifyTotp(pending.secret, req.body.code, Date.now())) {
        return reply
          .code(400)
          .send({ error: 'TOTP_INVALID', message: 'the code does not match: check the clock of the device' });
      }
      pendingTotp.delete(p.userId);
      app.deps.users.setTotpSecret(p.userId, pending.secret, new Date().toISOString());
      auditRequest(app.deps.audit, req, {
        action: 'user.totp.enable',
        outcome: 'ok',
        site: null,
        target: `user:${p.userId}`,
        details: {},
      });
      return reply.code(204).send();
    },
  );
};
