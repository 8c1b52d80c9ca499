import { useEffect, useMemo } from 'react';
import { Link, Redirect, Route, Router, Switch, useLocation } from 'wouter';
import { useHashLocation } from 'wouter/use-hash-location';
import { createApiClient } from '../api/api-client.js';
import { ConsoleContext } from '../api/api-context.js';
import type { SessionInfo } from '../auth/session.js';
import type { SessionControls } from '../auth/use-session.js';
import { ConnectionIndicator } from '../components/connection-indicator.js';
import { LanguageSwitch } from '../components/language-switch.js';
import { UserMenu } from '../components/user-menu.js';
import { useI18n } from '../i18n/i18n.js';
import { useLive } from '../live/use-live.js';
import { AdminView } from '../views/admin/admin-view.js';
import { FleetView } from '../views/fleet/fleet-view.js';
import { GateView } from '../views/gate/gate-view.js';
import { LiveView } from '../views/live/live-view.js';
import { LiveContext, useLiveContext } from './live-context.js';
import { homeView, viewOfPath, visibleViews, type ViewId } from './views.js';

const VIEW_COMPONENTS: Record<ViewId, () => React.JSX.Element> = {
  gate: GateView,
  live: LiveView,
  admin: AdminView,
  fleet: FleetView,
};

/**
 * The logged-in console: header, the views the account may use, one live socket shared by all.
 * Routes are in the URL hash (`#/gate`, `#/admin/people`…): the server serves one index.html and a
 * reload keeps the view.
 */
export function ConsoleShell({ info, session }: { info: SessionInfo; session: SessionControls }) {
  const required = info.authMode === 'required';
  const live = useLive({
    onSessionEnded: session.sessionEnded,
    ...(required ? { sessionStillValid: session.sessionStillValid } : {}),
  });
  const api = useMemo(
    () => createApiClient({ csrfToken: info.csrfToken, onUnauthenticated: session.sessionEnded }),
    [info.csrfToken, session.sessionEnded],
  );
  const consoleValue = useMemo(() => ({ api, session: info }), [api, info]);
  return (
    <ConsoleContext.Provider value={consoleValue}>
      <LiveContext.Provider value={live}>
        <Router hook={useHashLocation}>
          <ShellFrame info={info} session={session} />
        </Router>
      </LiveContext.Provider>
    </ConsoleContext.Provider>
  );
}

function ShellFrame({ info, session }: { info: SessionInfo; session: SessionControls }) {
  const { t } = useI18n();
  const [location] = useLocation();
  const { connection } = useLiveContext();
  const views = useMemo(() => visibleViews(info), [info]);
  // without accounts everything is open: the supervision view shows the most at once
  const home = info.authMode === 'disabled' ? views.find((v) => v.id === 'live')! : homeView(info);
  const current = viewOfPath(location);
  const [, navigate] = useLocation();
  // after a login, a view left in the URL by the previous account may not be this one's: go home
  useEffect(() => {
    const start = viewOfPath(location);
    if (start && home && !views.some((v) => v.id === start.id)) navigate(home.path, { replace: true });
    // on mount only: later visits to a view not open to the account show the notice
  }, []);
  useEffect(() => {
    document.title = current ? `${t(current.labelKey)} — Portail` : t('app.title');
  }, [t, current]);
  return (
    <div className={`page view-${current?.id ?? 'none'}`}>
      <header>
        <div>
          <h1>{t('app.title')}</h1>
          <nav aria-label={t('nav.label')} className="main-nav">
            {views.map((v) => (
              <Link
                key={v.id}
                href={v.path}
                className={current?.id === v.id ? 'nav-link active' : 'nav-link'}
                aria-current={current?.id === v.id ? 'page' : undefined}
                data-testid={`nav-${v.id}`}
              >
                {t(v.labelKey)}
              </Link>
            ))}
          </nav>
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
        <Switch>
          <Route path="/">{home ? <Redirect to={home.path} replace /> : <NoView />}</Route>
          {views.map((v) => {
            const View = VIEW_COMPONENTS[v.id];
            return (
              <Route key={v.id} path={v.path} nest>
                <View />
              </Route>
            );
          })}
          <Route>
            <NoView forbidden={viewOfPath(location) !== null} />
          </Route>
        </Switch>
      </main>
    </div>
  );
}

function NoView({ forbidden = false }: { forbidden?: boolean }) {
  const { t } = useI18n();
  return (
    <section className="card" data-testid={forbidden ? 'view-forbidden' : 'view-not-found'}>
      <p role="alert">{t(forbidden ? 'nav.forbidden' : 'nav.notFound')}</p>
      <Link href="/">{t('nav.home')}</Link>
    </section>
  );
}
