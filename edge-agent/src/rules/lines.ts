/**
 * Directed counting lines. A line goes from `from` to `to` as drawn on the image; "in" is a crossing
 * from its left-hand side to its right-hand side (walking from `from` to `to` on the screen, the
 * inside is on your right), "out" the reverse.
 *
 * A crossing is a change of side of the track's foot point, counted only where it passes between
 * the two end points (not beside the segment). A band of ±hysteresisPx around the line belongs to
 * neither side: a track must leave the band on the other side before its side changes, so a
 * person standing on the line, whose box jitters by a few pixels, is counted once or not at all.
 */
import type { TrackUpdate } from '../tracking/types.js';
import type { Point } from '@portail/vision/types.js';
import { crossingPositionOnLine, footPoint, signedDistanceToLine } from './geometry.js';
import { isScheduleActive, validateSchedule, type WeeklySchedule } from './schedule.js';
import { RuleConfigError, type Direction, type LineCrossing, type WrongWayAlert } from './types.js';

export interface LineRule {
  id: string;
  from: Point;
  to: Point;
  /** 'in' or 'out' makes crossings the other way wrong-way alerts; default 'both' (no alert) */
  allowedDirection?: Direction | 'both';
  /** half-width of the band around the line that counts as neither side; default 10 px */
  hysteresisPx?: number;
  /** wrong-way alerts only while on; crossings are counted at all times */
  schedule?: WeeklySchedule;
}

interface TrackSide {
  /** +1 right of the line, -1 left */
  readonly side: 1 | -1;
  /** latest foot point seen clear of the band on that side */
  readonly anchor: Point;
}

export interface LineState {
  readonly rule: Readonly<LineRule>;
  readonly tracks: ReadonlyMap<string, TrackSide>;
  /** crossings counted since the state was created */
  readonly counts: Readonly<{ in: number; out: number }>;
}

export function createLineState(rule: LineRule): LineState {
  if (rule.from[0] === rule.to[0] && rule.from[1] === rule.to[1]) {
    throw new RuleConfigError(`line ${rule.id}: from and to are the same point`);
  }
  if (rule.schedule) {
    const check = validateSchedule(rule.schedule);
    if (!check.ok) throw new RuleConfigError(`line ${rule.id}: ${check.error}`);
  }
  return { rule, tracks: new Map(), counts: { in: 0, out: 0 } };
}

/**
 * Only confirmed, detected boxes produce crossings. A tentative track records the side it started
 * on, so a crossing during its first frames is counted when it is confirmed; lost tracks keep their
 * last side, so a person hidden while crossing is counted when found again on the other side.
 */
export function evaluateLine(
  state: LineState,
  updates: readonly TrackUpdate[],
  tMs: number,
): { state: LineState; crossings: LineCrossing[]; alerts: WrongWayAlert[]; counts: { in: number; out: number } } {
  const { rule } = state;
  const hysteresisPx = rule.hysteresisPx ?? 10;
  const tracks = new Map(state.tracks);
  const counts = { ...state.counts };
  const crossings: LineCrossing[] = [];
  const alerts: WrongWayAlert[] = [];
  for (const u of updates) {
    if (u.status === 'removed') {
      tracks.delete(u.trackId);
      continue;
    }
    if (!u.detected || (u.status !== 'confirmed' && u.status !== 'tentative')) continue;
    const foot = footPoint(u.box);
    const d = signedDistanceToLine(foot, rule.from, rule.to);
    if (Math.abs(d) < hysteresisPx || d === 0) continue; // in the band: no side yet
    const side: 1 | -1 = d > 0 ? 1 : -1;
    const before = tracks.get(u.trackId);
    if (u.status === 'tentative') {
      // only where the track started: its first move across is judged once it is confirmed
      if (!before) tracks.set(u.trackId, { side, anchor: foot });
      continue;
    }
    tracks.set(u.trackId, { side, anchor: foot });
    if (!before || before.side === side) continue;
    const along = crossingPositionOnLine(before.anchor, foot, rule.from, rule.to);
    if (along < 0 || along > 1) continue; // went round the end of the line
    const direction: Direction = side === 1 ? 'in' : 'out';
    counts[direction]++;
    crossings.push({ kind: 'line_crossing', rule: rule.id, trackId: u.trackId, direction, tMs, box: u.box });
    const allowed = rule.allowedDirection ?? 'both';
    if (allowed !== 'both' && allowed !== direction && isScheduleActive(rule.schedule, tMs)) {
      alerts.push({ kind: 'wrong_way', rule: rule.id, trackId: u.trackId, direction, tMs, box: u.box });
    }
  }
  return { state: { rule, tracks, counts }, crossings, alerts, counts };
}
