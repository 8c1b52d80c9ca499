import { useEffect, useRef } from 'react';
import { formatDateTime } from '../../format.js';
import { useI18n } from '../../i18n/i18n.js';
import { verdictIcon, type GateCard } from './gate-cards.js';

export interface PassageCardProps {
  card: GateCard;
  /** the newest passage is shown larger */
  large?: boolean;
  canAck: boolean;
  /** when the holder's name arrived (ms since epoch), exposed as `data-holder-at` */
  holderAt?: number | undefined;
  canOverride: boolean;
  onAck: (card: GateCard) => void;
  onOverride: (card: GateCard) => void;
}

/**
 * One passage, readable from 2 m: the verdict in words with its colour and icon, the first name and
 * class in large type, the ID photo where the site keeps them, the time in Paris. `data-received-at`
 * (server receipt) and `data-shown-at` (first frame painted with the card) let a test measure the delay.
 */
export function PassageCard({
  card,
  large = false,
  canAck,
  holderAt,
  canOverride,
  onAck,
  onOverride,
}: PassageCardProps) {
  const { t, lang } = useI18n();
  const ref = useRef<HTMLElement>(null);
  const e = card.event;
  useEffect(() => {
    const el = ref.current;
    if (!el || el.dataset.shownAt) return undefined;
    // the frame that paints the card: when an operator can first see it
    const id = requestAnimationFrame(() => {
      el.dataset.shownAt = String(Date.now());
    });
    return () => cancelAnimationFrame(id);
  }, []);
  const holder = card.holder;
  const name = holder?.firstName ?? '';
  const headline = card.loading ? t('gate.holder.loading') : holder ? holder.firstName : t('gate.holder.unknown');
  const detail = holder ? (holder.kind === 'visitor' ? t('gate.holder.visitor') : (holder.className ?? '')) : '';
  const time = formatDateTime(e.ts, lang) ?? '';
  return (
    <article
      ref={ref}
      tabIndex={0}
      className={`gate-card tone-${card.tone}${large ? ' gate-card-large' : ''}${card.needsAck ? ' gate-card-pending' : ''}`}
      data-testid="gate-card"
      data-event-id={e.id}
      data-site={e.site}
      data-decision={card.decision}
      data-tone={card.tone}
      data-pending={card.needsAck ? 'true' : 'false'}
      data-holder={card.loading ? 'loading' : holder ? 'known' : 'none'}
      data-received-at={e.receivedAt}
      data-holder-at={holderAt}
      aria-label={`${t(`gate.verdict.${card.decision}`)} — ${headline}${detail ? `, ${detail}` : ''} — ${time}`}
    >
      <div className="gate-verdict" data-testid="gate-verdict">
        <span className="gate-icon" aria-hidden="true">
          {verdictIcon(card.decision)}
        </span>
        <span>{t(`gate.verdict.${card.decision}`)}</span>
      </div>
      <div className="gate-body">
        {holder?.photo ? (
          <img
            className="gate-photo"
            data-testid="gate-photo"
            src={`/api/sites/${encodeURIComponent(e.site)}/passages/${encodeURIComponent(e.id)}/photo`}
            alt={t('gate.photo.alt', { name })}
          />
        ) : (
          <div className="gate-photo gate-photo-none" aria-hidden="true">
            {name ? name.slice(0, 1).toUpperCase() : verdictIcon(card.decision)}
          </div>
        )}
        <div className="gate-who">
          <div className="gate-name" data-testid="gate-name">
            {headline}
          </div>
          {detail ? (
            <div className="gate-class" data-testid="gate-class">
              {detail}
            </div>
          ) : null}
          <div className="gate-meta">
            <time dateTime={e.ts} data-testid="gate-time">
              {time}
            </time>
            <span className="muted"> · {t('gate.where', { gate: e.agent, camera: e.camera })}</span>
          </div>
          {card.ack ? (
            <div className="gate-status" data-testid="gate-acked">
              {t('gate.acked', { by: card.ack.by, time: formatDateTime(card.ack.at, lang) ?? '' })}
              {card.ack.note ? ` — ${t('gate.ackNote', { note: card.ack.note })}` : ''}
            </div>
          ) : null}
          {card.override ? (
            <div
              className="gate-status gate-override"
              data-testid="gate-override"
              data-decision={card.override.decision}
            >
              {t(card.override.decision === 'allow' ? 'gate.override.allow' : 'gate.override.deny', {
                by: card.override.by,
                reason: card.override.reason,
              })}
            </div>
          ) : null}
        </div>
      </div>
      {(card.needsAck && canAck) || canOverride ? (
        <div className="gate-actions">
          {card.needsAck && canAck ? (
            <button
              type="button"
              className="gate-btn gate-btn-primary"
              data-testid="gate-ack"
              onClick={() => onAck(card)}
            >
              {t('gate.action.ack')} <kbd>A</kbd>
            </button>
          ) : null}
          {canOverride ? (
            <button type="button" className="gate-btn" data-testid="gate-override-btn" onClick={() => onOverride(card)}>
              {t('gate.action.override')} <kbd>F</kbd>
            </button>
          ) : null}
        </div>
      ) : null}
    </article>
  );
}
