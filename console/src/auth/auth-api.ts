import { parseSessionInfo, type SessionInfo } from './session.js';

/** Why a login did not open a session, as the login page explains it. */
export type LoginFailure =
  | { kind: 'invalid_credentials' }
  | { kind: 'totp_required' }
  | { kind: 'locked'; retryAfterS: number }
  | { kind: 'rate_limited'; retryAfterS: number }
  /** the Origin check refused the page: it is not served by this server */
  | { kind: 'origin' }
  | { kind: 'network' }
  | { kind: 'server'; status: number };

/** How one may log in, as `GET /api/auth/me` tells a page with no session. */
export interface LoginOptions {
  /** OpenID Connect: the button's text and where it goes; null when not configured */
  oidc: { label: string; url: string } | null;
}

export const NO_LOGIN_OPTIONS: LoginOptions = { oidc: null };

export type MeResult =
  | { ok: true; session: SessionInfo }
  | { ok: false; kind: 'unauthenticated'; login: LoginOptions }
  | { ok: false; kind: 'network' }
  | { ok: false; kind: 'server'; status: number };

export type LogoutResult = 'ok' | 'failed';

export interface LoginInput {
  username: string;
  password: string;
  totp?: string;
  /** a single-use recovery code, instead of `totp` */
  recoveryCode?: string;
}

export interface AuthApi {
  me: () => Promise<MeResult>;
  login: (input: LoginInput) => Promise<{ ok: true; session: SessionInfo } | { ok: false; error: LoginFailure }>;
  /** ends the session on the server (which also closes its live socket with 1008) */
  logout: (csrfToken: string | null) => Promise<LogoutResult>;
}

export const CSRF_HEADER = 'X-CSRF-Token';

function seconds(v: unknown, header: string | null): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.ceil(v);
  const h = Number(header);
  return Number.isFinite(h) && h >= 0 ? Math.ceil(h) : 0;
}

/** The login failure behind a refused answer: pure, so every code the server sends is tested. */
export function loginFailureOf(status: number, body: unknown, retryAfterHeader: string | null = null): LoginFailure {
  const b = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const code = typeof b.error === 'string' ? b.error : '';
  if (status === 401 && code === 'TOTP_REQUIRED') return { kind: 'totp_required' };
  if (status === 401) return { kind: 'invalid_credentials' };
  if (status === 429 && code === 'ACCOUNT_LOCKED')
    return { kind: 'locked', retryAfterS: seconds(b.retryAfterS, retryAfterHeader) };
  if (status === 429) return { kind: 'rate_limited', retryAfterS: seconds(b.retryAfterS, retryAfterHeader) };
  if (status === 403 && code === 'ORIGIN_NOT_ALLOWED') return { kind: 'origin' };
  return { kind: 'server', status };
}

/** The login options in an anonymous /me answer; anything unexpected means password only. */
export function loginOptionsOf(body: unknown): LoginOptions {
  const login = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).login : null;
  const oidc = typeof login === 'object' && login !== null ? (login as Record<string, unknown>).oidc : null;
  if (typeof oidc !== 'object' || oidc === null) return NO_LOGIN_OPTIONS;
  const { label, url } = oidc as Record<string, unknown>;
  // same-origin paths only: the button never sends anyone to an address the answer made up
  if (typeof label !== 'string' || typeof url !== 'string' || !url.startsWith('/api/')) return NO_LOGIN_OPTIONS;
  return { oidc: { label, url } };
}

async function jsonOrNull(res: Response): Promise<unknown> {
  try {
    return await res.json();
  } catch {
    // an empty or non-JSON body (a proxy's error page): the status says enough
    return null;
  }
}

/**
 * The three auth calls of the control server, same origin. The session itself is the HttpOnly
 * cookie the browser keeps; this code never sees it, only the CSRF token that goes with it.
 */
export function createAuthApi(fetchFn: typeof fetch = (...a) => globalThis.fetch(...a), base = ''): AuthApi {
  const call = async (path: string, init?: RequestInit): Promise<Response | null> => {
    try {
      return await fetchFn(`${base}${path}`, { credentials: 'same-origin', cache: 'no-store', ...init });
    } catch {
      // fetch rejects only when no answer came (server down, network cut): the caller says so
      return null;
    }
  };
  return {
    async me() {
      const res = await call('/api/auth/me', { headers: { accept: 'application/json' } });
      if (!res) return { ok: false, kind: 'network' };
      // an older server answered 401 before login; the current one 200 `{ authenticated: false }`
      if (res.status === 401) return { ok: false, kind: 'unauthenticated', login: NO_LOGIN_OPTIONS };
      const body = res.ok ? await jsonOrNull(res) : null;
      if (typeof body === 'object' && body !== null && (body as Record<string, unknown>).authenticated === false) {
        return { ok: false, kind: 'unauthenticated', login: loginOptionsOf(body) };
      }
      const session = parseSessionInfo(body);
      return session ? { ok: true, session } : { ok: false, kind: 'server', status: res.status };
    },
    async login(input) {
      const res = await call('/api/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(input),
      });
      if (!res) return { ok: false, error: { kind: 'network' } };
      const body = await jsonOrNull(res);
      if (!res.ok) return { ok: false, error: loginFailureOf(res.status, body, res.headers.get('retry-after')) };
      const session = parseSessionInfo(body);
      return session ? { ok: true, session } : { ok: false, error: { kind: 'server', status: res.status } };
    },
    async logout(csrfToken) {
      const res = await call('/api/auth/logout', {
        method: 'POST',
        headers: csrfToken ? { [CSRF_HEADER]: csrfToken } : {},
      });
      // 401: the session had already ended, which is what logging out wants
      return res && (res.ok || res.status === 401) ? 'ok' : 'failed';
    },
  };
}
