import { useEffect, useMemo } from 'react';
import { AgentsTable } from './components/agents-table.js';
import { AlertQueue } from './components/alert-queue.js';
import { ConnectionIndicator } from './components/connection-indicator.js';
import { EventsList } from './components/events-list.js';
import { LanguageSwitch } from './components/language-switch.js';
import { LineCountsPanel } from './components/line-counts-panel.js';
import { useI18n } from './i18n/i18n.js';
import { useLive } from './live/use-live.js';

export function App() {
  const { t, lang } = useI18n();
  const { state, connection } = useLive();
  const agents = useMemo(
    () => Object.values(state.agents).sort((a, b) => a.site.localeCompare(b.site) || a.agent.localeCompare(b.agent)),
    [state.agents],
  );
  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = t('app.title');
  }, [lang, t]);
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
        </div>
      </header>
      <main>
        <AgentsTable agents={agents} />
        <div className="panels">
          <AlertQueue alerts={state.alerts} />
          <LineCountsPanel counts={state.lineCounts} />
        </div>
        <EventsList events={state.events} />
      </main>
    </div>
  );
}
