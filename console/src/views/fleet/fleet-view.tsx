import { useEffect, useMemo, useState } from 'react';
import { useConsole } from '../../api/api-context.js';
import { EventsList } from '../../components/events-list.js';
import { formatDateTime, formatNumber } from '../../format.js';
import { useI18n, type MessageKey } from '../../i18n/i18n.js';
import { useLiveContext } from '../../shell/live-context.js';
import {
  FLEET_ALERT_KINDS,
  liveFleet,
  siteHealth,
  type FleetAgentRow,
  type FleetResponse,
  type FleetSiteRow,
} from './fleet-model.js';
import './fleet.css';

/** How often the alert counts and published sync versions are fetched again (agents are live). */
const REFRESH_MS = 30_000;

/**
 * Regional IT: every site and agent at a glance (online/offline, fps, latency, outbox depth,
 * versions, sync version held against published, alerts of the last hour per site). Machine figures
 * and counts only: the API behind it returns no student data, and nothing here would show any.
 */
export function FleetView() {
  const { t, lang } = useI18n();
  const { api } = useConsole();
  const { state } = useLiveContext();
  const [fetched, setFetched] = useState<FleetResponse | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stopped = false;
    const load = async () => {
      const r = await api.get<FleetResponse>('/api/fleet');
      if (stopped) return;
      if (r.ok) {
        setFetched(r.value);
        setError(null);
      } else setError(r.message ?? r.error);
    };
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [api]);

  const fleet = useMemo(() => liveFleet(fetched, state.agents), [fetched, state.agents]);
  // camera online/offline/stalled only: machine events, whatever else the account may read elsewhere
  const cameraEvents = useMemo(() => state.events.filter((e) => e.kind === 'camera'), [state.events]);
  const online = fleet.agents.filter((a) => a.state === 'online').length;
  const alerts = fleet.sites.reduce((n, s) => n + s.alertsLastHour.total, 0);

  return (
    <main className="fleet" data-testid="fleet-view">
      <h2>{t('fleet.title')}</h2>
      <p className="fleet-summary" data-testid="fleet-summary">
        {t('fleet.summary', { sites: fleet.sites.length, online, total: fleet.agents.length, alerts })}
      </p>
      {error ? (
        <p className="fleet-error" role="alert" data-testid="fleet-error">
          {t('fleet.loadError', { reason: error })}
        </p>
      ) : null}
      {fleet.sites.length === 0 ? (
        <p className="muted" data-testid="fleet-empty">
          {t('fleet.empty')}
        </p>
      ) : (
        <div className="fleet-sites">
          {fleet.sites.map((s) => (
            <SiteCard key={s.site} s={s} />
          ))}
        </div>
      )}
      {fleet.agents.length > 0 ? (
        <section>
          <h3>{t('fleet.agents.title')}</h3>
          <table className="grid fleet-agents" data-testid="fleet-agents">
            <thead>
              <tr>
                <th>{t('fleet.col.site')}</th>
                <th>{t('fleet.col.agent')}</th>
                <th>{t('fleet.col.state')}</th>
                <th>{t('fleet.col.lastSeen')}</th>
                <th>{t('fleet.col.version')}</th>
                <th>{t('fleet.col.provider')}</th>
                <th>{t('fleet.col.cameras')}</th>
                <th className="num">{t('fleet.col.fps')}</th>
                <th className="num">{t('fleet.col.latency')}</th>
                <th className="num">{t('fleet.col.outbox')}</th>
                <th>{t('fleet.col.sync')}</th>
              </tr>
            </thead>
            <tbody>
              {fleet.agents.map((a) => (
                <AgentRow
                  key={`${a.site}/${a.agent}`}
                  a={a}
                  published={fleet.sites.find((s) => s.site === a.site)?.sync.published ?? null}
                />
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      <EventsList events={cameraEvents} kinds={['camera']} />
      <p className="muted small" data-testid="fleet-updated">
        {t('fleet.updated', { at: formatDateTime(fetched?.generatedAt ?? null, lang) ?? t('fleet.none') })}
      </p>
    </main>
  );
}

function SiteCard({ s }: { s: FleetSiteRow }) {
  const { t, lang } = useI18n();
  const health = siteHealth(s);
  const none = t('fleet.none');
  const kinds = FLEET_ALERT_KINDS.filter((k) => (s.alertsLastHour[k] ?? 0) > 0);
  return (
    <article className={`fleet-site fleet-site-${health}`} data-testid={`fleet-site-${s.site}`} data-health={health}>
      <header>
        <span className="mono fleet-site-id">{s.site}</span>
        <span className={`badge badge-${health === 'ok' ? 'ok' : health === 'bad' ? 'bad' : 'warn'}`}>
          {t(`fleet.health.${health}`)}
        </span>
      </header>
      <dl>
        <dt>{t('fleet.site.agents')}</dt>
        <dd data-testid="fleet-site-agents">
          {s.agents.online} / {s.agents.total}
        </dd>
        <dt>{t('fleet.site.alerts')}</dt>
        <dd data-testid="fleet-site-alerts">
          {s.alertsLastHour.total === 0
            ? t('fleet.site.noAlerts')
            : kinds.map((k) => (
                <span key={k} className="count-chip" data-kind={k}>
                  {t(`fleet.alert.${k}` as MessageKey)} {s.alertsLastHour[k]}
                </span>
              ))}
        </dd>
        <dt>{t('fleet.site.worstFps')}</dt>
        <dd>{s.worst.fps === null ? none : formatNumber(s.worst.fps, lang)}</dd>
        <dt>{t('fleet.site.worstLatency')}</dt>
        <dd>
          {s.worst.latencyP95Ms === null ? none : t('fleet.ms', { ms: formatNumber(s.worst.latencyP95Ms, lang, 0) })}
        </dd>
        <dt>{t('fleet.site.outbox')}</dt>
        <dd>{s.worst.outboxDepth === null ? none : formatNumber(s.worst.outboxDepth, lang, 0)}</dd>
        <dt>{t('fleet.site.versions')}</dt>
        <dd className="mono">{s.versions.length ? s.versions.join(', ') : none}</dd>
        <dt>{t('fleet.site.sync')}</dt>
        <dd data-testid="fleet-site-sync">
          {s.sync.published === null
            ? t('fleet.sync.none')
            : t('fleet.sync.summary', { version: s.sync.published, upToDate: s.sync.upToDate, behind: s.sync.behind })}
        </dd>
      </dl>
    </article>
  );
}

function AgentRow({ a, published }: { a: FleetAgentRow; published: number | null }) {
  const { t, lang } = useI18n();
  const none = t('fleet.none');
  const stateClass = a.state === 'online' ? 'badge-ok' : a.state === 'offline' ? 'badge-bad' : 'badge-unknown';
  const behind = published !== null && a.syncVersion !== published;
  return (
    <tr className={a.state === 'online' ? undefined : 'dimmed'} data-testid={`fleet-agent-${a.site}-${a.agent}`}>
      <td className="mono">{a.site}</td>
      <td className="mono">{a.agent}</td>
      <td>
        <span className={`badge ${stateClass}`} data-testid="fleet-agent-state" data-state={a.state}>
          {t(`fleet.state.${a.state}`)}
        </span>
      </td>
      <td title={a.lastSeen ?? undefined}>{formatDateTime(a.lastSeen, lang) ?? none}</td>
      <td className="mono">{a.version ?? none}</td>
      <td>{a.providers.length ? a.providers.join(', ') : none}</td>
      <td>
        {a.cameras.online} / {a.cameras.total}
      </td>
      <td className="num" data-testid="fleet-agent-fps">
        {a.fps === null ? none : formatNumber(a.fps, lang)}
      </td>
      <td className="num">
        {a.latencyP95Ms === null ? none : t('fleet.ms', { ms: formatNumber(a.latencyP95Ms, lang, 0) })}
      </td>
      <td className="num">{a.outboxDepth === null ? none : formatNumber(a.outboxDepth, lang, 0)}</td>
      <td className={behind ? 'fleet-behind' : undefined}>
        {a.syncVersion === null ? none : String(a.syncVersion)}
        {published !== null ? <span className="muted"> / {published}</span> : null}
      </td>
    </tr>
  );
}
