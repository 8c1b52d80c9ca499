import type { AccessEvent, MovementEvent } from '@portail/protocol';
import { localeOf, translate, type Lang, type MessageKey } from './i18n/i18n.js';
import type { AlertKind } from './live/alerts.js';
import type { LiveEvent } from './live/wire.js';

/** `one` or `other` for a count, by the language's plural rules (French counts 0 and 1 as singular). */
export function pluralCategory(lang: Lang, count: number): 'one' | 'other' {
  return new Intl.PluralRules(localeOf(lang)).select(count) === 'one' ? 'one' : 'other';
}

/** The alert's headline, e.g. "Talonnage : 2 personnes de plus que de badges". */
export function alertLabel(lang: Lang, kind: AlertKind, e: LiveEvent): string {
  if (kind === 'tailgating') {
    const excess = e.kind === 'movement' ? e.payload.excess : undefined;
    if (excess === undefined) return translate(lang, 'alert.tailgating');
    return translate(lang, `alert.tailgating.${pluralCategory(lang, excess)}`, { count: excess });
  }
  return translate(lang, `alert.${kind}`);
}

/** How a movement rule is named: zones and lines are declared separately, tailgating rules refer to a line. */
export function movementRuleKey(kind: MovementEvent['kind']): MessageKey {
  switch (kind) {
    case 'zone_entry':
      return 'movement.zone';
    case 'line_crossing':
    case 'wrong_way':
    case 'line_counts':
      return 'movement.line';
    case 'tailgating':
      return 'movement.rule';
  }
}

export type Tone = 'ok' | 'warn' | 'bad' | 'info';

/**
 * Colour of a gate verdict: green when the person may pass, orange when the capture failed and a new
 * try may do (no face, poor image), red for a refusal or a suspected fraud.
 */
export function decisionTone(decision: AccessEvent['decision']): Tone {
  switch (decision) {
    case 'accepted':
    case 'confirmed':
      return 'ok';
    case 'no_face':
    case 'low_quality':
      return 'warn';
    case 'mismatch':
    case 'spoof_suspected':
    case 'revoked':
    case 'unknown_credential':
    case 'expired':
      return 'bad';
  }
}

/** Movement kinds: alerts in red or orange, counting traffic in blue. */
export function movementTone(kind: MovementEvent['kind']): Tone {
  switch (kind) {
    case 'tailgating':
      return 'bad';
    case 'wrong_way':
    case 'zone_entry':
      return 'warn';
    case 'line_crossing':
    case 'line_counts':
      return 'info';
  }
}
