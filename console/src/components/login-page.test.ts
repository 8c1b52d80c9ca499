// The login page rendered to HTML in node, and the sentences an operator reads when a login is
// refused. The e2e test (test/e2e/console-auth.e2e.test.ts) drives it against a real server.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { createAuthApi } from '../auth/auth-api.js';
import { translate, type MessageKey, type Params } from '../i18n/i18n.js';
import { LoginPage, loginErrorText, OIDC_ERRORS, oidcErrorOf } from './login-page.js';

const fr = (key: MessageKey, params?: Params) => translate('fr', key, params);
const en = (key: MessageKey, params?: Params) => translate('en', key, params);
// 2025-09-01 10:00:00 in Paris
const NOW = Date.parse('2025-09-01T08:00:00Z');

describe('loginErrorText', () => {
  it('says in French what went wrong and how long to wait', () => {
    expect(loginErrorText(fr, 'fr', { kind: 'invalid_credentials' }, false, NOW)).toBe(
      'Identifiant ou mot de passe incorrect.',
    );
    expect(loginErrorText(fr, 'fr', { kind: 'invalid_credentials' }, true, NOW)).toBe(
      'Identifiant, mot de passe ou code incorrect.',
    );
    expect(loginErrorText(fr, 'fr', { kind: 'locked', retryAfterS: 900 }, false, NOW)).toBe(
      'Trop d’échecs de connexion : ce compte est verrouillé. Réessayez dans 15 min (vers 10:15:00), ou demandez à un administrateur de le déverrouiller.',
    );
    expect(loginErrorText(fr, 'fr', { kind: 'rate_limited', retryAfterS: 42 }, false, NOW)).toBe(
      'Trop de tentatives de connexion depuis ce poste. Patientez 42 s (jusque vers 10:00:42) avant de réessayer.',
    );
    expect(loginErrorText(fr, 'fr', { kind: 'server', status: 500 }, false, NOW)).toMatch(/code 500/);
    expect(loginErrorText(fr, 'fr', { kind: 'network' }, false, NOW)).toMatch(/ne répond pas/);
  });

  it('has the English second', () => {
    expect(loginErrorText(en, 'en', { kind: 'invalid_credentials' }, false, NOW)).toBe('Wrong username or password.');
    expect(loginErrorText(en, 'en', { kind: 'locked', retryAfterS: 120 }, false, NOW)).toMatch(
      /locked\. Retry in 2 min/,
    );
  });
});

describe('LoginPage', () => {
  it('renders a labelled form, focus on the username, no code field until the server asks for one', () => {
    const html = renderToStaticMarkup(
      createElement(LoginPage, { api: createAuthApi(), notice: 'session_ended', onLoggedIn: () => undefined }),
    );
    expect(html).toContain('<label for="login-username">Identifiant</label>');
    expect(html).toContain('<label for="login-password">Mot de passe</label>');
    expect(html).toMatch(/<input id="login-username"[^>]*autoComplete="username"[^>]*autofocus=""/);
    expect(html).toMatch(/<input id="login-password"[^>]*type="password"[^>]*autoComplete="current-password"/);
    expect(html).toMatch(/<button type="submit"[^>]*>Se connecter<\/button>/);
    expect(html).toContain('Votre session a pris fin');
    expect(html).not.toContain('login-totp');
    // no identity provider configured: no second way in
    expect(html).not.toContain('login-oidc');
  });

  it('offers the identity provider when the server has one', () => {
    const html = renderToStaticMarkup(
      createElement(LoginPage, {
        api: createAuthApi(),
        notice: null,
        onLoggedIn: () => undefined,
        login: { oidc: { label: 'Compte académique', url: '/api/auth/oidc/login' } },
      }),
    );
    expect(html).toMatch(
      /<a class="button" href="\/api\/auth\/oidc\/login" data-testid="login-oidc">Compte académique<\/a>/,
    );
  });
});

describe('oidcErrorOf', () => {
  it('reads the codes the OIDC callback sends back, and nothing else', () => {
    expect(oidcErrorOf('?login_error=OIDC_NO_ACCOUNT')).toBe('OIDC_NO_ACCOUNT');
    expect(oidcErrorOf('?login_error=%3Cscript%3E')).toBeNull();
    expect(oidcErrorOf('')).toBeNull();
    for (const code of OIDC_ERRORS) expect(translate('fr', `login.oidc.error.${code}`)).not.toContain('login.');
  });
});
