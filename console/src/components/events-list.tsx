import { formatDateTime } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import type { EventKind, LiveEvent } from '../live/wire.js';
import { EventDetails } from './event-details.js';

/**
 * `kinds`: the event kinds this account receives, when it does not receive them all; said under the
 * title so an operator does not read "no movement here" into a list that cannot hold any.
 */
export function EventsList({ events, kinds }: { events: LiveEvent[]; kinds?: readonly EventKind[] | undefined }) {
  const { t, lang } = useI18n();
  const partial = kinds !== undefined && kinds.length < 3;
  return (
    <section data-testid="events">
      <h2>{t('events.title')}</h2>
      {partial ? (
        <p className="muted small hint" data-testid="events-kinds" data-kinds={kinds.join(' ')}>
          {t('events.kindsShown', { kinds: kinds.map((k) => t(`event.kind.${k}`).toLowerCase()).join(', ') })}
        </p>
      ) : null}
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
                  <EventDetails e={e} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
