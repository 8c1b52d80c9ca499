import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { UserRecord, UserRepository } from '../repositories/user-repository.js';
import type { AuthStore } from './auth-store.js';
import { ALL_SITES, normaliseGrants, validateGrant, type Role, type RoleGrant } from './permissions.js';

/**
 * OpenID Connect login (authorization code flow with PKCE, state and nonce) through `openid-client`
 * (panva). A Région's identity provider authenticates the operator; the server then maps the
 * identity onto an account in one of two ways, per deployment:
 * - `link`: accounts are created locally beforehand (roles by an administrator, as for password
 *   accounts) with the operator's e-mail; the first OIDC login with that verified e-mail links the
 *   identity (issuer + subject) to the account, later logins follow the link.
 * - `claims`: the provider is the source of roles: a claim (e.g. `groups`) is mapped through rules
 *   onto role grants; the account is created at the first login and its grants are replaced at each
 *   login (no grant: refused). Such accounts have no usable password.
 * The transaction (state, nonce, PKCE verifier) stays on the server, keyed by a random id in a
 * short-lived cookie; nothing secret travels through the browser.
 */

export interface OidcClaimRule {
  /** a value of the claim, e.g. a group name */
  value: string;
  role: Role;
  site: string;
}

export type OidcMapping =
  | { mode: 'link'; by: 'email' }
  | { mode: 'claims'; claim: string; rules: readonly OidcClaimRule[]; usernameClaim: string };

export interface OidcSettings {
  issuer: string;
  clientId: string;
  /** null for a public client (PKCE only) */
  clientSecret: string | null;
  redirectUrl: string;
  scopes: readonly string[];
  /** the login page's button */
  label: string;
  mapping: OidcMapping;
}

export type OidcErrorCode =
  | 'OIDC_UNAVAILABLE'
  | 'OIDC_TRANSACTION_UNKNOWN'
  | 'OIDC_REJECTED'
  | 'OIDC_NO_ACCOUNT'
  | 'OIDC_NO_ROLE'
  | 'OIDC_USERNAME_TAKEN';

export type OidcResult<T> = { ok: true; value: T } | { ok: false; error: { code: OidcErrorCode; message: string } };

export interface OidcLogin {
  readonly label: string;
  readonly issuer: string;
  /** origin and path of the redirect URL, where the callback route is served */
  readonly redirectOrigin: string;
  readonly redirectPath: string;
  /** a new transaction: where to send the browser, and the id to keep in the transaction cookie */
  begin(): Promise<OidcResult<{ url: string; transactionId: string }>>;
  /** the provider came back to the redirect URL: check state, nonce and PKCE, map the identity */
  finish(
    transactionId: string | undefined,
    callbackUrl: URL,
  ): Promise<OidcResult<{ user: UserRecord; subject: string; created: boolean }>>;
}

export interface OidcLoginDeps {
  settings: OidcSettings;
  users: UserRepository;
  store: AuthStore;
  logger: Logger;
  now?: () => number;
  /** replaces discovery, for tests of the mapping without a provider */
  discover?: () => Promise<client.Configuration>;
}

/** How long a login may stay at the provider before its transaction is forgotten. */
export const OIDC_TRANSACTION_MS = 10 * 60_000;
const MAX_TRANSACTIONS = 10_000;

interface Transaction {
  state: string;
  nonce: string;
  codeVerifier: string;
  expiresAtMs: number;
}

/** http is accepted only for a provider on this machine (tests, a local proxy); anything else needs https. */
export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

const fail = (code: OidcErrorCode, message: string) => ({ ok: false as const, error: { code, message } });

