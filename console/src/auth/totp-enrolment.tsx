import QRCode from 'qrcode';
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { createApiClient, type ApiClient } from '../api/api-client.js';
import { LanguageSwitch } from '../components/language-switch.js';
import { useI18n } from '../i18n/i18n.js';
import type { SessionInfo } from './session.js';
import { cleanTotpCode, groupSecret, recoveryCodesText, totpApi, type TotpSetup } from './totp-api.js';
import type { SessionControls } from './use-session.js';
import './auth.css';

/** Offer the recovery codes as a text file (client-side: they never travel again). */
function downloadText(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1_000);
}

/** The 10 recovery codes, shown once, with a download and a « saved » confirmation. */
export function RecoveryCodes({
  codes,
  username,
  onDone,
}: {
  codes: readonly string[];
  username: string;
  onDone?: () => void;
}) {
  const { t } = useI18n();
  const [saved, setSaved] = useState(false);
  const issuedAt = useMemo(() => new Date().toISOString(), []);
  return (
    <div className="totp-codes" data-testid="totp-recovery-codes">
      <h3>{t('totp.codes.title')}</h3>
      <p>{t('totp.codes.intro')}</p>
      <ol className="totp-code-list">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ol>
      <button
        type="button"
        onClick={() =>
          downloadText(`portail-recovery-codes-${username}.txt`, recoveryCodesText(username, codes, issuedAt))
        }
      >
        {t('totp.codes.download')}
      </button>
      {onDone ? (
        <>
          <label className="totp-saved">
            <input
              type="checkbox"
              checked={saved}
              onChange={(e) => setSaved(e.target.checked)}
              data-testid="totp-saved"
            />{' '}
            {t('totp.codes.saved')}
          </label>
          <button type="button" disabled={!saved} onClick={onDone} data-testid="totp-continue">
            {t('totp.codes.continue')}
          </button>
        </>
      ) : null}
    </div>
  );
}

/**
 * Enrolment of an authenticator app: the QR code of the otpauth:// URI (and the secret as text),
 * a 6-digit code to confirm, then the recovery codes. `onEnrolled` runs when the person has
 * confirmed they kept the codes.
 */
export function TotpEnrolment({
  api,
  username,
  onEnrolled,
}: {
  api: ApiClient;
  username: string;
  onEnrolled: () => void;
}) {
  const { t } = useI18n();
  const totp = useMemo(() => totpApi(api), [api]);
  const [setup, setSetup] = useState<TotpSetup | null>(null);
  const [qr, setQr] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [codes, setCodes] = useState<string[] | null>(null);
  const started = useRef(false);

  useEffect(() => {
    // one setup per mount (React's development double effect would otherwise ask twice)
    if (started.current) return;
    started.current = true;
    void totp.setup().then(async (r) => {
      if (!r.ok) {
        setError(r.message ?? r.error);
        return;
      }
      setSetup(r.value);
      try {
        setQr(await QRCode.toDataURL(r.value.uri, { margin: 1, width: 220, errorCorrectionLevel: 'M' }));
      } catch {
        // the text secret below is enough to enrol by hand
        setQr(null);
      }
    });
  }, [totp]);

  async function confirm(ev: FormEvent<HTMLFormElement>): Promise<void> {
    ev.preventDefault();
    if (code.length !== 6 || busy) return;
    setBusy(true);
    const r = await totp.confirm(code);
    setBusy(false);
    if (r.ok) {
      setCodes(r.value.recoveryCodes);
      setError(null);
    } else {
      setError(r.error === 'TOTP_INVALID' ? t('totp.error.invalid') : (r.message ?? r.error));
      setCode('');
    }
  }

  if (codes) return <RecoveryCodes codes={codes} username={username} onDone={onEnrolled} />;
  return (
    <form className="totp-enrol" data-testid="totp-enrolment" onSubmit={(ev) => void confirm(ev)} noValidate>
      <ol className="totp-steps">
        <li>{t('totp.step.install')}</li>
        <li>
          {t('totp.step.scan')}
          <div className="totp-qr">
            {qr ? (
              <img src={qr} width={220} height={220} alt={t('totp.qrAlt')} data-testid="totp-qr" />
            ) : setup ? null : (
              <p className="muted">{t('totp.loading')}</p>
            )}
            {setup ? (
              <p className="small">
                {t('totp.secret')} <code data-testid="totp-secret">{groupSecret(setup.secret)}</code>
              </p>
            ) : null}
          </div>
        </li>
        <li>
          <label htmlFor="totp-code">{t('totp.code')}</label>{' '}
          <input
            id="totp-code"
            data-testid="totp-code"
            inputMode="numeric"
            autoComplete="one-time-code"
            maxLength={6}
            value={code}
            onChange={(e) => setCode(cleanTotpCode(e.target.value))}
          />{' '}
          <button type="submit" disabled={busy || code.length !== 6 || !setup} data-testid="totp-confirm">
            {t('totp.confirm')}
          </button>
        </li>
      </ol>
      {error ? (
        <p className="login-error" role="alert" data-testid="totp-error">
          {error}
        </p>
      ) : null}
    </form>
  );
}

/** The whole page an account sees when its role requires a second factor it has not enrolled yet. */
export function TotpEnrolmentPage({ info, session }: { info: SessionInfo; session: SessionControls }) {
  const { t } = useI18n();
  const api = useMemo(
    () => createApiClient({ csrfToken: info.csrfToken, onUnauthenticated: session.sessionEnded }),
    [info.csrfToken, session.sessionEnded],
  );
  useEffect(() => {
    document.title = `${t('totp.required.title')} — ${t('app.title')}`;
  }, [t]);
  return (
    <div className="login-page">
      <header>
        <div>
          <h1>{t('app.title')}</h1>
        </div>
        <div className="header-right">
          <LanguageSwitch />
          <button type="button" onClick={() => void session.logout()} data-testid="totp-logout">
            {t('totp.logout')}
          </button>
        </div>
      </header>
      <main>
        <section className="login-card totp-card" aria-labelledby="totp-title">
          <h2 id="totp-title">{t('totp.required.title')}</h2>
          <p role="status" data-testid="totp-required">
            {t('totp.required.intro')}
          </p>
          {/* once enrolled, /me is asked again: the session now opens the console */}
          <TotpEnrolment api={api} username={info.user?.username ?? ''} onEnrolled={session.retry} />
        </section>
      </main>
    </div>
  );
}
