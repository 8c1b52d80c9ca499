import { useEffect, useMemo, useRef, useState } from 'react';
import { visiblePanels } from '../../auth/session.js';
import { useConsole } from '../../api/api-context.js';
import { AgentsTable } from '../../components/agents-table.js';
import { AlertQueue } from '../../components/alert-queue.js';
import { EventsList } from '../../components/events-list.js';
import { LineCountsPanel } from '../../components/line-counts-panel.js';
import { useI18n } from '../../i18n/i18n.js';
import { buildQueue } from '../../live/alerts.js';
import type { LineCounts } from '../../live/line-counts.js';
import { useLiveContext } from '../../shell/live-context.js';
import { CameraTiles, camerasOf } from './camera-tiles.js';
import { LiveCharts } from './live-charts.js';
import { canAt, liveSites } from './live-sites.js';
import { useSiteAlerts } from './use-site-alerts.js';
import './live.css';

/** The server keeps an unacknowledged event alert in the queue this long (alerts/alert-service.ts). */
const QUEUE_WINDOW_MS = 24 * 3_600_000;

/**
 * Supervisors: every agent and camera of a site with its health, the alert queue (acknowledge with a
 * note), line counts, camera tiles and charts, and the event list.
 */
export function LiveView() {
  const { t } = useI18n();
  const { api, session } = useConsole();
  const { state, connection } = useLiveContext();
  const required = session.authMode === 'required';
  const show = useMemo(() => visiblePanels(session), [session]);
  const allAgents = useMemo(
    () => Object.values(state.agents).sort((a, b) => a.site.localeCompare(b.site) || a.agent.localeCompare(b.agent)),
    [state.agents],
  );
  const sites = useMemo(() => liveSites(session, allAgents, state.events), [session, allAgents, state.events]);
  const [chosen, setChosen] = useState<string | null>(null);
  const site = chosen !== null && sites.includes(chosen) ? chosen : (sites[0] ?? null);

  // every (re)connection of the live socket reloads the open alerts: acknowledgements made meanwhile
  // reached the server, not this page
  const [generation, setGeneration] = useState(0);
  const wasOpen = useRef(false);
  useEffect(() => {
    const open = connection.state === 'open';
    if (open && !wasOpen.current) setGeneration((g) => g + 1);
    wasOpen.current = open;
  }, [connection.state]);

  const siteAlerts = useSiteAlerts(api, show.alerts ? site : null, generation);
  const acked = useMemo(
    () => new Set([...Object.keys(state.acked), ...Object.keys(siteAlerts.acked)]),
    [state.acked, siteAlerts.acked],
  );
  const queue = useMemo(
    () =>
      buildQueue({
        site,
        server: siteAlerts.server,
        events: [...state.alerts, ...state.events],
        agents: allAgents,
        acked,
        sinceMs: Date.now() - QUEUE_WINDOW_MS,
      }),
    [site, siteAlerts.server, state.alerts, state.events, allAgents, acked],
  );
  const agents = useMemo(
    () => (site === null ? allAgents : allAgents.filter((a) => a.site === site)),
    [allAgents, site],
  );
  const counts = useMemo((): LineCounts => {
    if (site === null) return state.lineCounts;
    return Object.fromEntries(Object.entries(state.lineCounts).filter(([, c]) => c.site === site));
  }, [state.lineCounts, site]);
  const events = useMemo(
    () => (site === null ? state.events : state.events.filter((e) => e.site === site)),
    [state.events, site],
  );
  const canAck = site !== null && canAt(session, 'alerts:ack', site);
  // the newest passage or line crossing of the site: the charts reload when it changes
  const chartKey = useMemo(
    () =>
      events.find((e) => e.kind === 'access' || (e.kind === 'movement' && e.payload.kind === 'line_crossing'))?.id ??
      null,
    [events],
  );
  const cameras = useMemo(() => camerasOf(site, allAgents, state.tracks), [site, allAgents, state.tracks]);

  return (
    <div className="live-view" data-testid="live-view" data-site={site ?? ''}>
      {sites.length > 1 ? (
        <div className="live-site-picker">
          <label htmlFor="live-site">{t('live.site')}</label>{' '}
          <select id="live-site" data-testid="live-site" value={site ?? ''} onChange={(e) => setChosen(e.target.value)}>
            {sites.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      {show.agents ? <AgentsTable agents={agents} /> : null}
      {show.alerts || show.lineCounts ? (
        <div className={show.alerts && show.lineCounts ? 'panels' : 'panels single'}>
          {show.alerts ? (
            <div>
              <AlertQueue queue={queue} onAck={canAck ? siteAlerts.ack : undefined} />
              {siteAlerts.error ? (
                <p className="muted small" role="status" data-testid="alerts-load-error">
                  {t('live.alerts.loadFailed', { error: siteAlerts.error })}
                </p>
              ) : null}
            </div>
          ) : null}
          {show.lineCounts ? <LineCountsPanel counts={counts} /> : null}
        </div>
      ) : null}
      {show.agents ? <CameraTiles site={site} cameras={cameras} /> : null}
      {site !== null && (show.alerts || show.lineCounts) ? <LiveCharts site={site} changeKey={chartKey} /> : null}
      {show.eventKinds.length > 0 ? (
        <EventsList events={events} kinds={required ? show.eventKinds : undefined} />
      ) : null}
    </div>
  );
}
