import type { AccessEvent } from '@portail/protocol';
import { decisionTone, type Tone } from '../../event-labels.js';
import type { PassageActionsView } from '../../live/live-state.js';
import type { LiveEvent, PassageAckView, PassageOverrideView } from '../../live/wire.js';

/**
 * Pure logic of the gate view: which passages become cards, in which order, which stay until
 * acknowledged, and the keyboard map. The view (gate-view.tsx) only renders what these return.
 */

export type Decision = AccessEvent['decision'];
export type AccessLiveEvent = Extract<LiveEvent, { kind: 'access' }>;

/** Who is behind a passage, as the server tells a gate console (GET /api/sites/:site/passages). */
export interface HolderView {
  kind: 'student' | 'visitor';
  firstName: string;
  className: string | null;
  /** an ID photo is kept: GET …/passages/:eventId/photo */
  photo: boolean;
}

export interface PassageInfo {
  holder: HolderView | null;
  ack: PassageAckView | null;
  override: PassageOverrideView | null;
}

/** One card: the passage, what the server said about its holder, what reception did about it. */
export interface GateCard {
  event: AccessLiveEvent;
  decision: Decision;
  tone: Tone;
  /** mismatch and spoof: the card stays on screen until acknowledged (or overridden) */
  needsAck: boolean;
  /** holder info still loading (the card shows at once, the name a moment later) */
  loading: boolean;
  holder: HolderView | null;
  ack: PassageAckView | null;
  override: PassageOverrideView | null;
}

/** Verdicts that stay until someone at the gate has looked (the access event schema's vocabulary). */
export const STICKY_DECISIONS: readonly Decision[] = ['mismatch', 'spoof_suspected'];

/** How many ordinary passages the view keeps on screen (the pending ones always stay). */
export const RECENT_CARDS = 8;

/** A gate is an agent (one box per gate) of a site. */
export function gateKey(e: { site: string; agent: string }): string {
  return `${e.site}/${e.agent}`;
}

export function isAccess(e: LiveEvent): e is AccessLiveEvent {
  return e.kind === 'access';
}

/** Icon of a verdict, shown next to its words (never alone: colour-blind and 2 m readers need the text). */
export function verdictIcon(decision: Decision): string {
  switch (decision) {
    case 'accepted':
    case 'confirmed':
      return '✓';
    case 'mismatch':
      return '✗';
    case 'spoof_suspected':
      return '⚠';
    case 'no_face':
    case 'low_quality':
      return '◌';
    case 'revoked':
    case 'expired':
      return '⛔';
    case 'unknown_credential':
      return '?';
  }
}

/** What an override proposes by default: letting through a refusal, refusing an acceptance. */
export function defaultOverride(decision: Decision): 'allow' | 'deny' {
  return decisionTone(decision) === 'ok' ? 'deny' : 'allow';
}

function newestFirst(a: AccessLiveEvent, b: AccessLiveEvent): number {
  const ta = Date.parse(a.ts);
  const tb = Date.parse(b.ts);
  if (ta !== tb) return tb - ta;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export interface BuildCardsInput {
  /** access events from the live feed and from the pending list, possibly overlapping */
  events: readonly AccessLiveEvent[];
  /** holder and actions fetched from the server, by event id */
  info: ReadonlyMap<string, PassageInfo>;
  /** acknowledgements and overrides pushed over /ws since the page opened (newer than `info`) */
  pushed: Readonly<Record<string, PassageActionsView>>;
  /** `site/agent`, or null for every gate */
  gate: string | null;
  recent?: number;
}

export interface GateCards {
  /** mismatch and spoof cards nobody handled yet, newest first */
  pending: GateCard[];
  /** the latest passages (pending ones excluded), newest first */
  recent: GateCard[];
}

/** Cards unique by event id (a resumed feed or the pending list may bring an id twice), newest first. */
export function buildCards(input: BuildCardsInput): GateCards {
  const byId = new Map<string, AccessLiveEvent>();
  for (const e of input.events) if (!byId.has(e.id)) byId.set(e.id, e);
  const events = [...byId.values()].filter((e) => input.gate === null || gateKey(e) === input.gate).sort(newestFirst);
  const pending: GateCard[] = [];
  const recent: GateCard[] = [];
  const cap = input.recent ?? RECENT_CARDS;
  for (const event of events) {
    const info = input.info.get(event.id);
    const pushed = input.pushed[event.id];
    const ack = pushed?.ack ?? info?.ack ?? null;
    const override = pushed?.override ?? info?.override ?? null;
    const decision = event.payload.decision;
    const sticky = STICKY_DECISIONS.includes(decision);
    const card: GateCard = {
      event,
      decision,
      tone: decisionTone(decision),
      needsAck: sticky && ack === null && override === null,
      loading: info === undefined,
      holder: info?.holder ?? null,
      ack,
      override,
    };
    if (card.needsAck) pending.push(card);
    else if (recent.length < cap) recent.push(card);
  }
  return { pending, recent };
}

/** The gates (agents) seen in the feed and in the agent list, sorted, for the filter. */
export function gatesOf(
  events: readonly { site: string; agent: string }[],
  agents: readonly { site: string; agent: string }[],
): string[] {
  return [...new Set([...events, ...agents].map(gateKey))].sort();
}

/** Event ids whose holder is not known yet, grouped by site, at most `max` per site. */
export function missingBySite(
  events: readonly AccessLiveEvent[],
  known: ReadonlySet<string>,
  max = 200,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of events) {
    if (known.has(e.id)) continue;
    const list = out.get(e.site) ?? [];
    if (list.length < max && !list.includes(e.id)) list.push(e.id);
    out.set(e.site, list);
  }
  return out;
}

export type GateCommand = 'ack' | 'override' | 'visitors' | 'fullscreen' | 'sound' | 'next' | 'previous' | 'help';

/**
 * The gate view's keyboard map (shown on screen). Letters are those of the French words and work
 * whatever the case; they are ignored while typing in a field.
 */
export const GATE_SHORTCUTS: ReadonlyArray<{ keys: readonly string[]; command: GateCommand }> = [
  { keys: ['a'], command: 'ack' },
  { keys: ['f'], command: 'override' },
  { keys: ['v'], command: 'visitors' },
  { keys: ['p'], command: 'fullscreen' },
  { keys: ['s'], command: 'sound' },
  { keys: ['ArrowDown', 'j'], command: 'next' },
  { keys: ['ArrowUp', 'k'], command: 'previous' },
  { keys: ['?'], command: 'help' },
];

export function commandOfKey(key: string, mods: { ctrl: boolean; alt: boolean; meta: boolean }): GateCommand | null {
  if (mods.ctrl || mods.alt || mods.meta) return null;
  const k = key.length === 1 ? key.toLowerCase() : key;
  return GATE_SHORTCUTS.find((s) => s.keys.includes(k))?.command ?? null;
}
