import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useConsole } from '../../api/api-context.js';
import type { SessionInfo } from '../../auth/session.js';
import { useI18n } from '../../i18n/i18n.js';
import { useLiveContext } from '../../shell/live-context.js';
import {
  buildCards,
  commandOfKey,
  gateKey,
  gatesOf,
  GATE_SHORTCUTS,
  isAccess,
  type GateCard,
  type GateCommand,
} from './gate-cards.js';
import { playTone, soundPreference, storeSoundPreference } from './gate-sound.js';
import { PassageCard } from './passage-card.js';
import { PassageDialog, type PassageDialogMode } from './passage-dialog.js';
import { usePassages } from './use-passages.js';
import { VisitorDesk } from './visitor-desk.js';
import './gate.css';

/** Sites where the account holds one of `perms`; null when it holds one everywhere (or auth is off). */
function sitesOf(s: SessionInfo, perms: readonly string[]): Set<string> | null {
  if (s.authMode === 'disabled') return null;
  const out = new Set<string>();
  for (const p of perms) {
    const sites = s.permissions[p];
    if (sites === '*') return null;
    for (const site of sites ?? []) out.add(site);
  }
  return out;
}

function allowedAt(s: SessionInfo, perm: string, site: string): boolean {
  const sites = sitesOf(s, [perm]);
  return sites === null || sites.has(site);
}

const COMMAND_LABEL: Record<GateCommand, `gate.shortcuts.${GateCommand}`> = {
  ack: 'gate.shortcuts.ack',
  override: 'gate.shortcuts.override',
  visitors: 'gate.shortcuts.visitors',
  fullscreen: 'gate.shortcuts.fullscreen',
  sound: 'gate.shortcuts.sound',
  next: 'gate.shortcuts.next',
  previous: 'gate.shortcuts.previous',
  help: 'gate.shortcuts.help',
};

const KEY_LABEL: Record<string, string> = { ArrowDown: '↓', ArrowUp: '↑' };

/**
 * Reception's gate view: one large card per passage, newest first, the verdicts that need a person
 * (face mismatch, suspected spoofing) pinned on top until acknowledged; manual override with a reason;
 * the visitor desk; full screen; every action on the keyboard. Passages come from the shared live
 * socket; who is behind each one from the gate routes (only for this account's sites).
 */
