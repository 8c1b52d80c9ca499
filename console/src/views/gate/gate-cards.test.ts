// The gate view's pure logic (which passages become cards, which stay until acknowledged, the
// keyboard map) and one card rendered to HTML in node, in French. The e2e test drives the real page.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { accessEvent, at } from '../../live/event-fixtures.js';
import type { LiveEvent } from '../../live/wire.js';
import {
  buildCards,
  commandOfKey,
  defaultOverride,
  gatesOf,
  missingBySite,
  type AccessLiveEvent,
  type GateCard,
  type PassageInfo,
} from './gate-cards.js';
import { PassageCard } from './passage-card.js';
import { PassageDialog } from './passage-dialog.js';

const access = (
  s: number,
  decision: AccessLiveEvent['payload']['decision'],
  where: { agent?: string; site?: string } = {},
) => accessEvent(s, { decision, biometric: decision !== 'accepted', credentialId: `c-${s}` }, where) as AccessLiveEvent;

const known = (holder: PassageInfo['holder'] = null): PassageInfo => ({ holder, ack: null, override: null });

describe('gate cards', () => {
  it('pins mismatch and spoof cards until acknowledged or overridden, newest first; the rest are the latest passages', () => {
    const a = access(1, 'accepted');
    const m = access(2, 'mismatch');
    const s = access(3, 'spoof_suspected');
    const c = access(4, 'confirmed');
    const m2 = access(5, 'mismatch');
    const info = new Map<string, PassageInfo>([
      [a.id, known()],
      [m.id, { holder: null, ack: { by: 'accueil', at: at(6), note: null }, override: null }],
      [s.id, known()],
    ]);
    const pushed = {
      [m2.id]: { ack: null, override: { decision: 'allow' as const, reason: 'vu', by: 'x', at: at(7) } },
    };
    // the feed and the pending list may both carry a passage: one card each
    const cards = buildCards({ events: [a, m, s, c, m2, s], info, pushed, gate: null });
    expect(cards.pending.map((x) => x.event.id)).toEqual([s.id]);
    expect(cards.recent.map((x) => x.event.id)).toEqual([m2.id, c.id, m.id, a.id]);
    expect(cards.recent.find((x) => x.event.id === c.id)!.loading).toBe(true);
    expect(cards.recent.find((x) => x.event.id === m2.id)!.override?.decision).toBe('allow');
    expect(cards.pending[0]!.tone).toBe('bad');
  });

  it('filters by gate and caps the ordinary passages (pending ones are never capped)', () => {
    const events = [
      ...Array.from({ length: 12 }, (_, i) => access(i + 1, 'accepted', { agent: 'gate-1' })),
      access(20, 'mismatch', { agent: 'gate-2' }),
      access(21, 'mismatch', { agent: 'gate-1' }),
    ];
    const all = buildCards({ events, info: new Map(), pushed: {}, gate: null, recent: 5 });
    expect(all.pending).toHaveLength(2);
    expect(all.recent).toHaveLength(5);
    const one = buildCards({ events, info: new Map(), pushed: {}, gate: 'lycee-a/gate-2' });
    expect(one.pending.map((c) => c.event.agent)).toEqual(['gate-2']);
    expect(one.recent).toEqual([]);
    expect(gatesOf(events, [{ site: 'lycee-a', agent: 'gate-3' }])).toEqual([
      'lycee-a/gate-1',
      'lycee-a/gate-2',
      'lycee-a/gate-3',
    ]);
  });

  it('asks the server only for passages not known yet, per site', () => {
    const e1 = access(1, 'accepted', { site: 's1' });
    const e2 = access(2, 'accepted', { site: 's2' });
    const e3 = access(3, 'accepted', { site: 's1' });
    const missing = missingBySite([e1, e2, e3, e1], new Set([e3.id]));
    expect(Object.fromEntries(missing)).toEqual({ s1: [e1.id], s2: [e2.id] });
  });

  it('maps keys to commands, ignoring modified keys, whatever the case', () => {
    expect(commandOfKey('a', { ctrl: false, alt: false, meta: false })).toBe('ack');
    expect(commandOfKey('A', { ctrl: false, alt: false, meta: false })).toBe('ack');
    expect(commandOfKey('a', { ctrl: true, alt: false, meta: false })).toBeNull();
    expect(commandOfKey('ArrowDown', { ctrl: false, alt: false, meta: false })).toBe('next');
    expect(commandOfKey('x', { ctrl: false, alt: false, meta: false })).toBeNull();
    expect(defaultOverride('mismatch')).toBe('allow');
    expect(defaultOverride('confirmed')).toBe('deny');
  });
});

