import { useState } from 'react';
import { alertLabel } from '../event-labels.js';
import { formatDateTime, formatNumber } from '../format.js';
import { useI18n, type MessageKey } from '../i18n/i18n.js';
import {
  groupByKind,
  queueGroupOf,
  queueSeverity,
  type QueueAlert,
  type QueueGroup,
  type QueueKind,
} from '../live/alerts.js';
import { EventDetails } from './event-details.js';

/** What acknowledging returned: done (by us or, a moment before, by someone else), or a message to show. */
export type AckOutcome = { ok: true } | { ok: false; message: string };

export interface AlertQueueProps {
  queue: readonly QueueAlert[];
  /** the account may acknowledge (`alerts:ack` at the site); otherwise the queue is read-only */
  onAck?: ((alert: QueueAlert, note: string) => Promise<AckOutcome>) | undefined;
}

export const MAX_NOTE_CHARS = 500;

const GROUP_TITLE: Record<QueueGroup, MessageKey> = {
  people: 'live.alerts.people',
  equipment: 'live.alerts.equipment',
};

function kindLabelKey(kind: QueueKind): MessageKey {
  switch (kind) {
    case 'camera_offline':
      return 'live.alert.camera_offline';
    case 'agent_offline':
      return 'live.alert.agent_offline';
    case 'mismatch':
    case 'spoof_suspected':
    case 'tailgating':
    case 'wrong_way':
    case 'zone_entry':
      return `alert.${kind}`;
  }
}

function AlertHeadline({ a }: { a: QueueAlert }) {
  const { t, lang } = useI18n();
  if (a.kind === 'camera_offline' || a.kind === 'agent_offline' || !a.event) return <>{t(kindLabelKey(a.kind))}</>;
  return <>{alertLabel(lang, a.kind, a.event)}</>;
}

function AckForm({ a, onAck }: { a: QueueAlert; onAck: NonNullable<AlertQueueProps['onAck']> }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    setBusy(true);
    setError(null);
    const r = await onAck(a, note);
    // on success the alert leaves the queue and this form with it
    if (!r.ok) {
      setError(r.message);
      setBusy(false);
    }
  };
  if (!open) {
    return (
      <button type="button" className="ack-button" data-testid="alert-ack" onClick={() => setOpen(true)}>
        {t('live.ack.button')}
      </button>
    );
  }
  const noteId = `ack-note-${a.id}`;
  return (
    <form
      className="ack-form"
      data-testid="alert-ack-form"
      onSubmit={(ev) => {
        ev.preventDefault();
        void submit();
      }}
    >
      <label htmlFor={noteId} className="small">
        {t('live.ack.noteLabel')}
      </label>
      <textarea
        id={noteId}
        data-testid="alert-ack-note"
        rows={2}
        maxLength={MAX_NOTE_CHARS}
        value={note}
        // the operator asked to acknowledge: the note is where the keyboard goes
        autoFocus
        onChange={(ev) => setNote(ev.target.value)}
        onKeyDown={(ev) => {
          if (ev.key === 'Escape') setOpen(false);
        }}
        placeholder={t('live.ack.notePlaceholder')}
      />
      <div className="ack-actions">
        <button type="submit" data-testid="alert-ack-confirm" disabled={busy}>
          {t('live.ack.confirm')}
        </button>
        <button type="button" className="secondary" onClick={() => setOpen(false)} disabled={busy}>
          {t('live.ack.cancel')}
        </button>
      </div>
      {error ? (
        <p role="alert" className="ack-error small" data-testid="alert-ack-error">
          {error}
        </p>
      ) : null}
    </form>
  );
}

function AlertItem({ a, onAck }: { a: QueueAlert; onAck: AlertQueueProps['onAck'] }) {
  const { t, lang } = useI18n();
  const severity = queueSeverity(a.kind);
  return (
    <li
      className={`alert alert-${severity}`}
      data-testid="alert-item"
      data-alert-kind={a.kind}
      data-severity={severity}
      data-event-id={a.id}
      data-alert-id={a.id}
    >
      <div className="alert-head">
        <strong data-testid="alert-label">
          <AlertHeadline a={a} />
        </strong>
        <time className="muted small nowrap" dateTime={a.ts} title={a.ts}>
          {a.kind === 'agent_offline'
            ? t('live.alert.since', { time: formatDateTime(a.ts, lang) ?? a.ts })
            : formatDateTime(a.ts, lang)}
        </time>
      </div>
      <div className="alert-body">
        <span className="mono small">
          {a.site} / {a.agent}
          {a.camera ? ` / ${a.camera}` : ''}
        </span>
        {a.event ? <EventDetails e={a.event} headline={false} /> : null}
        {a.kind === 'agent_offline' && a.reason ? (
          <span className="small muted"> {t(`agent.reason.${a.reason}` as MessageKey)}</span>
        ) : null}
      </div>
      {onAck ? <AckForm a={a} onAck={onAck} /> : null}
    </li>
  );
}

/**
 * The supervisors' queue: people alerts (a person should go and look) above equipment alerts (a
 * device to fix), each grouped by kind with its count, newest first. Acknowledging (with an
 * optional note) removes an alert for every supervisor of the site.
 */
export function AlertQueue({ queue, onAck }: AlertQueueProps) {
  const { t, lang } = useI18n();
  const byGroup: Record<QueueGroup, QueueAlert[]> = { people: [], equipment: [] };
  for (const a of queue) byGroup[queueGroupOf(a.kind)].push(a);
  return (
    <section data-testid="alert-queue" aria-labelledby="alerts-title" className="alert-queue">
      <h2 id="alerts-title">
        {t('alerts.title')}{' '}
        {queue.length > 0 ? (
          <span
            className="count-chip"
            data-testid="alerts-count"
            data-count={queue.length}
            title={t('alerts.count', { count: queue.length })}
          >
            {formatNumber(queue.length, lang, 0)}
          </span>
        ) : null}
      </h2>
      <p className="muted small hint">{t(onAck ? 'live.alerts.hintAck' : 'alerts.hint')}</p>
      {queue.length === 0 ? (
        <p className="muted" data-testid="alerts-empty">
          {t('alerts.empty')}
        </p>
      ) : (
        (['people', 'equipment'] as const).map((group) =>
          byGroup[group].length === 0 ? null : (
            <div key={group} className={`alert-section alert-section-${group}`} data-testid={`alert-section-${group}`}>
              <h3 className="small">
                {t(GROUP_TITLE[group])}{' '}
                <span className="count-chip" data-testid={`alerts-count-${group}`} data-count={byGroup[group].length}>
                  {formatNumber(byGroup[group].length, lang, 0)}
                </span>
              </h3>
              {groupByKind(byGroup[group]).map((g) => (
                <div key={g.kind} className="alert-group" data-testid="alert-group" data-kind={g.kind}>
                  <h4 className="alert-group-title small">
                    {t(kindLabelKey(g.kind))}{' '}
                    <span className="muted" data-testid="alert-group-count" data-count={g.items.length}>
                      ({formatNumber(g.items.length, lang, 0)})
                    </span>
                  </h4>
                  {/* polite: a screen reader announces a new alert without cutting the operator off */}
                  <ol className="alerts" aria-live="polite">
                    {g.items.map((a) => (
                      <AlertItem key={a.id} a={a} onAck={onAck} />
                    ))}
                  </ol>
                </div>
              ))}
            </div>
          ),
        )
      )}
    </section>
  );
}
