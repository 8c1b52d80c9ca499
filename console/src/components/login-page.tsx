import { useEffect, useRef, useState, type FormEvent } from 'react';
import { NO_LOGIN_OPTIONS, type AuthApi, type LoginFailure, type LoginOptions } from '../auth/auth-api.js';
import type { SessionInfo } from '../auth/session.js';
import type { LoginNotice } from '../auth/use-session.js';
import { formatDateTime, formatWait } from '../format.js';
import { useI18n, type Lang, type MessageKey, type Params } from '../i18n/i18n.js';
import { LanguageSwitch } from './language-switch.js';
import '../auth/auth.css';

type T = (key: MessageKey, params?: Params) => string;

/** The French (or English) sentence for a refused login; the wait is absolute too, so it survives a glance away. */
export function loginErrorText(
  t: T,
  lang: Lang,
  error: LoginFailure,
  withTotp: boolean,
  nowMs: number = Date.now(),
): string {
  const wait = (s: number) => ({
    wait: formatWait(s, lang),
    time: formatDateTime(new Date(nowMs + s * 1000).toISOString(), lang, new Date(nowMs)) ?? '',
  });
  switch (error.kind) {
    case 'invalid_credentials':
      return t(withTotp ? 'login.error.invalidTotp' : 'login.error.invalid');
    case 'totp_required':
      return t('login.notice.totp');
    case 'locked':
      return t('login.error.locked', wait(error.retryAfterS));
    case 'rate_limited':
      return t('login.error.rateLimited', wait(error.retryAfterS));
    case 'origin':
      return t('login.error.origin');
    case 'network':
      return t('login.error.network');
    case 'server':
      return t('login.error.server', { status: error.status });
  }
}

/** Codes of a refused OpenID Connect login, as the server's callback redirects with `?login_error=`. */
export const OIDC_ERRORS = [
  'OIDC_UNAVAILABLE',
  'OIDC_TRANSACTION_UNKNOWN',
  'OIDC_REJECTED',
  'OIDC_NO_ACCOUNT',
  'OIDC_NO_ROLE',
  'OIDC_USERNAME_TAKEN',
] as const;
export type OidcError = (typeof OIDC_ERRORS)[number];

/** The `login_error` of the page's address, when it is one the server sends. */
export function oidcErrorOf(search: string): OidcError | null {
  const code = new URLSearchParams(search).get('login_error');
  return (OIDC_ERRORS as readonly string[]).includes(code ?? '') ? (code as OidcError) : null;
}

export interface LoginPageProps {
  api: AuthApi;
  notice: LoginNotice;
  onLoggedIn: (session: SessionInfo) => void;
  /** other ways to log in (OpenID Connect), from /api/auth/me */
  login?: LoginOptions;
}

/**
 * Username and password (and the 6-digit code when the account has a second factor). Enter submits;
 * the focus starts on the username and moves to whatever field needs typing next.
 */
