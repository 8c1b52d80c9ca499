import { useEffect, useMemo } from 'react';
import { visiblePanels, type SessionInfo } from './auth/session.js';
import { useSession, type SessionControls } from './auth/use-session.js';
import { AgentsTable } from './components/agents-table.js';
import { AlertQueue } from './components/alert-queue.js';
import { ConnectionIndicator } from './components/connection-indicator.js';
import { EventsList } from './components/events-list.js';
import { LanguageSwitch } from './components/language-switch.js';
import { LineCountsPanel } from './components/line-counts-panel.js';
import { LoginPage } from './components/login-page.js';
import { UserMenu } from './components/user-menu.js';
import { useI18n } from './i18n/i18n.js';
import { useLive } from './live/use-live.js';

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
      return <LoginPage api={session.api} notice={state.notice} onLoggedIn={session.loggedIn} />;
    case 'ready':
      return <LiveConsole info={state.session} session={session} />;
  }
}

function LiveConsole({ info, session }: { info: SessionInfo; session: SessionControls }) {
  const { t } = useI18n();
  const required = info.authMode === 'required';
  const { state, connection } = useLive({
    onSessionEnded: session.sessionEnded,
    ...(required ? { sessionStillValid: session.sessionStillValid } : {}),
  });
  const show = useMemo(() => visiblePanels(info), [info]);
  const agents = useMemo(
    () => Object.values(state.agents).sort((a, b) => a.site.localeCompare(b.site) || a.agent.localeCompare(b.agent)),
    [state.agents],
  );
  useEffect(() => {
    document.title = t('app.title');
  }, [t]);
  return (
    <div className="page">
      <header>
        <div>
          <h1>{t('app.title')}</h1>
          <p className="muted">{t('app.subtitle')}</p>
        </div>
        <div className="header-right">
          <ConnectionIndicator status={connection} />
          <LanguageSwitch />
          {info.user ? (
            <UserMenu user={info.user} onLogout={session.logout} />
          ) : (
            <span className="badge badge-warn small" data-testid="auth-disabled" title={t('auth.disabledHint')}>
              {t('auth.disabled')}
            </span>
          )}
        </div>
      </header>
      <main>
        {show.agents ? <AgentsTable agents={agents} /> : null}
        {show.alerts || show.lineCounts ? (
          <div className={show.alerts && show.lineCounts ? 'panels' : 'panels single'}>
            {show.alerts ? <AlertQueue alerts={state.alerts} /> : null}
            {show.lineCounts ? <LineCountsPanel counts={state.lineCounts} /> : null}
          </div>
        ) : null}
        {show.eventKinds.length > 0 ? (
          <EventsList events={state.events} kinds={required ? show.eventKinds : undefined} />
        ) : null}
      </main>
    </div>
  );
}
