import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OIDC_TXN_COOKIE } from '../http/routes/auth-routes.js';
import { SESSION_COOKIE } from '../http/auth/auth-plugin.js';
import { buildAuthTestApp, sessionCookieOf, TEST_PASSWORD, type AuthTestApp } from '../test-support/auth.js';
import { createOidcLogin, type OidcMapping } from './oidc-login.js';

/**
 * OpenID Connect login against a real provider: panva's `oidc-provider`, started in-process on a
 * loopback port with its development login and consent pages, driven with fetch and a cookie jar
 * the way a browser would. Portail's side runs through `inject`; only the provider listens.
 */

const REDIRECT = 'http://localhost:8080/api/auth/oidc/callback';
const CLIENT_SECRET = 'a-client-secret-for-tests-only-0123456789';

/** the people the provider knows: its dev login page accepts any password */
const ACCOUNTS: Record<string, Record<string, unknown>> = {
  marie: { email: 'marie@ac-test.fr', email_verified: true, preferred_username: 'marie.d', groups: ['fz-admins'] },
  paul: { email: 'paul@ac-test.fr', email_verified: true, preferred_username: 'paul', groups: ['other-school'] },
  linked: { email: 'Agent.Accueil@ac-test.fr', email_verified: true, preferred_username: 'x', groups: [] },
};

