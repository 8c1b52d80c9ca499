import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuthStore } from '../auth/auth-store.js';
import {
  ALL_SITES,
  canManageGrant,
  normaliseGrants,
  sitesWith,
  validateGrant,
  type Principal,
  type Role,
  type RoleGrant,
} from '../auth/permissions.js';
import {
  burnVerifyTime,
  checkPasswordPolicy,
  hashPassword,
  verifyPassword,
  type PasswordProblem,
} from '../auth/password.js';
import { matchTotpStep } from '../auth/totp.js';
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
  /** accounts holding one of these roles must enrol TOTP at their first login before anything else */
  totpRequiredRoles?: readonly Role[];
}

export interface AuthServiceDeps {
  users: UserRepository;
  sessions: SessionRepository;
  throttle: LoginThrottleRepository;
  audit: AuditLog;
  policy: AuthPolicy;
  logger: Logger;
  now?: () => number;
  /** recovery codes, TOTP replay guard, e-mail and OIDC identities (migration 70); without it those are off */
  store?: AuthStore;
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
  /** one of the account's single-use recovery codes, instead of `totp` */
  recoveryCode?: string;
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
  /** the account must enrol TOTP before any other route answers (auth.totpRequiredRoles) */
  totpEnrolmentRequired: boolean;
}

export interface ResolvedSession {
  principal: Principal;
  session: SessionRecord;
  user: UserRecord;
  totpEnrolmentRequired: boolean;
}

/** A login established elsewhere (OpenID Connect): the user is known, open its session. */
export interface ExternalLoginInput {
  user: UserRecord;
  /** e.g. `oidc`, recorded in the audit row */
  method: string;
  details: Record<string, unknown>;
  ip: string | null;
  userAgent: string | null;
  previousSessionId?: string;
}

export type TotpError =
  | { code: 'TOTP_INVALID'; message: string }
  | { code: 'TOTP_NOT_ENABLED'; message: string }
  | { code: 'UNAVAILABLE'; message: string };

export type UserInputError =
  | { code: 'INVALID_USERNAME'; message: string }
  | { code: 'WEAK_PASSWORD'; message: string; problem: PasswordProblem }
  | { code: 'INVALID_ROLE'; message: string }
  | { code: 'FORBIDDEN_GRANT'; message: string }
  | { code: 'USERNAME_TAKEN'; message: string }
  | { code: 'NOT_FOUND'; message: string }
  | { code: 'SELF'; message: string }
  | { code: 'EMAIL_TAKEN'; message: string };

/** What the account lists show on top of the record: e-mail, lock, second factor. */
export interface UserDetails {
  email: string | null;
  lockedUntil: string | null;
  recoveryCodesLeft: number | null;
  oidcIdentities: number;
  totpEnrolmentRequired: boolean;
}

export interface CreateUserInput {
  username: string;
  password: string;
  roles: readonly RoleGrant[];
  email?: string | null;
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
  /** the account holds a role of `totpRequiredRoles` and has no second factor yet */
  needsTotpEnrolment(user: UserRecord): boolean;
  /** open a session for a user identified by an external provider (no password involved) */
  loginExternal(input: ExternalLoginInput): Result<LoginSuccess, LoginError>;
  /** enrol the confirmed secret; returns the recovery codes, shown once */
  enableTotp(
    actor: Principal,
    secret: string,
    code: string,
    ip: string | null,
  ): Result<{ recoveryCodes: string[] }, TotpError>;
  /** new recovery codes (the old ones stop working), after a valid TOTP code */
  regenerateRecoveryCodes(
    actor: Principal,
    code: string,
    ip: string | null,
  ): Result<{ recoveryCodes: string[] }, TotpError>;
  details(user: UserRecord): UserDetails;
  /** an account the actor administers: visible (404 otherwise) and every grant of it manageable (403) */
  setDisabled(
    actor: Principal,
    userId: number,
    disabled: boolean,
    ip: string | null,
  ): Result<UserRecord, UserInputError>;
  resetPassword(
    actor: Principal,
    userId: number,
    password: string,
    ip: string | null,
  ): Promise<Result<UserRecord, UserInputError>>;
  resetTotp(actor: Principal, userId: number, ip: string | null): Result<UserRecord, UserInputError>;
  /** replace the target's grants at the sites the actor administers; grants elsewhere are kept */
  setRoles(
    actor: Principal,
    userId: number,
    roles: readonly RoleGrant[],
    ip: string | null,
  ): Result<UserRecord, UserInputError>;
  setEmail(
    actor: Principal,
    userId: number,
    email: string | null,
    ip: string | null,
  ): Result<UserRecord, UserInputError>;
}

