import type { ReactNode } from 'react';
import { formatDateTime, formatNumber } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import type { LiveEvent } from '../live/wire.js';

function Details({ e }: { e: LiveEvent }) {
  const { t, lang } = useI18n();
  const parts: ReactNode[] = [];
  switch (e.kind) {
    case 'camera': {
      const p = e.payload;
      parts.push(
        <span key="s" className={`badge badge-cam-${p.state}`} data-testid="event-camera-state" data-state={p.state}>
          {t(`camera.state.${p.state}`)}
        </span>,
        <span key="c" className="mono small">
          {p.code}
        </span>,
      );
      if (p.reason) parts.push(<span key="r">{p.reason}</span>);
      break;
    }
    case 'access': {
      const p = e.payload;
      const ok = p.decision === 'accepted' || p.decision === 'confirmed';
      parts.push(
        <span
          key="d"
          className={`badge ${ok ? 'badge-online' : 'badge-alert'}`}
          data-testid="event-decision"
          data-decision={p.decision}
        >
          {t(`access.decision.${p.decision}`)}
        </span>,
        <span key="b">{t(p.biometric ? 'access.biometric' : 'access.noBiometric')}</span>,
      );
      if (p.credentialId)
        parts.push(
          <span key="c" className="mono small">
            {t('access.credential', { id: p.credentialId })}
          </span>,
        );
      if (p.scores?.similarity !== undefined) {
        parts.push(
          <span key="s">{t('access.similarity', { value: formatNumber(p.scores.similarity, lang, 2) })}</span>,
        );
      }
      break;
    }
    case 'movement': {
      const p = e.payload;
      const alert = p.kind === 'wrong_way' || p.kind === 'tailgating';
      parts.push(
        <span
          key="k"
          className={`badge ${alert ? 'badge-alert' : 'badge-info'}`}
          data-testid="event-movement-kind"
          data-movement={p.kind}
        >
          {t(`movement.kind.${p.kind}`)}
        </span>,
        <span key="r">{t('movement.rule', { rule: p.rule })}</span>,
      );
      if (p.direction) parts.push(<span key="d">{t(`movement.direction.${p.direction}`)}</span>);
      if (p.counts) parts.push(<span key="c">{t('movement.counts', { in: p.counts.in, out: p.counts.out })}</span>);
      if (p.excess !== undefined) parts.push(<span key="x">{t('movement.excess', { count: p.excess })}</span>);
      break;
    }
  }
  return <span className="details">{parts}</span>;
}

export function EventsList({ events }: { events: LiveEvent[] }) {
  const { t, lang } = useI18n();
  return (
    <section>
      <h2>{t('events.title')}</h2>
      {events.length === 0 ? (
        <p className="muted" data-testid="events-empty">
          {t('events.empty')}
        </p>
      ) : (
        <table className="grid" data-testid="events-table">
          <thead>
            <tr>
              <th>{t('events.col.time')}</th>
              <th>{t('events.col.kind')}</th>
              <th>{t('events.col.source')}</th>
              <th>{t('events.col.details')}</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.id} data-testid="event-row" data-event-id={e.id} data-kind={e.kind}>
                <td className="nowrap" title={e.ts}>
                  {formatDateTime(e.ts, lang)}
                </td>
                <td>{t(`event.kind.${e.kind}`)}</td>
                <td className="mono small">
                  {e.site} / {e.agent} / {e.camera}
                </td>
                <td>
                  <Details e={e} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
