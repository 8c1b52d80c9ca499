import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.js';
import {
  ALL_SITES,
  canManageGrant,
  normaliseGrants,
  sitesWith,
  validateGrant,
  type Principal,
  type RoleGrant,
} from '../auth/permissions.js';
import {
  burnVerifyTime,
  checkPasswordPolicy,
  hashPassword,
  verifyPassword,
  type PasswordProblem,
} from '../auth/password.js';
import { verifyTotp } from '../auth/totp.js';
import type { LoginThrottleRepository } from '../repositories/login-throttle-repository.js';
import { hashSessionId, type SessionRecord, type SessionRepository } from '../repositories/session-repository.js';
import type { UserRecord, UserRepository } from '../repositories/user-repository.js';

export interface AuthPolicy {
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  maxFailedLogins: number;
  lockoutMs: number;
  loginAttemptsPerIp: number;
  loginWindowMs: number;
}

export interface AuthServiceDeps {
  users: UserRepository;
  sessions: SessionRepository;
  throttle: LoginThrottleRepository;
  audit: AuditLog;
  policy: AuthPolicy;
  logger: Logger;
  now?: () => number;
}

export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

export type LoginError =
  | { code: 'INVALID_CREDENTIALS' }
  | { code: 'TOTP_REQUIRED' }
  | { code: 'ACCOUNT_LOCKED'; retryAfterMs: number }
  | { code: 'RATE_LIMITED'; retryAfterMs: number };

export interface LoginInput {
  username: string;
  password: string;
  totp?: string;
  ip: string | null;
  userAgent: string | null;
  /** the cookie the browser came with, if any: it is destroyed (no session fixation) */
  previousSessionId?: string;
}

export interface LoginSuccess {
  /** the cookie value; only its hash is stored */
  sessionId: string;
  session: SessionRecord;
  user: UserRecord;
}

export interface ResolvedSession {
  principal: Principal;
  session: SessionRecord;
  user: UserRecord;
}

export type UserInputError =
  | { code: 'INVALID_USERNAME'; message: string }
  | { code: 'WEAK_PASSWORD'; message: string; problem: PasswordProblem }
  | { code: 'INVALID_ROLE'; message: string }
  | { code: 'FORBIDDEN_GRANT'; message: string }
  | { code: 'USERNAME_TAKEN'; message: string }
  | { code: 'NOT_FOUND'; message: string };

export interface CreateUserInput {
  username: string;
  password: string;
  roles: readonly RoleGrant[];
}

export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$/;

export interface AuthService {
  login(input: LoginInput): Promise<Result<LoginSuccess, LoginError>>;
  /** the session behind a cookie value, or null when unknown, expired, or its user disabled */
  resolve(sessionId: string): ResolvedSession | null;
  /** for long-lived connections: still valid? (also counts as activity) */
  revalidate(idHash: string): boolean;
  logout(sessionId: string, actor: Principal, ip: string | null): void;
  createUser(actor: Principal, input: CreateUserInput, ip: string | null): Promise<Result<UserRecord, UserInputError>>;
  /** users the actor may see, with only the grants at sites it may see */
  listUsers(actor: Principal, site?: string): UserRecord[];
  /** create the first regional_it account from the environment, once */
  bootstrapAdmin(username: string, password: string): Promise<Result<UserRecord | null, UserInputError>>;
  principalOf(user: UserRecord): Principal;
}

/** The last write of `last_seen_at` is at most this old: a poll does not cost one write per request. */
const TOUCH_EVERY_MS = 30_000;

function retryAfter(untilIso: string, nowMs: number): number {
  return Math.max(0, Date.parse(untilIso) - nowMs);
}

