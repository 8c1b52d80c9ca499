/**
 * Restricted zones: a polygon on the camera image, optionally with a weekly schedule. A confirmed
 * track whose foot point enters the polygon raises one alert per entry (while the schedule is on).
 */
import type { TrackUpdate } from '../tracking/types.js';
import type { Point } from '@portail/vision/types.js';
import { distanceToPolygonEdge, footPoint, pointInPolygon } from './geometry.js';
import { isScheduleActive, validateSchedule, type WeeklySchedule } from './schedule.js';
import { RuleConfigError, type ZoneEntryAlert } from './types.js';

export interface ZoneRule {
  id: string;
  polygon: readonly Point[];
  /** alerts only while on; entries outside it are still followed, so they do not fire later */
  schedule?: WeeklySchedule;
  /**
   * A track inside must go this far beyond the edge before it counts as out, so a person standing
   * on the edge (box jitter) is one entry, not many. Default 10 px.
   */
  hysteresisPx?: number;
}

export interface ZoneState {
  readonly rule: Readonly<ZoneRule>;
  /** per track: whether its foot point is (still) counted inside */
  readonly inside: ReadonlyMap<string, boolean>;
}

export function createZoneState(rule: ZoneRule): ZoneState {
  if (rule.polygon.length < 3) throw new RuleConfigError(`zone ${rule.id}: a polygon needs at least 3 points`);
  if (rule.schedule) {
    const check = validateSchedule(rule.schedule);
    if (!check.ok) throw new RuleConfigError(`zone ${rule.id}: ${check.error}`);
  }
  return { rule, inside: new Map() };
}

/**
 * Only confirmed, detected boxes move a track in or out: tentative ones may be false detections
 * and lost ones are guesses. A track first seen (confirmed) already inside counts as an entry: it
 * may have come from behind an obstacle, and a restricted zone wants to know.
 */
export function evaluateZone(
  state: ZoneState,
  updates: readonly TrackUpdate[],
  tMs: number,
): { state: ZoneState; alerts: ZoneEntryAlert[] } {
  const { rule } = state;
  const hysteresisPx = rule.hysteresisPx ?? 10;
  const inside = new Map(state.inside);
  const alerts: ZoneEntryAlert[] = [];
  let active: boolean | undefined;
  for (const u of updates) {
    if (u.status === 'removed') {
      inside.delete(u.trackId);
      continue;
    }
    if (u.status !== 'confirmed' || !u.detected) continue;
    const foot = footPoint(u.box);
    const was = inside.get(u.trackId) === true;
    if (pointInPolygon(foot, rule.polygon)) {
      inside.set(u.trackId, true);
      if (was) continue;
      active ??= isScheduleActive(rule.schedule, tMs);
      if (active) alerts.push({ kind: 'zone_entry', rule: rule.id, trackId: u.trackId, tMs, box: u.box });
    } else {
      inside.set(u.trackId, was && distanceToPolygonEdge(foot, rule.polygon) < hysteresisPx);
    }
  }
  return { state: { rule, inside }, alerts };
}