export const EMAIL_PATTERN = /^[^\s@<>"'`\\]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$/;

/** The last write of `last_seen_at` is at most this old: a poll does not cost one write per request. */
const TOUCH_EVERY_MS = 30_000;

function retryAfter(untilIso: string, nowMs: number): number {
  return Math.max(0, Date.parse(untilIso) - nowMs);
}

export function createAuthService(deps: AuthServiceDeps): AuthService {
  const now = deps.now ?? Date.now;
  const { users, sessions, throttle, audit, policy, store } = deps;
  const log = deps.logger;
  const totpRequired = new Set<Role>(policy.totpRequiredRoles ?? []);
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

  function needsTotpEnrolment(user: UserRecord): boolean {
    return !user.totpEnabled && user.roles.some((g) => totpRequired.has(g.role));
  }

  function principalRoles(p: Principal): string {
    return [...new Set(p.grants.map((g) => g.role))].sort().join(',');
  }

  function adminBase(actor: Principal, ip: string | null) {
    return { actor: actor.username, role: principalRoles(actor), ip };
  }

  /** One audit row of an administrator's change to an account, at the site of its grants. */
  function auditAdmin(
    actor: Principal,
    action: string,
    target: UserRecord,
    ip: string | null,
    details: Record<string, unknown>,
  ): void {
    const sites = [...new Set(target.roles.map((g) => g.site))];
    audit.append({
      ...adminBase(actor, ip),
      action,
      outcome: 'ok',
      site: sites.length === 1 ? sites[0]! : ALL_SITES,
      target: `user:${target.id}`,
      details,
    });
    log.info({ userId: target.id, by: actor.username, action }, 'account changed');
  }

  /** The account exists and shows at least one grant to the actor (else 404: nothing to learn). */
  function visibleTarget(actor: Principal, userId: number): Result<UserRecord, UserInputError> {
    const user = users.get(userId);
    const sites = sitesWith(actor, 'users:write');
    const visible =
      user !== null && (sites === ALL_SITES || user.roles.some((g) => g.site !== ALL_SITES && sites.has(g.site)));
    if (!visible) return { ok: false, error: { code: 'NOT_FOUND', message: `no account ${userId} among yours` } };
    return { ok: true, value: user };
  }

  /**
   * An account the actor may change as a whole (disable, password, second factor): it administers
   * every grant of it, so a site admin cannot lock out someone who also works on another site, and
   * nobody does it to themselves through these routes.
   */
  function administered(
    actor: Principal,
    userId: number,
    action: string,
    ip: string | null,
  ): Result<UserRecord, UserInputError> {
    const target = visibleTarget(actor, userId);
    if (!target.ok) return target;
    if (actor.userId === userId) {
      return { ok: false, error: { code: 'SELF', message: 'not on your own account (ask another administrator)' } };
    }
    if (!target.value.roles.every((g) => canManageGrant(actor, g))) {
      audit.append({ ...adminBase(actor, ip), action, outcome: 'denied', target: `user:${userId}`, details: {} });
      return {
        ok: false,
        error: { code: 'FORBIDDEN_GRANT', message: 'this account also has roles you do not administer' },
      };
    }
    return target;
  }

  function passwordProblem(password: string, username: string): UserInputError | null {
    const problem = checkPasswordPolicy(password, username);
    if (!problem) return null;
    const message =
      problem === 'TOO_SHORT'
        ? 'password: at least 12 characters (a passphrase of several words is fine)'
        : problem === 'TOO_LONG'
          ? 'password: at most 256 characters'
          : 'password: must differ from the username';
    return { code: 'WEAK_PASSWORD', message, problem };
  }

  /** A new session for `user`: the browser's previous id is dropped (no fixation), the login audited. */
  function openSession(
    user: UserRecord,
    input: { ip: string | null; userAgent: string | null; previousSessionId?: string },
    nowMs: number,
    details: Record<string, unknown>,
  ): LoginSuccess {
    // rotation: whatever session id the browser held is dropped, and a new one is issued
    if (input.previousSessionId) sessions.delete(hashSessionId(input.previousSessionId));
    const { id, session } = sessions.create(
      { userId: user.id, ip: input.ip, userAgent: input.userAgent, absoluteTtlMs: policy.absoluteTimeoutMs },
      nowMs,
    );
    sessions.purgeExpired(nowMs, policy.idleTimeoutMs);
    const totpEnrolmentRequired = needsTotpEnrolment(user);
    audit.append({
      actor: user.username,
      role: rolesText(user),
      action: 'auth.login',
      outcome: 'ok',
      ip: input.ip,
      target: `user:${user.id}`,
      details: totpEnrolmentRequired ? { ...details, totpEnrolmentRequired } : details,
    });
    log.info({ username: user.username }, 'login');
    return { sessionId: id, session, user, totpEnrolmentRequired };
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
      let recoveryUsed = false;
      if (ok && creds?.totpSecret) {
        const recovery = input.recoveryCode ?? '';
        if (recovery !== '' && store) {
          ok = store.recoveryCodes.consume(creds.user.id, recovery, new Date(nowMs).toISOString());
          recoveryUsed = ok;
        } else if (input.totp === undefined || input.totp === '') {
          // the password was right: do not count a failure, ask for the code
          audit.append({
            ...base,
            actor: creds.user.username,
            outcome: 'denied',
            details: { reason: 'totp_required' },
          });
          return { ok: false, error: { code: 'TOTP_REQUIRED' } };
        } else {
          const step = matchTotpStep(creds.totpSecret, input.totp, nowMs);
          // a code already used (same or earlier step) is refused: no replay within its window
          const last = store?.totpLastStep(creds.user.id) ?? null;
          ok = step !== null && (last === null || step > last);
          if (ok && store) store.setTotpLastStep(creds.user.id, step);
        }
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
      if (recoveryUsed) {
        audit.append({
          actor: creds.user.username,
          role: rolesText(creds.user),
          action: 'auth.recovery_code.use',
          outcome: 'ok',
          ip,
          target: `user:${creds.user.id}`,
          details: { remaining: store!.recoveryCodes.remaining(creds.user.id) },
        });
      }
      return {
        ok: true,
        value: openSession(creds.user, input, nowMs, recoveryUsed ? { secondFactor: 'recovery_code' } : {}),
      };
    },

    loginExternal(input) {
      const nowMs = now();
      if (input.user.disabled) {
        audit.append({
          actor: input.user.username,
          action: 'auth.login',
          outcome: 'denied',
          ip: input.ip,
          target: `user:${input.user.id}`,
          details: { method: input.method, reason: 'disabled' },
        });
        return { ok: false, error: { code: 'INVALID_CREDENTIALS' } };
      }
      return { ok: true, value: openSession(input.user, input, nowMs, { method: input.method, ...input.details }) };
    },

    needsTotpEnrolment,

    enableTotp(actor, secret, code, ip) {
      if (actor.userId === null) return { ok: false, error: { code: 'TOTP_NOT_ENABLED', message: 'no account' } };
      const nowMs = now();
      const step = matchTotpStep(secret, code, nowMs);
      if (step === null) {
        return {
          ok: false,
          error: { code: 'TOTP_INVALID', message: 'the code does not match: check the clock of the device' },
        };
      }
      const nowIso = new Date(nowMs).toISOString();
      users.setTotpSecret(actor.userId, secret, nowIso);
      store?.setTotpLastStep(actor.userId, step);
      const recoveryCodes = store ? store.recoveryCodes.regenerate(actor.userId, nowIso) : [];
      audit.append({
        actor: actor.username,
        role: principalRoles(actor),
        action: 'user.totp.enable',
        outcome: 'ok',
        ip,
        target: `user:${actor.userId}`,
        details: { recoveryCodes: recoveryCodes.length },
      });
      return { ok: true, value: { recoveryCodes } };
    },

    regenerateRecoveryCodes(actor, code, ip) {
      if (!store) return { ok: false, error: { code: 'UNAVAILABLE', message: 'recovery codes are not configured' } };
      const creds = actor.userId === null ? null : users.get(actor.userId);
      const secret = creds ? (users.credentials(creds.username)?.totpSecret ?? null) : null;
      if (!creds || secret === null) {
        return { ok: false, error: { code: 'TOTP_NOT_ENABLED', message: 'enrol a second factor first' } };
      }
      const nowMs = now();
      const step = matchTotpStep(secret, code, nowMs);
      const last = store.totpLastStep(creds.id);
      if (step === null || (last !== null && step <= last)) {
        audit.append({
          actor: actor.username,
          role: principalRoles(actor),
          action: 'user.totp.recovery_codes',
          outcome: 'failed',
          ip,
          target: `user:${creds.id}`,
          details: { reason: 'bad_code' },
        });
        return { ok: false, error: { code: 'TOTP_INVALID', message: 'the code does not match (or was already used)' } };
      }
      store.setTotpLastStep(creds.id, step);
      const recoveryCodes = store.recoveryCodes.regenerate(creds.id, new Date(nowMs).toISOString());
      audit.append({
        actor: actor.username,
        role: principalRoles(actor),
        action: 'user.totp.recovery_codes',
        outcome: 'ok',
        ip,
        target: `user:${creds.id}`,
        details: { recoveryCodes: recoveryCodes.length },
      });
      return { ok: true, value: { recoveryCodes } };
    },

    details(user) {
      const lock = throttle.get(user.username.toLowerCase());
      const lockedUntil = lock?.lockedUntil && Date.parse(lock.lockedUntil) > now() ? lock.lockedUntil : null;
      return {
        email: store?.emailOf(user.id) ?? null,
        lockedUntil,
        recoveryCodesLeft: store && user.totpEnabled ? store.recoveryCodes.remaining(user.id) : null,
        oidcIdentities: store ? store.identitiesOf(user.id).length : 0,
        totpEnrolmentRequired: needsTotpEnrolment(user),
      };
    },

    setDisabled(actor, userId, disabled, ip) {
      const target = administered(actor, userId, disabled ? 'user.disable' : 'user.enable', ip);
      if (!target.ok) return target;
      const updated = users.setDisabled(userId, disabled, new Date(now()).toISOString())!;
      const ended = disabled ? sessions.deleteForUser(userId) : 0;
      auditAdmin(actor, disabled ? 'user.disable' : 'user.enable', updated, ip, { sessionsEnded: ended });
      return { ok: true, value: updated };
    },

    async resetPassword(actor, userId, password, ip) {
      const target = administered(actor, userId, 'user.password.reset', ip);
      if (!target.ok) return target;
      const problem = passwordProblem(password, target.value.username);
      if (problem) return { ok: false, error: problem };
      users.setPasswordHash(userId, await hashPassword(password), new Date(now()).toISOString());
      const ended = sessions.deleteForUser(userId);
      // a new password from an administrator also lifts a lockout
      throttle.clear(target.value.username.toLowerCase());
      auditAdmin(actor, 'user.password.reset', target.value, ip, { sessionsEnded: ended });
      return { ok: true, value: users.get(userId)! };
    },

    resetTotp(actor, userId, ip) {
      const target = administered(actor, userId, 'user.totp.reset', ip);
      if (!target.ok) return target;
      users.setTotpSecret(userId, null, new Date(now()).toISOString());
      store?.recoveryCodes.clear(userId);
      store?.setTotpLastStep(userId, null);
      const ended = sessions.deleteForUser(userId);
      auditAdmin(actor, 'user.totp.reset', target.value, ip, { sessionsEnded: ended });
      return { ok: true, value: users.get(userId)! };
    },

    setRoles(actor, userId, roles, ip) {
      const target = visibleTarget(actor, userId);
      if (!target.ok) return target;
      if (actor.userId === userId) {
        return { ok: false, error: { code: 'SELF', message: 'you may not change your own roles' } };
      }
      const wanted = normaliseGrants(roles);
      for (const g of wanted) {
        const problem = validateGrant(g);
        if (problem) return { ok: false, error: { code: 'INVALID_ROLE', message: problem } };
        if (!canManageGrant(actor, g)) {
          audit.append({
            ...adminBase(actor, ip),
            action: 'user.roles.set',
            outcome: 'denied',
            target: `user:${userId}`,
            details: { roles: wanted },
          });
          return {
            ok: false,
            error: {
              code: 'FORBIDDEN_GRANT',
              message: `you may not grant ${g.role} on ${g.site === ALL_SITES ? 'every site' : `site ${g.site}`}`,
            },
          };
        }
      }
      // grants the actor does not administer stay as they are; the ones it does are replaced
      const kept = target.value.roles.filter((g) => !canManageGrant(actor, g));
      const next = normaliseGrants([...kept, ...wanted]);
      if (next.length === 0)
        return { ok: false, error: { code: 'INVALID_ROLE', message: 'at least one role is required' } };
      const before = target.value.roles.filter((g) => canManageGrant(actor, g));
      const updated = users.setRoles(userId, next, new Date(now()).toISOString())!;
      auditAdmin(actor, 'user.roles.set', updated, ip, { before, after: wanted });
      return { ok: true, value: updated };
    },

    setEmail(actor, userId, email, ip) {
      const target = administered(actor, userId, 'user.email.set', ip);
      if (!target.ok) return target;
      if (email !== null && !EMAIL_PATTERN.test(email)) {
        return { ok: false, error: { code: 'INVALID_USERNAME', message: 'email: an address like name@example.fr' } };
      }
      if (!store) return { ok: false, error: { code: 'NOT_FOUND', message: 'e-mail addresses are not configured' } };
      if (!store.setEmail(userId, email)) {
        return { ok: false, error: { code: 'EMAIL_TAKEN', message: 'another account has this address' } };
      }
      auditAdmin(actor, 'user.email.set', target.value, ip, { set: email !== null });
      return { ok: true, value: target.value };
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
      return { principal: principalOf(user), session, user, totpEnrolmentRequired: needsTotpEnrolment(user) };
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
      if (input.email !== undefined && input.email !== null && !EMAIL_PATTERN.test(input.email)) {
        return { ok: false, error: { code: 'INVALID_USERNAME', message: 'email: an address like name@example.fr' } };
      }
      if (input.email && store && store.userIdByEmail(input.email) !== null) {
        return { ok: false, error: { code: 'EMAIL_TAKEN', message: 'another account has this address' } };
      }
      const created = await newUser({ ...input, roles }, new Date(now()).toISOString());
      if (!created.ok) return created;
      if (input.email && store) store.setEmail(created.value.id, input.email);
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
