import { alertLabel } from '../event-labels.js';
import { formatDateTime, formatNumber } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import { alertKindOf, alertSeverity } from '../live/alerts.js';
import type { LiveEvent } from '../live/wire.js';
import { EventDetails } from './event-details.js';

/**
 * Movement alerts and gate verdicts that need a person, newest first. Read-only for now: marking an
 * alert as handled needs the server to store who acknowledged what.
 */
export function AlertQueue({ alerts }: { alerts: LiveEvent[] }) {
  const { t, lang } = useI18n();
  const items = alerts.flatMap((e) => {
    const kind = alertKindOf(e);
    return kind ? [{ e, kind }] : [];
  });
  return (
    <section data-testid="alert-queue" aria-labelledby="alerts-title">
      <h2 id="alerts-title">
        {t('alerts.title')}{' '}
        {items.length > 0 ? (
          <span
            className="count-chip"
            data-testid="alerts-count"
            data-count={items.length}
            title={t('alerts.count', { count: items.length })}
          >
            {formatNumber(items.length, lang, 0)}
          </span>
        ) : null}
      </h2>
      <p className="muted small hint">{t('alerts.hint')}</p>
      {items.length === 0 ? (
        <p className="muted" data-testid="alerts-empty">
          {t('alerts.empty')}
        </p>
      ) : (
        // polite: a screen reader announces a new alert without cutting the operator off
        <ol className="alerts" aria-live="polite">
          {items.map(({ e, kind }) => {
            const severity = alertSeverity(kind);
            return (
              <li
                key={e.id}
                className={`alert alert-${severity}`}
                data-testid="alert-item"
                data-alert-kind={kind}
                data-severity={severity}
                data-event-id={e.id}
              >
                <div className="alert-head">
                  <strong data-testid="alert-label">{alertLabel(lang, kind, e)}</strong>
                  <time className="muted small nowrap" dateTime={e.ts} title={e.ts}>
                    {formatDateTime(e.ts, lang)}
                  </time>
                </div>
                <div className="alert-body">
                  <span className="mono small">
                    {e.site} / {e.agent} / {e.camera}
                  </span>
                  <EventDetails e={e} headline={false} />
                </div>
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}