class CookieJar {
  private readonly jar = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      this.jar.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
  }
  header(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

describe('OIDC login with a local oidc-provider', () => {
  let server: Server;
  let issuer: string;

  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: 'portail',
          client_secret: CLIENT_SECRET,
          redirect_uris: [REDIRECT],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
      ],
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['preferred_username', 'groups'] },
      // claims in the ID token itself: Portail maps from the ID token, not the userinfo endpoint
      conformIdTokenClaims: false,
      findAccount: (_ctx, id) =>
        ACCOUNTS[id] ? { accountId: id, claims: () => ({ sub: id, ...ACCOUNTS[id] }) } : undefined,
      cookies: { keys: ['cookie-key-for-tests-only'] },
      pkce: { required: () => true },
    });
    const handle = provider.callback();
    server.on('request', (req, res) => {
      // the provider's handler settles its own errors (it answers them); nothing to await here
      void handle(req, res);
    });
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function portail(mapping: OidcMapping): Promise<AuthTestApp> {
    return buildAuthTestApp({
      oidc: ({ users, store }) =>
        createOidcLogin({
          settings: {
            issuer,
            clientId: 'portail',
            clientSecret: CLIENT_SECRET,
            redirectUrl: REDIRECT,
            scopes: ['openid', 'email', 'profile'],
            label: 'Compte académique',
            mapping,
          },
          users,
          store,
          logger: pino({ level: 'silent' }),
        }),
    });
  }

  /**
   * The whole dance: Portail's login redirect, the provider's login and consent pages, back to
   * Portail's callback. `tamper` may change the authorization URL or the callback URL on the way.
   */
  async function loginAs(
    t: AuthTestApp,
    account: string,
    tamper: { authUrl?: (u: URL) => void; callback?: (u: URL) => void } = {},
  ) {
    const start = await t.app.inject({ method: 'GET', url: '/api/auth/oidc/login' });
    expect(start.statusCode).toBe(303);
    const txn = start.cookies.find((c) => c.name === OIDC_TXN_COOKIE)!;
    expect(txn).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/api/auth/oidc' });
    const authUrl = new URL(start.headers.location as string);
    expect(authUrl.origin).toBe(issuer);
    expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');
    for (const p of ['state', 'nonce', 'code_challenge']) expect(authUrl.searchParams.get(p)).toBeTruthy();
    tamper.authUrl?.(authUrl);

    const jar = new CookieJar();
    let next = authUrl.href;
    let callback: URL | null = null;
    let form: { action: string; fields: Record<string, string> } | null = null;
    for (let hop = 0; hop < 12 && callback === null; hop++) {
      const res: Response = form
        ? await fetch(new URL(form.action, issuer), {
            method: 'POST',
            redirect: 'manual',
            headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams(form.fields).toString(),
          })
        : await fetch(next, { redirect: 'manual', headers: { cookie: jar.header() } });
      form = null;
      jar.take(res);
      if (res.status >= 300 && res.status < 400) {
        const location = new URL(res.headers.get('location')!, next);
        if (location.href.startsWith(REDIRECT)) callback = location;
        else next = location.href;
        continue;
      }
      // the provider's development pages: a login form, then a consent form
      const html: string = await res.text();
      expect(res.status, html.slice(0, 300)).toBe(200);
      const action: string | undefined = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      expect(action, html.slice(0, 300)).toBeTruthy();
      const prompt = /name="prompt" value="([a-z]+)"/.exec(html)![1]!;
      form = {
        action: action!,
        fields: prompt === 'login' ? { prompt, login: account, password: 'any' } : { prompt },
      };
    }
    expect(callback).not.toBeNull();
    tamper.callback?.(callback!);
    const back = await t.app.inject({
      method: 'GET',
      url: `${callback!.pathname}${callback!.search}`,
      cookies: { [OIDC_TXN_COOKIE]: txn.value },
    });
    expect(back.statusCode).toBe(303);
    return { back, callback: callback!, txn: txn.value };
  }

  const me = (t: AuthTestApp, cookie: string | undefined) =>
    t.app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: cookie ? { cookie: `${SESSION_COOKIE}=${cookie}` } : {},
    });

  it('maps a group claim onto roles: login redirect, provider login and consent, callback, session, /me', async () => {
    const t = await portail({
      mode: 'claims',
      claim: 'groups',
      usernameClaim: 'preferred_username',
      rules: [{ value: 'fz-admins', role: 'site_admin', site: 'fz' }],
    });
    try {
      // the login page learns that the option exists
      expect((await me(t, undefined)).json()).toMatchObject({
        authenticated: false,
        login: { oidc: { label: 'Compte académique', url: '/api/auth/oidc/login' } },
      });
      const { back } = await loginAs(t, 'marie');
      expect(back.headers.location).toBe('/');
      const cookie = sessionCookieOf(back);
      expect(cookie).toBeTruthy();
      const body = (await me(t, cookie)).json<{
        user: { username: string; roles: unknown[] };
        authenticated: boolean;
      }>();
      expect(body.authenticated).toBe(true);
      expect(body.user.username).toBe('marie.d');
      expect(body.user.roles).toEqual([{ role: 'site_admin', site: 'fz' }]);
      // no usable password on a provisioned account
      const pw = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username: 'marie.d', password: TEST_PASSWORD },
      });
      expect(pw.statusCode).toBe(401);
      // the login is audited with the method; a person without a mapped group is refused
      expect([...t.audit.iterate()].some((r) => r.action === 'auth.login' && r.details.method === 'oidc')).toBe(true);
      const refused = await loginAs(t, 'paul');
      expect(refused.back.headers.location).toBe('/?login_error=OIDC_NO_ROLE');
      expect(sessionCookieOf(refused.back)).toBeUndefined();
    } finally {
      await t.close();
    }
  });

  it('refuses a callback whose state or nonce is not the one this login sent, and a replayed callback', async () => {
    const t = await portail({
      mode: 'claims',
      claim: 'groups',
      usernameClaim: 'preferred_username',
      rules: [{ value: 'fz-admins', role: 'supervisor', site: 'fz' }],
    });
    try {
      const badState = await loginAs(t, 'marie', { callback: (u) => u.searchParams.set('state', 'forged-state') });
      expect(badState.back.headers.location).toBe('/?login_error=OIDC_REJECTED');
      expect(sessionCookieOf(badState.back)).toBeUndefined();

      // the provider signs whatever nonce it was asked for: one that is not this login's is refused
      const badNonce = await loginAs(t, 'marie', { authUrl: (u) => u.searchParams.set('nonce', 'forged-nonce') });
      expect(badNonce.back.headers.location).toBe('/?login_error=OIDC_REJECTED');
      expect(sessionCookieOf(badNonce.back)).toBeUndefined();

      const good = await loginAs(t, 'marie');
      expect(sessionCookieOf(good.back)).toBeTruthy();
      // the transaction is single use: the same callback again opens nothing
      const replay = await t.app.inject({
        method: 'GET',
        url: `${good.callback.pathname}${good.callback.search}`,
        cookies: { [OIDC_TXN_COOKIE]: good.txn },
      });
      expect(replay.headers.location).toBe('/?login_error=OIDC_TRANSACTION_UNKNOWN');
      // and a callback without the transaction cookie (another browser) neither
      const foreign = await t.app.inject({ method: 'GET', url: `${good.callback.pathname}${good.callback.search}` });
      expect(foreign.headers.location).toBe('/?login_error=OIDC_TRANSACTION_UNKNOWN');
    } finally {
      await t.close();
    }
  });

  it('links a pre-created local account by verified e-mail, then follows the link', async () => {
    const t = await portail({ mode: 'link', by: 'email' });
    try {
      await t.addUser('accueil-fz', [{ role: 'reception', site: 'fz' }]);
      const id = t.users.getByUsername('accueil-fz')!.id;
      t.authStore.setEmail(id, 'agent.accueil@ac-test.fr');
      const first = await loginAs(t, 'linked');
      const body = (await me(t, sessionCookieOf(first.back))).json<{ user: { username: string } }>();
      expect(body.user.username).toBe('accueil-fz');
      expect(t.authStore.identitiesOf(id)).toEqual([expect.objectContaining({ issuer, subject: 'linked' })]);
      // the link holds even if the address changes on either side
      t.authStore.setEmail(id, null);
      const again = await loginAs(t, 'linked');
      expect(sessionCookieOf(again.back)).toBeTruthy();
      // nobody else gets in by having an account at the provider
      const stranger = await loginAs(t, 'paul');
      expect(stranger.back.headers.location).toBe('/?login_error=OIDC_NO_ACCOUNT');
    } finally {
      await t.close();
    }
  });
});
