import type { MovementEvent } from '@portail/protocol';
import type { Box } from '@portail/vision/types.js';

export type Direction = 'in' | 'out';

/** Kinds as on the wire (protocol `movement` events), so the publisher maps alerts one to one. */
type Kind<K extends MovementEvent['kind']> = K;

export interface ZoneEntryAlert {
  kind: Kind<'zone_entry'>;
  rule: string;
  trackId: string;
  tMs: number;
  box: Box;
}

export interface LineCrossing {
  kind: Kind<'line_crossing'>;
  rule: string;
  trackId: string;
  direction: Direction;
  tMs: number;
  box: Box;
}

export interface WrongWayAlert {
  kind: Kind<'wrong_way'>;
  rule: string;
  trackId: string;
  direction: Direction;
  tMs: number;
  box: Box;
}

export interface TailgatingAlert {
  kind: Kind<'tailgating'>;
  rule: string;
  /** inbound crossings beyond the accepted credentials */
  excess: number;
  /** anonymous ids of the crossings that no credential explained */
  trackIds: string[];
  firstCrossingMs: number;
  lastCrossingMs: number;
  tMs: number;
}

export class RuleConfigError extends Error {
  readonly code = 'RULES_ERR_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'RuleConfigError';
  }
}
