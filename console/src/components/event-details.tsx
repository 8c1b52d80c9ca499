import type { AccessEvent, CameraEvent, MovementEvent } from '@portail/protocol';
import type { ReactNode } from 'react';
import { decisionTone, movementRuleKey, movementTone } from '../event-labels.js';
import { formatNumber } from '../format.js';
import { useI18n, type Lang, type MessageKey, type Params } from '../i18n/i18n.js';
import type { LiveEvent } from '../live/wire.js';

// Events carry pseudonymous ids, scores and boxes only: nothing here can show a name or an image.

type T = (key: MessageKey, params?: Params) => string;

function cameraParts(p: CameraEvent, t: T): ReactNode[] {
  const parts: ReactNode[] = [
    <span key="s" className={`badge badge-cam-${p.state}`} data-testid="event-camera-state" data-state={p.state}>
      {t(`camera.state.${p.state}`)}
    </span>,
    <span key="c" className="mono small">
      {p.code}
    </span>,
  ];
  if (p.reason) parts.push(<span key="r">{p.reason}</span>);
  return parts;
}

function accessParts(p: AccessEvent, headline: boolean, t: T, lang: Lang): ReactNode[] {
  const parts: ReactNode[] = [];
  if (headline) {
    parts.push(
      <span
        key="d"
        className={`badge badge-${decisionTone(p.decision)}`}
        data-testid="event-decision"
        data-decision={p.decision}
        data-tone={decisionTone(p.decision)}
      >
        {t(`access.decision.${p.decision}`)}
      </span>,
    );
  }
  if (p.credentialId) {
    parts.push(
      <span key="c" className="mono small" data-testid="event-credential" title={t('access.credentialTitle')}>
        {t('access.credential', { id: p.credentialId })}
      </span>,
    );
  }
  parts.push(
    <span key="b" data-testid="event-biometric" data-biometric={String(p.biometric)}>
      {t(p.biometric ? 'access.biometric' : 'access.noBiometric')}
    </span>,
  );
  if (p.scores?.similarity !== undefined) {
    parts.push(
      <span key="s" className="muted">
        {t('access.similarity', { value: formatNumber(p.scores.similarity, lang, 2) })}
      </span>,
    );
  }
  return parts;
}

function movementParts(p: MovementEvent, headline: boolean, t: T): ReactNode[] {
  const parts: ReactNode[] = [];
  if (headline) {
    parts.push(
      <span
        key="k"
        className={`badge badge-${movementTone(p.kind)}`}
        data-testid="event-movement-kind"
        data-movement={p.kind}
        data-tone={movementTone(p.kind)}
      >
        {t(`movement.kind.${p.kind}`)}
      </span>,
    );
  }
  parts.push(
    <span key="r" data-testid="event-rule" data-rule={p.rule}>
      {t(movementRuleKey(p.kind), { rule: p.rule })}
    </span>,
  );
  if (p.direction) {
    parts.push(
      <span key="d" data-testid="event-direction" data-direction={p.direction}>
        {t('movement.direction', { direction: t(`movement.direction.${p.direction}`) })}
      </span>,
    );
  }
  if (p.counts) {
    parts.push(
      <span key="c" data-testid="event-counts" data-in={p.counts.in} data-out={p.counts.out}>
        {t('movement.counts', { in: p.counts.in, out: p.counts.out })}
      </span>,
    );
  }
  if (p.excess !== undefined && headline) parts.push(<span key="x">{t('movement.excess', { count: p.excess })}</span>);
  if (p.trackId) {
    parts.push(
      <span key="t" className="mono small muted" data-testid="event-track" title={t('movement.trackTitle')}>
        {t('movement.track', { id: p.trackId })}
      </span>,
    );
  }
  return parts;
}

/**
 * The readable body of an event. `headline` off drops the leading kind/decision badge, for places
 * (the alert queue) that already show their own headline.
 */
export function EventDetails({ e, headline = true }: { e: LiveEvent; headline?: boolean }) {
  const { t, lang } = useI18n();
  const parts =
    e.kind === 'camera'
      ? cameraParts(e.payload, t)
      : e.kind === 'access'
        ? accessParts(e.payload, headline, t, lang)
        : movementParts(e.payload, headline, t);
  return <span className="details">{parts}</span>;
}
