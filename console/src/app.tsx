import { useEffect } from 'react';
import { TotpEnrolmentPage } from './auth/totp-enrolment.js';
import { useSession } from './auth/use-session.js';
import { LoginPage } from './components/login-page.js';
import { useI18n } from './i18n/i18n.js';
import { ConsoleShell } from './shell/console-shell.js';

/** Asks who is there, then shows the login page or the live console; nothing live before a session. */
export function App() {
  const { t, lang } = useI18n();
  const session = useSession();
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const { state } = session;
  switch (state.status) {
    case 'loading':
      return (
        <div className="page">
          <p className="muted" role="status" data-testid="session-loading">
            {t('session.loading')}
          </p>
        </div>
      );
    case 'unreachable':
      return (
        <div className="page">
          <p className="login-error" role="alert" data-testid="session-unreachable">
            {state.httpStatus === null
              ? t('session.unreachable')
              : t('session.unreachableStatus', { status: state.httpStatus })}
          </p>
          <button type="button" onClick={session.retry} autoFocus>
            {t('session.retry')}
          </button>
        </div>
      );
    case 'anonymous':
      return <LoginPage api={session.api} notice={state.notice} onLoggedIn={session.loggedIn} login={state.login} />;
    case 'ready':
      // a role that requires a second factor: nothing else until it is enrolled
      if (state.session.totpEnrolmentRequired) return <TotpEnrolmentPage info={state.session} session={session} />;
      return <ConsoleShell info={state.session} session={session} />;
  }
}