export function LoginPage({ api, notice, onLoggedIn, login = NO_LOGIN_OPTIONS }: LoginPageProps) {
  const { t, lang } = useI18n();
  const [oidcError] = useState(() => oidcErrorOf(globalThis.location?.search ?? ''));
  const [useRecovery, setUseRecovery] = useState(false);
  const [recovery, setRecovery] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [needTotp, setNeedTotp] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ failure: LoginFailure; withTotp: boolean; atMs: number } | null>(null);
  const [missing, setMissing] = useState(false);
  const usernameRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);
  const totpRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    document.title = `${t('login.title')} — ${t('app.title')}`;
  }, [t]);

  async function submit(ev: FormEvent<HTMLFormElement>): Promise<void> {
    ev.preventDefault();
    if (busy) return;
    if (username.trim() === '' || password === '') {
      setMissing(true);
      setError(null);
      (username.trim() === '' ? usernameRef : passwordRef).current?.focus();
      return;
    }
    setMissing(false);
    setBusy(true);
    const withRecovery = needTotp && useRecovery && recovery.trim() !== '';
    const withTotp = needTotp && !useRecovery && totp.trim() !== '';
    const res = await api.login({
      username: username.trim(),
      password,
      ...(withTotp ? { totp: totp.trim() } : {}),
      ...(withRecovery ? { recoveryCode: recovery.trim() } : {}),
    });
    setBusy(false);
    if (res.ok) {
      onLoggedIn(res.session);
      return;
    }
    setError({ failure: res.error, withTotp: needTotp, atMs: Date.now() });
    if (res.error.kind === 'totp_required') {
      setNeedTotp(true);
      setTotp('');
      // the field appears on this render: focus it on the next frame
      requestAnimationFrame(() => totpRef.current?.focus());
    } else if (res.error.kind === 'invalid_credentials') {
      setPassword('');
      setTotp('');
      setRecovery('');
      passwordRef.current?.focus();
    }
  }

  const info = error?.failure.kind === 'totp_required';
  const message = error ? loginErrorText(t, lang, error.failure, error.withTotp, error.atMs) : null;
  return (
    <div className="login-page">
      <header>
        <div>
          <h1>{t('app.title')}</h1>
          <p className="muted">{t('login.intro')}</p>
        </div>
        <div className="header-right">
          <LanguageSwitch />
        </div>
      </header>
      <main>
        <form
          className="login-card"
          data-testid="login-form"
          aria-labelledby="login-title"
          noValidate
          onSubmit={(ev) => void submit(ev)}
        >
          <h2 id="login-title">{t('login.title')}</h2>
          {oidcError && !error ? (
            <p className="login-error" role="alert" data-testid="login-oidc-error" data-code={oidcError}>
              {t(`login.oidc.error.${oidcError}`)}
            </p>
          ) : null}
          {notice && !error ? (
            <p className="notice" role="status" data-testid="login-notice" data-notice={notice}>
              {t(notice === 'logged_out' ? 'login.notice.loggedOut' : 'login.notice.sessionEnded')}
            </p>
          ) : null}
          <label htmlFor="login-username">{t('login.username')}</label>
          <input
            id="login-username"
            ref={usernameRef}
            data-testid="login-username"
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            autoFocus
            required
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
          <label htmlFor="login-password">{t('login.password')}</label>
          <input
            id="login-password"
            ref={passwordRef}
            data-testid="login-password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          {needTotp && useRecovery ? (
            <>
              <label htmlFor="login-recovery">{t('login.recovery.label')}</label>
              <input
                id="login-recovery"
                data-testid="login-recovery"
                name="recoveryCode"
                autoComplete="off"
                autoCapitalize="characters"
                spellCheck={false}
                maxLength={24}
                value={recovery}
                aria-describedby="login-recovery-hint"
                onChange={(e) => setRecovery(e.target.value)}
              />
              <p id="login-recovery-hint" className="muted small">
                {t('login.recovery.hint')}
              </p>
            </>
          ) : null}
          {needTotp ? (
            <button
              type="button"
              className="link-button small"
              data-testid="login-recovery-toggle"
              onClick={() => setUseRecovery((v) => !v)}
            >
              {t(useRecovery ? 'login.recovery.useTotp' : 'login.recovery.use')}
            </button>
          ) : null}
          {needTotp && !useRecovery ? (
            <>
              <label htmlFor="login-totp">{t('login.totp')}</label>
              <input
                id="login-totp"
                ref={totpRef}
                data-testid="login-totp"
                name="totp"
                inputMode="numeric"
                autoComplete="one-time-code"
                pattern="[0-9]{6}"
                maxLength={6}
                value={totp}
                aria-describedby="login-totp-hint"
                onChange={(e) => setTotp(e.target.value.replace(/\D/g, ''))}
              />
              <p id="login-totp-hint" className="muted small">
                {t('login.totpHint')}
              </p>
            </>
          ) : null}
          {message ? (
            <p
              className={info ? 'notice' : 'login-error'}
              role={info ? 'status' : 'alert'}
              data-testid="login-error"
              data-kind={error?.failure.kind}
            >
              {message}
            </p>
          ) : missing ? (
            <p className="login-error" role="alert" data-testid="login-error" data-kind="missing">
              {t('login.error.missing')}
            </p>
          ) : null}
          <button type="submit" data-testid="login-submit" disabled={busy}>
            {busy ? t('login.submitting') : t('login.submit')}
          </button>
          {login.oidc ? (
            <div className="login-oidc">
              <p className="muted small">{t('login.oidc.or')}</p>
              {/* a plain navigation: the server redirects to the identity provider and back */}
              <a className="button" href={login.oidc.url} data-testid="login-oidc">
                {login.oidc.label}
              </a>
            </div>
          ) : null}
        </form>
      </main>
    </div>
  );
}