export function GateView() {
  const { t } = useI18n();
  const { api, session } = useConsole();
  const { state, connection } = useLiveContext();
  const rootRef = useRef<HTMLElement>(null);
  const [gate, setGate] = useState<string | null>(null);
  const [sound, setSound] = useState(soundPreference);
  const [fullscreen, setFullscreen] = useState(false);
  const [dialog, setDialog] = useState<{ mode: PassageDialogMode; card: GateCard } | null>(null);
  const [visitorsOpen, setVisitorsOpen] = useState(false);
  const [helpOpen, setHelpOpen] = useState(true);

  const liveAccess = useMemo(() => state.events.filter(isAccess), [state.events]);
  const agents = useMemo(() => Object.values(state.agents), [state.agents]);
  const seenSites = useMemo(
    () => [...new Set([...liveAccess.map((e) => e.site), ...agents.map((a) => a.site)])].sort(),
    [liveAccess, agents],
  );
  const gateSites = useMemo(() => {
    const own = sitesOf(session, ['overrides:write', 'photos:read']);
    return own === null ? seenSites : [...own].sort();
  }, [session, seenSites]);
  const visitorSites = useMemo(() => {
    const own = sitesOf(session, ['visitors:write']);
    return own === null ? seenSites : [...own].sort();
  }, [session, seenSites]);

  const passages = usePassages(api, liveAccess, gateSites, connection);
  const allEvents = useMemo(() => [...liveAccess, ...passages.pendingEvents], [liveAccess, passages.pendingEvents]);
  const gates = useMemo(() => gatesOf(allEvents, agents), [allEvents, agents]);
  const cards = useMemo(
    () => buildCards({ events: allEvents, info: passages.info, pushed: state.passageActions, gate }),
    [allEvents, passages.info, state.passageActions, gate],
  );

  // sound: once per new passage, not for what the page found on opening
  const heard = useRef<Set<string> | null>(null);
  useEffect(() => {
    const ids = allEvents.map((e) => e.id);
    if (heard.current === null) {
      if (state.synced) heard.current = new Set(ids);
      return;
    }
    for (const e of allEvents) {
      if (heard.current.has(e.id)) continue;
      heard.current.add(e.id);
      if (sound && (gate === null || gateKey(e) === gate)) {
        const card = [...cards.pending, ...cards.recent].find((c) => c.event.id === e.id);
        if (card) playTone(card.tone);
      }
    }
  }, [allEvents, state.synced, sound, gate, cards]);

  useEffect(() => {
    const onChange = () => setFullscreen(document.fullscreenElement !== null);
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);
  const toggleFullscreen = useCallback(() => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void rootRef.current?.requestFullscreen?.();
  }, []);
  const toggleSound = useCallback(() => {
    setSound((on) => {
      storeSoundPreference(!on);
      return !on;
    });
  }, []);

  const cardOf = useCallback(
    (el: Element | null): GateCard | null => {
      const id = el?.closest?.('[data-testid="gate-card"]')?.getAttribute('data-event-id');
      return [...cards.pending, ...cards.recent].find((c) => c.event.id === id) ?? null;
    },
    [cards],
  );
  const focusCard = useCallback((id: string | null) => {
    const root = rootRef.current;
    if (!root) return;
    const target = id ? root.querySelector<HTMLElement>(`[data-testid="gate-card"][data-event-id="${id}"]`) : null;
    (target ?? root.querySelector<HTMLElement>('[data-testid="gate-card"]') ?? root).focus();
  }, []);

  const act = useCallback(
    async (
      mode: PassageDialogMode,
      card: GateCard,
      input: { note: string } | { decision: 'allow' | 'deny'; reason: string },
    ): Promise<string | null> => {
      const base = `/api/sites/${encodeURIComponent(card.event.site)}/passages/${encodeURIComponent(card.event.id)}`;
      const res = await api.send<{ passage: Parameters<typeof passages.remember>[0] }>(
        'POST',
        `${base}/${mode}`,
        input,
      );
      if (!res.ok) return res.message ?? res.error;
      passages.remember(res.value.passage);
      return null;
    },
    [api, passages],
  );

  const closeDialog = useCallback(() => {
    const was = dialog?.card;
    setDialog(null);
    // after an acknowledgement, on to the next card to handle
    if (was && was.needsAck) {
      const next = cards.pending.find((c) => c.event.id !== was.event.id);
      requestAnimationFrame(() => focusCard(next?.event.id ?? null));
    }
  }, [dialog, cards, focusCard]);

  const run = useCallback(
    (command: GateCommand) => {
      const focused = cardOf(document.activeElement);
      switch (command) {
        case 'ack': {
          const card = focused?.needsAck ? focused : cards.pending[0];
          if (card && allowedAt(session, 'overrides:write', card.event.site)) setDialog({ mode: 'ack', card });
          return;
        }
        case 'override': {
          const card = focused ?? cards.pending[0] ?? cards.recent[0];
          if (card && allowedAt(session, 'overrides:write', card.event.site)) setDialog({ mode: 'override', card });
          return;
        }
        case 'visitors':
          if (visitorSites.length > 0) setVisitorsOpen(true);
          return;
        case 'fullscreen':
          toggleFullscreen();
          return;
        case 'sound':
          toggleSound();
          return;
        case 'help':
          setHelpOpen((o) => !o);
          return;
        case 'next':
        case 'previous': {
          const all = [...(rootRef.current?.querySelectorAll<HTMLElement>('[data-testid="gate-card"]') ?? [])];
          if (all.length === 0) return;
          const i = all.findIndex((el) => el === document.activeElement);
          const j = i < 0 ? 0 : Math.max(0, Math.min(all.length - 1, i + (command === 'next' ? 1 : -1)));
          all[j]!.focus();
          return;
        }
      }
    },
    [cardOf, cards, session, visitorSites, toggleFullscreen, toggleSound],
  );

  useEffect(() => {
    const onKey = (ev: KeyboardEvent) => {
      if (dialog || visitorsOpen || ev.defaultPrevented) return;
      const target = ev.target as HTMLElement | null;
      if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
      const command = commandOfKey(ev.key, { ctrl: ev.ctrlKey, alt: ev.altKey, meta: ev.metaKey });
      if (!command) return;
      ev.preventDefault();
      run(command);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [dialog, visitorsOpen, run]);

  const canOverride = (c: GateCard) => allowedAt(session, 'overrides:write', c.event.site);
  const render = (c: GateCard, large = false) => (
    <PassageCard
      key={c.event.id}
      card={c}
      large={large}
      canAck={canOverride(c)}
      holderAt={passages.resolvedAt.get(c.event.id)}
      canOverride={canOverride(c)}
      onAck={(card) => setDialog({ mode: 'ack', card })}
      onOverride={(card) => setDialog({ mode: 'override', card })}
    />
  );

  return (
    <section
      ref={rootRef}
      tabIndex={-1}
      className={`gate-view${fullscreen ? ' gate-fullscreen' : ''}`}
      data-testid="gate-view"
      aria-labelledby="gate-title"
    >
      <div className="gate-toolbar">
        <h2 id="gate-title">{t('gate.title')}</h2>
        {gates.length > 1 ? (
          <label className="gate-filter">
            <span>{t('gate.filter.label')}</span>
            <select
              value={gate ?? ''}
              onChange={(ev) => setGate(ev.target.value === '' ? null : ev.target.value)}
              data-testid="gate-filter"
            >
              <option value="">{t('gate.filter.all')}</option>
              {gates.map((g) => (
                <option key={g} value={g}>
                  {g.replace('/', ' · ')}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <div className="gate-tools">
          {visitorSites.length > 0 ? (
            <button
              type="button"
              className="gate-btn"
              onClick={() => setVisitorsOpen(true)}
              data-testid="gate-visitors"
            >
              {t('gate.visitors.open')} <kbd>V</kbd>
            </button>
          ) : null}
          <button
            type="button"
            className="gate-btn"
            aria-pressed={sound}
            onClick={toggleSound}
            data-testid="gate-sound"
          >
            {t(sound ? 'gate.sound.on' : 'gate.sound.off')} <kbd>S</kbd>
          </button>
          <button type="button" className="gate-btn" onClick={toggleFullscreen} data-testid="gate-fullscreen">
            {t(fullscreen ? 'gate.fullscreen.exit' : 'gate.fullscreen.enter')} <kbd>P</kbd>
          </button>
        </div>
      </div>
      {connection.state !== 'open' && state.synced ? (
        <p role="status" className="gate-banner" data-testid="gate-conn-lost">
          {t('gate.conn.lost')}
        </p>
      ) : null}
      {passages.error ? (
        <p role="alert" className="gate-banner" data-testid="gate-error">
          {t('gate.error.load', { error: passages.error })}
        </p>
      ) : null}
      {cards.pending.length > 0 ? (
        <section className="gate-pending" aria-labelledby="gate-pending-title" data-testid="gate-pending">
          <h3 id="gate-pending-title">{t('gate.pending.title', { count: cards.pending.length })}</h3>
          <p className="muted">{t('gate.pending.hint')}</p>
          <div className="gate-cards">{cards.pending.map((c) => render(c))}</div>
        </section>
      ) : null}
      <section className="gate-recent" aria-labelledby="gate-recent-title" data-testid="gate-recent">
        <h3 id="gate-recent-title">{t('gate.recent.title')}</h3>
        {cards.recent.length === 0 ? (
          <p className="muted gate-empty" data-testid="gate-empty">
            {t('gate.empty')}
          </p>
        ) : (
          <div className="gate-cards" aria-live="polite">
            {cards.recent.map((c, i) => render(c, i === 0))}
          </div>
        )}
      </section>
      {helpOpen ? (
        <footer className="gate-shortcuts" data-testid="gate-shortcuts" aria-label={t('gate.shortcuts.title')}>
          <strong>{t('gate.shortcuts.title')}</strong>
          {GATE_SHORTCUTS.map((s) => (
            <span key={s.command}>
              {s.keys.map((k) => (
                <kbd key={k}>{KEY_LABEL[k] ?? k.toUpperCase()}</kbd>
              ))}{' '}
              {t(COMMAND_LABEL[s.command])}
            </span>
          ))}
          <span>
            <kbd>{t('gate.key.escape')}</kbd> {t('gate.shortcuts.escape')}
          </span>
          <span className="muted">{t('gate.shortcuts.hint')}</span>
        </footer>
      ) : null}
      {dialog ? (
        <PassageDialog
          mode={dialog.mode}
          card={dialog.card}
          onSubmit={(input) => act(dialog.mode, dialog.card, input)}
          onClose={closeDialog}
        />
      ) : null}
      {visitorsOpen ? <VisitorDesk api={api} sites={visitorSites} onClose={() => setVisitorsOpen(false)} /> : null}
    </section>
  );
}
