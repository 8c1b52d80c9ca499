import type { Health } from '@portail/protocol';
import { formatDateTime, formatNumber } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import type { AgentView } from '../live/wire.js';

function detectionTotals(health: Health | null, kind: 'face' | 'person'): { total: number; interval: number } | null {
  const ds = health?.detectors.filter((d) => d.kind === kind) ?? [];
  if (ds.length === 0) return null;
  return {
    total: ds.reduce((s, d) => s + d.detections, 0),
    interval: ds.reduce((s, d) => s + d.detectionsInInterval, 0),
  };
}

function providers(a: AgentView): string[] {
  const fromHealth = a.health?.detectors.map((d) => d.provider) ?? [];
  const fromStatus = a.status?.models?.flatMap((m) => (m.provider ? [m.provider] : [])) ?? [];
  return [...new Set(fromHealth.length ? fromHealth : fromStatus)];
}

function Detections({ a, kind }: { a: AgentView; kind: 'face' | 'person' }) {
  const { t, lang } = useI18n();
  const d = detectionTotals(a.health, kind);
  if (!d) return <span className="muted">{t('common.none')}</span>;
  return (
    <>
      <span data-testid={`det-${kind}`} data-value={d.total}>
        {formatNumber(d.total, lang, 0)}
      </span>{' '}
      <span
        className="muted small"
        data-testid={`det-${kind}-interval`}
        title={t('agents.detInterval', { count: d.interval })}
      >
        +{formatNumber(d.interval, lang, 0)}
      </span>
    </>
  );
}

function AgentRow({ a }: { a: AgentView }) {
  const { t, lang } = useI18n();
  const none = <span className="muted">{t('common.none')}</span>;
  const provs = providers(a);
  const reason = a.status?.reason;
  return (
    <tr data-testid={`agent-row-${a.site}-${a.agent}`} className={a.state === 'online' ? '' : 'dimmed'}>
      <td>{a.site}</td>
      <td className="mono">{a.agent}</td>
      <td>
        <span
          data-testid="agent-state"
          data-state={a.state}
          className={`badge badge-${a.state}`}
          title={reason ? t(`agent.reason.${reason}`) : undefined}
        >
          {t(`agent.state.${a.state}`)}
        </span>
      </td>
      <td data-testid="last-seen" title={a.lastSeen ?? undefined}>
        {formatDateTime(a.lastSeen, lang) ?? none}
      </td>
      <td data-testid="version">{a.status?.version ?? none}</td>
      <td data-testid="provider">{provs.length ? provs.join(', ') : none}</td>
      <td data-testid="fps">
        {a.health?.cameras.length
          ? a.health.cameras.map((c) => (
              <div key={c.id} data-testid={`fps-${c.id}`} data-fps={c.fps} title={t(`camera.state.${c.state}`)}>
                <span className="mono">{c.id}</span> {formatNumber(c.fps, lang)}
                {c.state !== 'online' ? (
                  <span className="badge badge-warn small"> {t(`camera.state.${c.state}`)}</span>
                ) : null}
              </div>
            ))
          : none}
      </td>
      <td data-testid="latency">
        {a.health && Object.keys(a.health.stages).length
          ? Object.entries(a.health.stages).map(([stage, l]) => (
              <div key={stage} data-testid={`latency-${stage}`}>
                <span className="mono">{stage}</span> {formatNumber(l.p50Ms, lang)} / {formatNumber(l.p95Ms, lang)}
              </div>
            ))
          : none}
      </td>
      <td>
        <Detections a={a} kind="face" />
      </td>
      <td>
        <Detections a={a} kind="person" />
      </td>
    </tr>
  );
}

export function AgentsTable({ agents }: { agents: AgentView[] }) {
  const { t } = useI18n();
  return (
    <section>
      <h2>{t('agents.title')}</h2>
      {agents.length === 0 ? (
        <p className="muted" data-testid="agents-empty">
          {t('agents.empty')}
        </p>
      ) : (
        <table className="grid" data-testid="agents-table">
          <thead>
            <tr>
              <th>{t('agents.col.site')}</th>
              <th>{t('agents.col.agent')}</th>
              <th>{t('agents.col.state')}</th>
              <th>{t('agents.col.lastSeen')}</th>
              <th>{t('agents.col.version')}</th>
              <th>{t('agents.col.provider')}</th>
              <th>{t('agents.col.fps')}</th>
              <th>{t('agents.col.latency')}</th>
              <th>{t('agents.col.faces')}</th>
              <th>{t('agents.col.persons')}</th>
            </tr>
          </thead>
          <tbody>
            {agents.map((a) => (
              <AgentRow key={`${a.site}/${a.agent}`} a={a} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