/** A username for a provisioned account: the claim's value reduced to the local pattern. */
export function usernameFromClaim(value: string): string | null {
  const clean = value
    .normalize('NFKD')
    .replace(/[^\x20-\x7e]/g, '')
    .replace(/[^A-Za-z0-9._@-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64);
  return /^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$/.test(clean) ? clean : null;
}

/** The grants a claim value (a string or a list of strings) maps to. */
export function grantsFromClaim(claim: unknown, rules: readonly OidcClaimRule[]): RoleGrant[] {
  const values = new Set((Array.isArray(claim) ? claim : [claim]).filter((v): v is string => typeof v === 'string'));
  return normaliseGrants(
    rules
      .filter((r) => values.has(r.value))
      .map((r) => ({ role: r.role, site: r.site }))
      .filter((g) => validateGrant(g) === null),
  );
}

export function createOidcLogin(deps: OidcLoginDeps): OidcLogin {
  const { settings, users, store, logger } = deps;
  const now = deps.now ?? Date.now;
  const issuerUrl = new URL(settings.issuer);
  const pending = new Map<string, Transaction>();
  let configuration: Promise<client.Configuration> | null = null;

  function discover(): Promise<client.Configuration> {
    if (deps.discover) return deps.discover();
    const auth = settings.clientSecret ? client.ClientSecretBasic(settings.clientSecret) : client.None();
    return client.discovery(
      issuerUrl,
      settings.clientId,
      settings.clientSecret ?? undefined,
      auth,
      isLoopbackHttp(issuerUrl) ? { execute: [client.allowInsecureRequests] } : undefined,
    );
  }

  /** Discovery once, retried on the next login after a failure (the provider may come back). */
  async function config(): Promise<client.Configuration | null> {
    configuration ??= discover();
    try {
      return await configuration;
    } catch (err) {
      configuration = null;
      logger.warn({ err, issuer: settings.issuer }, 'OIDC discovery failed');
      return null;
    }
  }

  function sweep(nowMs: number): void {
    for (const [k, t] of pending) if (t.expiresAtMs <= nowMs) pending.delete(k);
    // bounded memory under a flood of abandoned logins: the oldest go first
    while (pending.size >= MAX_TRANSACTIONS) pending.delete(pending.keys().next().value!);
  }

  function mapIdentity(claims: client.IDToken): OidcResult<{ user: UserRecord; created: boolean }> {
    const subject = claims.sub;
    const nowIso = new Date(now()).toISOString();
    const linked = store.userIdByIdentity(settings.issuer, subject);
    const m = settings.mapping;
    if (m.mode === 'link') {
      let userId = linked;
      if (userId === null) {
        const email = typeof claims.email === 'string' ? claims.email : null;
        // an address the provider has not verified could be anyone's
        if (email === null || claims.email_verified === false) {
          return fail('OIDC_NO_ACCOUNT', 'the identity provider gave no verified e-mail address');
        }
        userId = store.userIdByEmail(email);
        if (userId === null) return fail('OIDC_NO_ACCOUNT', 'no Portail account has this e-mail address');
        store.linkIdentity(settings.issuer, subject, userId, nowIso);
      } else {
        store.touchIdentity(settings.issuer, subject, nowIso);
      }
      const user = users.get(userId);
      return user ? { ok: true, value: { user, created: false } } : fail('OIDC_NO_ACCOUNT', 'the account is gone');
    }

    const grants = grantsFromClaim(claims[m.claim], m.rules);
    if (grants.length === 0) return fail('OIDC_NO_ROLE', `no role is mapped from the claim ${m.claim}`);
    if (grants.some((g) => g.site === ALL_SITES && g.role !== 'regional_it')) {
      return fail('OIDC_NO_ROLE', 'only regional_it may be granted on every site');
    }
    if (linked !== null) {
      store.touchIdentity(settings.issuer, subject, nowIso);
      const user = users.setRoles(linked, grants, nowIso);
      return user ? { ok: true, value: { user, created: false } } : fail('OIDC_NO_ACCOUNT', 'the account is gone');
    }
    const raw = claims[m.usernameClaim];
    const username = typeof raw === 'string' ? usernameFromClaim(raw) : null;
    if (username === null) return fail('OIDC_REJECTED', `the claim ${m.usernameClaim} is not a usable username`);
    // no usable password: `!` is not a PHC string, so verification always fails
    const created = users.create(
      { username, passwordHash: `!oidc:${randomBytes(8).toString('hex')}`, roles: grants },
      nowIso,
    );
    if (!created.ok) {
      return fail('OIDC_USERNAME_TAKEN', `a local account ${username} exists and is not linked to this identity`);
    }
    store.linkIdentity(settings.issuer, subject, created.user.id, nowIso);
    return { ok: true, value: { user: created.user, created: true } };
  }

  const redirect = new URL(settings.redirectUrl);
  return {
    label: settings.label,
    issuer: settings.issuer,
    redirectOrigin: redirect.origin,
    redirectPath: redirect.pathname,

    async begin() {
      const cfg = await config();
      if (!cfg) return fail('OIDC_UNAVAILABLE', 'the identity provider cannot be reached');
      const nowMs = now();
      sweep(nowMs);
      const codeVerifier = client.randomPKCECodeVerifier();
      const t: Transaction = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        codeVerifier,
        expiresAtMs: nowMs + OIDC_TRANSACTION_MS,
      };
      const transactionId = randomBytes(32).toString('base64url');
      pending.set(transactionId, t);
      const url = client.buildAuthorizationUrl(cfg, {
        redirect_uri: settings.redirectUrl,
        scope: settings.scopes.join(' '),
        response_type: 'code',
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state: t.state,
        nonce: t.nonce,
      });
      return { ok: true, value: { url: url.href, transactionId } };
    },

    async finish(transactionId, callbackUrl) {
      const t = transactionId === undefined ? undefined : pending.get(transactionId);
      // single use, whatever the outcome
      if (transactionId !== undefined) pending.delete(transactionId);
      if (!t || t.expiresAtMs <= now()) {
        return fail('OIDC_TRANSACTION_UNKNOWN', 'this login was not started here, or took too long: start again');
      }
      const cfg = await config();
      if (!cfg) return fail('OIDC_UNAVAILABLE', 'the identity provider cannot be reached');
      let claims: client.IDToken | undefined;
      try {
        const tokens = await client.authorizationCodeGrant(cfg, callbackUrl, {
          pkceCodeVerifier: t.codeVerifier,
          expectedState: t.state,
          expectedNonce: t.nonce,
          idTokenExpected: true,
        });
        claims = tokens.claims();
      } catch (err) {
        // a wrong state or nonce, an error answer of the provider, a bad signature: all refused alike
        logger.warn({ err: { name: (err as Error).name, message: (err as Error).message } }, 'OIDC callback refused');
        return fail('OIDC_REJECTED', 'the identity provider answer was refused');
      }
      if (!claims) return fail('OIDC_REJECTED', 'no ID token');
      const mapped = mapIdentity(claims);
      if (!mapped.ok) return mapped;
      return { ok: true, value: { ...mapped.value, subject: claims.sub } };
    },
  };
}