describe('passage card', () => {
  const card = (e: LiveEvent, over: Partial<GateCard> = {}): GateCard => {
    const ev = e as AccessLiveEvent;
    const built = buildCards({
      events: [ev],
      info: new Map([[ev.id, known(over.holder ?? null)]]),
      pushed: {},
      gate: null,
    });
    return { ...(built.pending[0] ?? built.recent[0]!), ...over };
  };
  const html = (c: GateCard) =>
    renderToStaticMarkup(
      createElement(PassageCard, {
        card: c,
        canAck: true,
        canOverride: true,
        onAck: () => undefined,
        onOverride: () => undefined,
      }),
    );
  /** text of the (non-nested) element with this test id */
  const text = (h: string, id: string) => {
    const m = new RegExp(`<(\\w+)[^>]*data-testid="${id}"[^>]*>`).exec(h);
    if (!m) return null;
    const rest = h.slice(m.index + m[0].length);
    return rest.slice(0, rest.indexOf(`</${m[1]}>`)).replace(/<[^>]+>/g, '');
  };

  it('shows the verdict, first name and class in French, the time in Paris, and the photo only when kept', () => {
    const e = access(0, 'mismatch');
    const h = html(card(e, { holder: { kind: 'student', firstName: 'Zéphyrine', className: 'TG2', photo: true } }));
    expect(text(h, 'gate-verdict')).toBe('✗Visage différent du badge');
    expect(text(h, 'gate-name')).toBe('Zéphyrine');
    expect(text(h, 'gate-class')).toBe('TG2');
    // 07:30:00 UTC on 1 September 2025 is 09:30:00 in Paris
    expect(h).toContain('09:30:00');
    expect(h).toContain(`/api/sites/lycee-a/passages/${e.id}/photo`);
    expect(h).toContain('data-pending="true"');
    expect(h).toContain('data-testid="gate-ack"');
    const noPhoto = html(
      card(access(1, 'confirmed'), {
        holder: { kind: 'student', firstName: 'Anatoline', className: '1G1', photo: false },
      }),
    );
    expect(noPhoto).not.toContain('<img');
    expect(noPhoto).not.toContain('data-testid="gate-ack"');
  });

  it('says who is unknown, who is a visitor, and who overrode a verdict', () => {
    expect(text(html(card(access(2, 'unknown_credential'))), 'gate-name')).toBe('Personne non identifiée');
    const visitor = html(
      card(access(3, 'accepted'), { holder: { kind: 'visitor', firstName: 'Claire', className: null, photo: false } }),
    );
    expect(text(visitor, 'gate-class')).toBe('Visiteur');
    const overridden = html(
      card(access(4, 'revoked'), {
        override: { decision: 'allow', reason: 'carte renouvelée ce matin', by: 'accueil', at: at(5) },
      }),
    );
    expect(text(overridden, 'gate-override')).toBe('Autorisé manuellement par accueil : carte renouvelée ce matin');
  });
});

describe('passage dialog', () => {
  it('proposes to let a refused passage through, and asks for the reason in French', () => {
    const e = access(6, 'mismatch');
    const built = buildCards({ events: [e], info: new Map([[e.id, known()]]), pushed: {}, gate: null });
    const h = renderToStaticMarkup(
      createElement(PassageDialog, {
        mode: 'override',
        card: built.pending[0]!,
        onSubmit: () => Promise.resolve(null),
        onClose: () => undefined,
      }),
    );
    expect(h).toContain('Forcer la décision');
    expect(h).toMatch(/data-testid="gate-decision-allow"[^>]*checked=""/);
    expect(h).toContain('Motif (obligatoire)');
    expect(h).toMatch(/<input type="text"[^>]*required=""/);
    const ack = renderToStaticMarkup(
      createElement(PassageDialog, {
        mode: 'ack',
        card: built.pending[0]!,
        onSubmit: () => Promise.resolve(null),
        onClose: () => undefined,
      }),
    );
    expect(ack).toContain('Note (facultative)');
    expect(ack).not.toContain('type="radio"');
  });
});
