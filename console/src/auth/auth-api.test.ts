import { describe, expect, it } from 'vitest';
import { createAuthApi, loginFailureOf, loginOptionsOf } from './auth-api.js';

describe('loginOptionsOf', () => {
  it('offers the OIDC button only for a same-origin API path', () => {
    expect(loginOptionsOf({ login: { oidc: { label: 'A', url: '/api/auth/oidc/login' } } })).toEqual({
      oidc: { label: 'A', url: '/api/auth/oidc/login' },
    });
    expect(loginOptionsOf({ login: { oidc: { label: 'A', url: 'https://evil.example/' } } })).toEqual({ oidc: null });
    expect(loginOptionsOf({ login: { oidc: { label: 'A', url: '//evil.example/api/' } } })).toEqual({ oidc: null });
    expect(loginOptionsOf({ login: { oidc: null } })).toEqual({ oidc: null });
    expect(loginOptionsOf(null)).toEqual({ oidc: null });
  });
});

describe('loginFailureOf', () => {
  it('maps each refusal of POST /api/auth/login', () => {
    expect(loginFailureOf(401, { error: 'INVALID_CREDENTIALS' })).toEqual({ kind: 'invalid_credentials' });
    expect(loginFailureOf(401, { error: 'TOTP_REQUIRED' })).toEqual({ kind: 'totp_required' });
    expect(loginFailureOf(429, { error: 'ACCOUNT_LOCKED', retryAfterS: 899.2 })).toEqual({
      kind: 'locked',
      retryAfterS: 900,
    });
    expect(loginFailureOf(429, { error: 'RATE_LIMITED', retryAfterS: 12 })).toEqual({
      kind: 'rate_limited',
      retryAfterS: 12,
    });
    // no body field: the Retry-After header
    expect(loginFailureOf(429, null, '30')).toEqual({ kind: 'rate_limited', retryAfterS: 30 });
    expect(loginFailureOf(403, { error: 'ORIGIN_NOT_ALLOWED' })).toEqual({ kind: 'origin' });
    expect(loginFailureOf(400, { error: 'Bad Request' })).toEqual({ kind: 'server', status: 400 });
    expect(loginFailureOf(502, null)).toEqual({ kind: 'server', status: 502 });
  });
});

/**
 * A stand-in for `fetch` that records the requests and answers with real `Response` objects: this
 * checks what the console sends and how it reads the answers; the real server is in the e2e test.
 */
function recordingFetch(answer: (url: string, init: RequestInit) => Response | Error) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    calls.push({ url, init: init ?? {} });
    const a = answer(url, init ?? {});
    if (a instanceof Error) throw a;
    return a;
  }) as typeof fetch;
  return { calls, fn };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('createAuthApi', () => {
  const me = {
    authMode: 'required',
    user: { id: 1, username: 'surveillance', roles: [{ role: 'supervisor', site: 'demo-lycee' }], totpEnabled: false },
    permissions: { 'agents:read': ['demo-lycee'] },
    csrfToken: 'csrf-1',
    expiresAt: '2030-01-01T00:00:00.000Z',
    idleTimeoutMs: 1_800_000,
  };

  it("me: a session, no session (200 authenticated:false, or an older server's 401), no answer, or an unexpected one", async () => {
    const answers: Array<Response | Error> = [
      json(200, me),
      json(200, {
        authMode: 'required',
        authenticated: false,
        login: { password: true, oidc: { label: 'Compte académique', url: '/api/auth/oidc/login' } },
      }),
      json(200, { authMode: 'required', authenticated: false, login: { password: true, oidc: null } }),
      json(401, { error: 'UNAUTHENTICATED' }),
      new TypeError('Failed to fetch'),
      new Response('<html>', { status: 200 }),
    ];
    const { fn, calls } = recordingFetch(() => answers.shift()!);
    const api = createAuthApi(fn);
    expect(await api.me()).toMatchObject({ ok: true, session: { csrfToken: 'csrf-1' } });
    expect(await api.me()).toEqual({
      ok: false,
      kind: 'unauthenticated',
      login: { oidc: { label: 'Compte académique', url: '/api/auth/oidc/login' } },
    });
    expect(await api.me()).toEqual({ ok: false, kind: 'unauthenticated', login: { oidc: null } });
    expect(await api.me()).toEqual({ ok: false, kind: 'unauthenticated', login: { oidc: null } });
    expect(await api.me()).toEqual({ ok: false, kind: 'network' });
    expect(await api.me()).toEqual({ ok: false, kind: 'server', status: 200 });
    expect(calls[0]!.url).toBe('/api/auth/me');
    expect(calls[0]!.init.credentials).toBe('same-origin');
  });

  it('login posts JSON and maps a lockout with its wait', async () => {
    const answers = [json(429, { error: 'ACCOUNT_LOCKED', retryAfterS: 900 }, { 'retry-after': '900' }), json(200, me)];
    const { fn, calls } = recordingFetch(() => answers.shift()!);
    const api = createAuthApi(fn);
    expect(await api.login({ username: 'a', password: 'b' })).toEqual({
      ok: false,
      error: { kind: 'locked', retryAfterS: 900 },
    });
    expect(await api.login({ username: 'a', password: 'b', totp: '123456' })).toMatchObject({ ok: true });
    expect(calls[1]!.init.method).toBe('POST');
    expect(JSON.parse(calls[1]!.init.body as string)).toEqual({ username: 'a', password: 'b', totp: '123456' });
    expect((calls[1]!.init.headers as Record<string, string>)['content-type']).toBe('application/json');
  });

  it('logout sends the CSRF token; a 401 (already ended) counts as logged out', async () => {
    const answers: Array<Response | Error> = [
      new Response(null, { status: 204 }),
      json(401, { error: 'UNAUTHENTICATED' }),
      json(403, { error: 'CSRF_TOKEN_INVALID' }),
      new TypeError('Failed to fetch'),
    ];
    const { fn, calls } = recordingFetch(() => answers.shift()!);
    const api = createAuthApi(fn);
    expect(await api.logout('csrf-1')).toBe('ok');
    expect((calls[0]!.init.headers as Record<string, string>)['X-CSRF-Token']).toBe('csrf-1');
    expect(await api.logout('csrf-1')).toBe('ok');
    expect(await api.logout('stale')).toBe('failed');
    expect(await api.logout('csrf-1')).toBe('failed');
  });
});