export function createAuthService(deps: AuthServiceDeps): AuthService {
  const now = deps.now ?? Date.now;
  const { users, sessions, throttle, audit, policy } = deps;
  const log = deps.logger;
  /** login attempts per IP in the current window; in memory (a restart resetting it is acceptable) */
  const perIp = new Map<string, { windowStartMs: number; count: number }>();

  function principalOf(user: UserRecord): Principal {
    return { userId: user.id, username: user.username, grants: user.roles, authDisabled: false };
  }

  function rolesText(user: UserRecord): string {
    return [...new Set(user.roles.map((g) => g.role))].sort().join(',');
  }

  function ipAllowed(ip: string | null, nowMs: number): number {
    if (ip === null) return 0;
    const entry = perIp.get(ip);
    if (!entry || nowMs - entry.windowStartMs >= policy.loginWindowMs) {
      if (perIp.size >= 10_000) {
        // bounded memory under a spray of addresses: forget the windows that are over
        for (const [k, v] of perIp) if (nowMs - v.windowStartMs >= policy.loginWindowMs) perIp.delete(k);
        if (perIp.size >= 10_000) perIp.clear();
      }
      perIp.set(ip, { windowStartMs: nowMs, count: 1 });
      return 0;
    }
    entry.count += 1;
    return entry.count > policy.loginAttemptsPerIp ? entry.windowStartMs + policy.loginWindowMs - nowMs : 0;
  }

  function recordFailure(username: string, nowMs: number): { locked: boolean; retryAfterMs: number } {
    const key = username.toLowerCase();
    const prev = throttle.get(key);
    // failures further apart than the lockout period are forgotten
    const fresh = prev && nowMs - Date.parse(prev.lastFailureAt) < policy.lockoutMs ? prev.failures : 0;
    const failures = fresh + 1;
    const locked = failures >= policy.maxFailedLogins;
    const lockedUntil = locked ? new Date(nowMs + policy.lockoutMs).toISOString() : null;
    throttle.set(key, { failures, lastFailureAt: new Date(nowMs).toISOString(), lockedUntil });
    return { locked, retryAfterMs: locked ? policy.lockoutMs : 0 };
  }

  function validateGrants(actor: Principal, roles: readonly RoleGrant[]): UserInputError | null {
    if (roles.length === 0) return { code: 'INVALID_ROLE', message: 'at least one role is required' };
    for (const g of roles) {
      const problem = validateGrant(g);
      if (problem) return { code: 'INVALID_ROLE', message: problem };
      if (!canManageGrant(actor, g)) {
        return {
          code: 'FORBIDDEN_GRANT',
          message: `you may not grant ${g.role} on ${g.site === ALL_SITES ? 'every site' : `site ${g.site}`}`,
        };
      }
    }
    return null;
  }

  async function newUser(input: CreateUserInput, ts: string): Promise<Result<UserRecord, UserInputError>> {
    if (!USERNAME_PATTERN.test(input.username)) {
      return {
        ok: false,
        error: {
          code: 'INVALID_USERNAME',
          message: 'username: 2–64 letters, digits, and . _ @ - (starting with a letter or digit)',
        },
      };
    }
    const problem = checkPasswordPolicy(input.password, input.username);
    if (problem) {
      const message =
        problem === 'TOO_SHORT'
          ? 'password: at least 12 characters (a passphrase of several words is fine)'
          : problem === 'TOO_LONG'
            ? 'password: at most 256 characters'
            : 'password: must differ from the username';
      return { ok: false, error: { code: 'WEAK_PASSWORD', message, problem } };
    }
    const created = users.create(
      { username: input.username, passwordHash: await hashPassword(input.password), roles: input.roles },
      ts,
    );
    if (!created.ok)
      return { ok: false, error: { code: 'USERNAME_TAKEN', message: `username ${input.username} is taken` } };
    return { ok: true, value: created.user };
  }

  return {
    principalOf,

    async login(input) {
      const nowMs = now();
      const ip = input.ip;
      const username = input.username;
      const base = { actor: username, action: 'auth.login', ip, target: null } as const;

      const ipWaitMs = ipAllowed(ip, nowMs);
      if (ipWaitMs > 0) {
        log.warn({ ip }, 'login rate limit hit');
        audit.append({ ...base, outcome: 'denied', details: { reason: 'rate_limited' } });
        return { ok: false, error: { code: 'RATE_LIMITED', retryAfterMs: ipWaitMs } };
      }

      const state = throttle.get(username.toLowerCase());
      if (state?.lockedUntil && Date.parse(state.lockedUntil) > nowMs) {
        audit.append({ ...base, outcome: 'denied', details: { reason: 'locked' } });
        return { ok: false, error: { code: 'ACCOUNT_LOCKED', retryAfterMs: retryAfter(state.lockedUntil, nowMs) } };
      }

      const creds = users.credentials(username);
      let ok = false;
      if (creds && !creds.user.disabled) {
        ok = await verifyPassword(creds.passwordHash, input.password);
      } else {
        // same cost as a real check: the answer time does not tell which usernames exist
        await burnVerifyTime(input.password);
      }
      if (ok && creds?.totpSecret) {
        if (input.totp === undefined || input.totp === '') {
          // the password was right: do not count a failure, ask for the code
          audit.append({
            ...base,
            actor: creds.user.username,
            outcome: 'denied',
            details: { reason: 'totp_required' },
          });
          return { ok: false, error: { code: 'TOTP_REQUIRED' } };
        }
        ok = verifyTotp(creds.totpSecret, input.totp, nowMs);
      }
      if (!ok || !creds) {
        const { locked, retryAfterMs } = recordFailure(username, nowMs);
        audit.append({ ...base, outcome: 'failed', details: { reason: 'bad_credentials', locked } });
        if (locked) {
          log.warn({ username }, 'account locked after repeated failed logins');
          return { ok: false, error: { code: 'ACCOUNT_LOCKED', retryAfterMs } };
        }
        return { ok: false, error: { code: 'INVALID_CREDENTIALS' } };
      }

      throttle.clear(username.toLowerCase());
      // rotation: whatever session id the browser held is dropped, and a new one is issued
      if (input.previousSessionId) sessions.delete(hashSessionId(input.previousSessionId));
      const { id, session } = sessions.create(
        { userId: creds.user.id, ip, userAgent: input.userAgent, absoluteTtlMs: policy.absoluteTimeoutMs },
        nowMs,
      );
      sessions.purgeExpired(nowMs, policy.idleTimeoutMs);
      audit.append({
        actor: creds.user.username,
        role: rolesText(creds.user),
        action: 'auth.login',
        outcome: 'ok',
        ip,
        target: `user:${creds.user.id}`,
        details: {},
      });
      log.info({ username: creds.user.username }, 'login');
      return { ok: true, value: { sessionId: id, session, user: creds.user } };
    },

    resolve(sessionId) {
      if (sessionId.length < 20 || sessionId.length > 100) return null;
      const nowMs = now();
      const idHash = hashSessionId(sessionId);
      const session = sessions.get(idHash);
      if (!session) return null;
      const idleExpired = nowMs - Date.parse(session.lastSeenAt) >= policy.idleTimeoutMs;
      if (idleExpired || Date.parse(session.expiresAt) <= nowMs) {
        sessions.delete(idHash);
        return null;
      }
      const user = users.get(session.userId);
      if (!user || user.disabled) {
        sessions.delete(idHash);
        return null;
      }
      if (nowMs - Date.parse(session.lastSeenAt) >= TOUCH_EVERY_MS) {
        const nowIso = new Date(nowMs).toISOString();
        sessions.touch(idHash, nowIso);
        session.lastSeenAt = nowIso;
      }
      return { principal: principalOf(user), session, user };
    },

    revalidate(idHash) {
      const nowMs = now();
      const session = sessions.get(idHash);
      if (!session) return false;
      if (Date.parse(session.expiresAt) <= nowMs || nowMs - Date.parse(session.lastSeenAt) >= policy.idleTimeoutMs) {
        sessions.delete(idHash);
        return false;
      }
      const user = users.get(session.userId);
      if (!user || user.disabled) return false;
      // an open live view is activity: a reception screen stays logged in until the absolute expiry
      if (nowMs - Date.parse(session.lastSeenAt) >= TOUCH_EVERY_MS)
        sessions.touch(idHash, new Date(nowMs).toISOString());
      return true;
    },

    logout(sessionId, actor, ip) {
      sessions.delete(hashSessionId(sessionId));
      audit.append({
        actor: actor.username,
        role: [...new Set(actor.grants.map((g) => g.role))].sort().join(','),
        action: 'auth.logout',
        outcome: 'ok',
        ip,
        target: actor.userId === null ? null : `user:${actor.userId}`,
        details: {},
      });
    },

    async createUser(actor, input, ip) {
      const roles = normaliseGrants(input.roles);
      const denied = validateGrants(actor, roles);
      const auditBase = {
        actor: actor.username,
        role: [...new Set(actor.grants.map((g) => g.role))].sort().join(','),
        action: 'user.create',
        ip,
      };
      if (denied) {
        if (denied.code === 'FORBIDDEN_GRANT') {
          audit.append({ ...auditBase, outcome: 'denied', target: null, details: { roles } });
        }
        return { ok: false, error: denied };
      }
      const created = await newUser({ ...input, roles }, new Date(now()).toISOString());
      if (!created.ok) return created;
      const sites = [...new Set(roles.map((g) => g.site))];
      audit.append({
        ...auditBase,
        outcome: 'ok',
        site: sites.length === 1 ? sites[0]! : ALL_SITES,
        target: `user:${created.value.id}`,
        details: { roles },
      });
      log.info({ username: created.value.username, by: actor.username }, 'user created');
      return created;
    },

    listUsers(actor, site) {
      const sites = sitesWith(actor, 'users:read');
      // a grant is shown when the actor administers its site; a global grant only to a global administrator
      const shown = (g: RoleGrant): boolean =>
        site !== undefined
          ? g.site === site && (sites === ALL_SITES || sites.has(site))
          : sites === ALL_SITES || sites.has(g.site);
      return users
        .list()
        .map((u) => ({ ...u, roles: u.roles.filter(shown) }))
        .filter((u) => u.roles.length > 0 || (sites === ALL_SITES && site === undefined));
    },

    async bootstrapAdmin(username, password) {
      if (users.getByUsername(username)) return { ok: true, value: null };
      const created = await newUser(
        { username, password, roles: [{ role: 'regional_it', site: ALL_SITES }] },
        new Date(now()).toISOString(),
      );
      if (!created.ok) return created;
      audit.append({
        actor: 'system',
        action: 'user.bootstrap',
        outcome: 'ok',
        site: ALL_SITES,
        target: `user:${created.value.id}`,
        details: { roles: created.value.roles },
      });
      log.info({ username }, 'bootstrap admin created');
      return created;
    },
  };
}
