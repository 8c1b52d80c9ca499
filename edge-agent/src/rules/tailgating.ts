/**
 * Tailgating: more people walk in through a gate than credentials were accepted for.
 *
 * Each accepted credential allows `passagesPerCredential` inbound crossings of the gate line, from
 * `lateCredentialMs` before it was accepted (the reader answers a moment after the person has
 * stepped through) to `windowMs` after. Each inbound crossing takes the oldest credential still
 * usable. A crossing that no credential covers once `lateCredentialMs` have passed is unexplained.
 * Unexplained crossings within `groupMs` of the first one form one incident, reported once, with
 * the excess count, when that group can no longer grow: three people through on one badge give
 * one alert with excess 2, not two alerts.
 */
import type { TrackUpdate } from '../tracking/types.js';
import { createLineState, evaluateLine, type LineRule, type LineState } from './lines.js';
import { isScheduleActive, validateSchedule, type WeeklySchedule } from './schedule.js';
import { RuleConfigError, type LineCrossing, type TailgatingAlert } from './types.js';

export interface TailgatingRule {
  id: string;
  /** gate line; its "in" direction is inbound */
  gate: LineRule;
  /** how long after acceptance a credential still covers a crossing; default 8 s */
  windowMs?: number;
  /** how long a crossing waits for a credential accepted after it; default 1.5 s */
  lateCredentialMs?: number;
  /** unexplained crossings this close to the first one are one incident; default 3 s */
  groupMs?: number;
  /** default 1 */
  passagesPerCredential?: number;
  /** crossings outside the schedule are not checked */
  schedule?: WeeklySchedule;
}

interface Credential {
  readonly tMs: number;
  readonly remaining: number;
}

interface Crossing {
  readonly tMs: number;
  readonly trackId: string;
}

export interface TailgatingState {
  readonly rule: Readonly<TailgatingRule>;
  readonly gate: LineState;
  readonly credentials: readonly Credential[];
  /** inbound crossings not yet covered, still waiting for a late credential */
  readonly pending: readonly Crossing[];
  /** unexplained crossings of the incident being grouped */
  readonly incident: readonly Crossing[];
}

function settings(rule: TailgatingRule) {
  return {
    windowMs: rule.windowMs ?? 8000,
    lateCredentialMs: rule.lateCredentialMs ?? 1500,
    groupMs: rule.groupMs ?? 3000,
    passagesPerCredential: rule.passagesPerCredential ?? 1,
  };
}

export function createTailgatingState(rule: TailgatingRule): TailgatingState {
  const s = settings(rule);
  if (!(s.windowMs > 0 && s.lateCredentialMs >= 0 && s.groupMs >= 0)) {
    throw new RuleConfigError(`tailgating ${rule.id}: windowMs must be > 0, lateCredentialMs and groupMs ≥ 0`);
  }
  if (!(Number.isInteger(s.passagesPerCredential) && s.passagesPerCredential >= 1)) {
    throw new RuleConfigError(`tailgating ${rule.id}: passagesPerCredential must be an integer ≥ 1`);
  }
  if (rule.schedule) {
    const check = validateSchedule(rule.schedule);
    if (!check.ok) throw new RuleConfigError(`tailgating ${rule.id}: ${check.error}`);
  }
  return { rule, gate: createLineState(rule.gate), credentials: [], pending: [], incident: [] };
}

/** An access decision accepted a credential at `tMs` for this gate. */
export function recordAcceptedCredential(state: TailgatingState, tMs: number): TailgatingState {
  const { passagesPerCredential } = settings(state.rule);
  return { ...state, credentials: [...state.credentials, { tMs, remaining: passagesPerCredential }] };
}

export function evaluateTailgating(
  state: TailgatingState,
  updates: readonly TrackUpdate[],
  tMs: number,
): { state: TailgatingState; alerts: TailgatingAlert[]; crossings: LineCrossing[] } {
  const { rule } = state;
  const { windowMs, lateCredentialMs, groupMs } = settings(rule);
  const gate = evaluateLine(state.gate, updates, tMs);
  const inbound = gate.crossings.filter((c) => c.direction === 'in' && isScheduleActive(rule.schedule, c.tMs));

  const credentials = state.credentials.map((c) => ({ ...c }));
  const stillPending: Crossing[] = [];
  const unexplained: Crossing[] = [];
  for (const crossing of [...state.pending, ...inbound.map((c) => ({ tMs: c.tMs, trackId: c.trackId }))]) {
    const credit = credentials.find(
      (c) => c.remaining > 0 && c.tMs >= crossing.tMs - windowMs && c.tMs <= crossing.tMs + lateCredentialMs,
    );
    if (credit) credit.remaining--;
    else if (tMs >= crossing.tMs + lateCredentialMs) unexplained.push(crossing);
    else stillPending.push(crossing);
  }

  const alerts: TailgatingAlert[] = [];
  let incident = [...state.incident];
  const report = () => {
    alerts.push({
      kind: 'tailgating',
      rule: rule.id,
      excess: incident.length,
      trackIds: incident.map((c) => c.trackId),
      firstCrossingMs: incident[0]!.tMs,
      lastCrossingMs: incident[incident.length - 1]!.tMs,
      tMs,
    });
    incident = [];
  };
  for (const crossing of unexplained) {
    if (incident.length > 0 && crossing.tMs > incident[0]!.tMs + groupMs) report();
    incident.push(crossing);
  }
  // Every crossing that could still join has been decided once groupMs + lateCredentialMs passed.
  if (incident.length > 0 && tMs >= incident[0]!.tMs + groupMs + lateCredentialMs) report();

  // A credential can no longer serve any crossing still to be decided (those are after tMs - late).
  const oldestUseful = tMs - lateCredentialMs - windowMs;
  return {
    state: {
      rule,
      gate: gate.state,
      credentials: credentials.filter((c) => c.remaining > 0 && c.tMs > oldestUseful),
      pending: stillPending,
      incident,
    },
    alerts,
    crossings: gate.crossings,
  };
}
