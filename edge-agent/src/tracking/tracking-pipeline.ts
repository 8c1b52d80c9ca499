/**
 * The anonymous tracking pipeline of one camera: person detections → ByteTrack-style tracker →
 * the camera's declared rules (restricted zones, directed lines, tailgating) → movement alerts and
 * line counts ready to be published.
 *
 * What it keeps between frames is only what the rules need: boxes, anonymous random track ids and
 * counters. It never sees a frame, an appearance feature or a credential id (an accepted credential
 * is just a time), so a track cannot be linked to a person. Deterministic given its inputs, except
 * for the random track ids (injectable for tests).
 */
import {
  DEFAULT_TIME_ZONE,
  trackingRulesSchema,
  type MovementEvent,
  type TrackingRulesConfig,
  type TrackingRulesInput,
  type WeeklyScheduleConfig,
} from '@portail/protocol';
import { createLineState, evaluateLine, type LineRule, type LineState } from '../rules/lines.js';
import {
  createTailgatingState,
  evaluateTailgating,
  recordAcceptedCredential as recordCredential,
  type TailgatingRule,
  type TailgatingState,
} from '../rules/tailgating.js';
import { RuleConfigError } from '../rules/types.js';
import { createZoneState, evaluateZone, type ZoneRule, type ZoneState } from '../rules/zones.js';
import type { Box, PersonDetection } from '@portail/vision/types.js';
import { createByteTracker, type ByteTrackerConfig } from './byte-tracker.js';
import type { TrackUpdate } from './types.js';

/** The rules of one camera as declared in the protocol config (`cameras[].zones/lines/tailgating`). */
export type TrackingRules = TrackingRulesInput;

export interface TrackingPipelineOptions {
  rules: TrackingRules;
  /** tracker settings; ByteTrack's published defaults otherwise */
  tracker?: Partial<ByteTrackerConfig>;
  /** IANA zone for schedules that do not name one; default Europe/Paris */
  timeZone?: string;
  /** track id source, for tests; default 80 random bits in base32 */
  newTrackId?: () => string;
}

/** A confirmed track at this step: an anonymous id and a box, nothing else. */
export interface PipelineTrack {
  trackId: string;
  box: Box;
  /** detector score of the box associated at this step */
  score: number;
  /** detections associated since the track was born */
  hits: number;
  firstSeenMs: number;
}

type WireBox = NonNullable<MovementEvent['box']>;

/**
 * One alert, in the fields of a protocol movement event (to wrap with an envelope: id, v, site,
 * agent, camera, and ts from `tMs`).
 */
export interface MovementAlert {
  kind: Exclude<MovementEvent['kind'], 'line_counts'>;
  /** id of the declared zone, line or tailgating rule */
  rule: string;
  /**
   * The anonymous track. For tailgating, the last crossing of the incident that no credential
   * explained (the event carries one id; the excess says how many there were).
   */
  trackId?: string;
  direction?: 'in' | 'out';
  /** [x, y, w, h] in frame pixels, rounded to 0.1 px */
  box?: WireBox;
  /** tailgating only: inbound crossings beyond the accepted credentials, ≥ 1 */
  excess?: number;
  /** time of the step that raised it (ms since epoch) */
  tMs: number;
}

/** Cumulative crossings per line rule id since the rule was declared. */
export type LineCounts = Record<string, { in: number; out: number }>;

export interface TrackingStep {
  /** confirmed tracks matched at this step */
  tracks: PipelineTrack[];
  movementAlerts: MovementAlert[];
  /** the lines whose counts changed at this step, with their new totals; undefined if none did */
  lineCounts: LineCounts | undefined;
}

export interface TrackingSnapshot {
  /** time of the last update, null before the first */
  lastMs: number | null;
  /** confirmed tracks of the last step */
  tracks: PipelineTrack[];
  /** tracks alive after the last step (tentative and lost ones included) */
  liveTracks: number;
  /** totals of every line */
  lineCounts: LineCounts;
  rules: { zones: string[]; lines: string[]; tailgating: string[] };
  /** accepted credentials that can still cover an inbound crossing, over all tailgating rules */
  openCredentials: number;
}

export type RulesError = { code: 'TRACKING_ERR_RULES'; message: string };
export type ApplyRulesResult = { ok: true } | { ok: false; error: RulesError };

export interface TrackingPipeline {
  /** One frame's person detections at `tMs` (ms since epoch, non-decreasing). */
  update(persons: readonly PersonDetection[], tMs: number): TrackingStep;
  /** An access decision accepted a credential at this camera's gate at `tMs` (tailgating). */
  recordAcceptedCredential(tMs: number): void;
  /**
   * Live reconfiguration. Tracks are kept; a rule whose definition did not change keeps its state;
   * a changed or new rule starts from where the tracks are now (people already inside a new zone
   * raise no alert, a person already past a moved line is not counted), and a line keeps its counts
   * when its id stays. Invalid rules are refused and the previous ones stay in force.
   */
  applyRules(rules: TrackingRules): ApplyRulesResult;
  /** Drop every track (the camera restarted: the frame sequence broke). Counts and credentials stay. */
  reset(): void;
  snapshot(): TrackingSnapshot;
  /** The geometry of the rules in force (zones, directed lines), to draw them on the camera tile. */
  geometry(): RulesGeometry;
}

/** Zones and lines in frame pixels, as the `tracks` topic carries them. */
export interface RulesGeometry {
  zones: Array<{ id: string; polygon: Array<[number, number]> }>;
  lines: Array<{ id: string; from: [number, number]; to: [number, number]; allowedDirection: 'in' | 'out' | 'both' }>;
}

interface CompiledRule<S> {
  /** canonical JSON of the definition: equal keys mean the state can be kept */
  key: string;
  state: S;
}

interface RuleStates {
  zones: Map<string, CompiledRule<ZoneState>>;
  lines: Map<string, CompiledRule<LineState>>;
  tailgating: Map<string, CompiledRule<TailgatingState>>;
}

type CompileResult = { ok: true; value: RuleStates } | { ok: false; error: RulesError };

function withTimeZone<T extends { schedule?: unknown }>(rule: T, timeZone: string): T {
  const s = rule.schedule as Partial<WeeklyScheduleConfig> | undefined;
  if (!s || typeof s !== 'object' || s.timeZone !== undefined) return rule;
  return { ...rule, schedule: { ...s, timeZone } };
}

function toLineRule(l: TrackingRulesConfig['lines'][number]): LineRule {
  return {
    id: l.id,
    from: [l.from[0], l.from[1]],
    to: [l.to[0], l.to[1]],
    allowedDirection: l.allowedDirection,
    ...(l.hysteresisPx !== undefined ? { hysteresisPx: l.hysteresisPx } : {}),
    ...(l.schedule ? { schedule: l.schedule } : {}),
  };
}

function toZoneRule(z: TrackingRulesConfig['zones'][number]): ZoneRule {
  return {
    id: z.id,
    polygon: z.polygon.map(([x, y]) => [x, y]),
    ...(z.hysteresisPx !== undefined ? { hysteresisPx: z.hysteresisPx } : {}),
    ...(z.schedule ? { schedule: z.schedule } : {}),
  };
}

function toTailgatingRule(t: TrackingRulesConfig['tailgating'][number], gate: LineRule): TailgatingRule {
  return {
    id: t.id,
    gate,
    windowMs: t.windowMs,
    lateCredentialMs: t.lateCredentialMs,
    groupMs: t.groupMs,
    passagesPerCredential: t.passagesPerCredential,
    ...(t.schedule ? { schedule: t.schedule } : {}),
  };
}

/** The tracks as the last step left them, so a fresh rule state can be brought up to date. */
interface LastStep {
  updates: readonly TrackUpdate[];
  tMs: number;
}

/**
 * Validate the declared rules (with the protocol schema: the edge does not trust the server
 * blindly) and build a state per rule, reusing `previous` states where a definition did not change.
 * A fresh state is primed with the last step's tracks, its alerts discarded: it learns where each
 * track is (inside a zone, which side of a line) without raising anything for the past.
 */
function compileRules(
  input: TrackingRules,
  timeZone: string,
  previous: RuleStates | undefined,
  last: LastStep | undefined,
): CompileResult {
  const filled: TrackingRules = {
    ...input,
    ...(input.zones ? { zones: input.zones.map((z) => withTimeZone(z, timeZone)) } : {}),
    ...(input.lines ? { lines: input.lines.map((l) => withTimeZone(l, timeZone)) } : {}),
    ...(input.tailgating ? { tailgating: input.tailgating.map((t) => withTimeZone(t, timeZone)) } : {}),
  };
  const parsed = trackingRulesSchema.safeParse(filled);
  if (!parsed.success) {
    const message = parsed.error.issues.map((i) => `${i.path.join('.') || '(rules)'}: ${i.message}`).join('; ');
    return { ok: false, error: { code: 'TRACKING_ERR_RULES', message } };
  }
  const rules = parsed.data;
  const out: RuleStates = { zones: new Map(), lines: new Map(), tailgating: new Map() };
  try {
    for (const z of rules.zones) {
      const rule = toZoneRule(z);
      const key = JSON.stringify(rule);
      const old = previous?.zones.get(rule.id);
      let state = old?.key === key ? old.state : createZoneState(rule);
      if (state !== old?.state && last) state = evaluateZone(state, last.updates, last.tMs).state;
      out.zones.set(rule.id, { key, state });
    }
    const lineRules = new Map<string, LineRule>();
    for (const l of rules.lines) {
      const rule = toLineRule(l);
      lineRules.set(rule.id, rule);
      const key = JSON.stringify(rule);
      const old = previous?.lines.get(rule.id);
      let state = old?.key === key ? old.state : createLineState(rule);
      if (state !== old?.state) {
        if (last) state = evaluateLine(state, last.updates, last.tMs).state;
        // counts belong to the rule id: editing a line's geometry or schedule does not zero them
        if (old) state = { ...state, counts: old.state.counts };
      }
      out.lines.set(rule.id, { key, state });
    }
    for (const t of rules.tailgating) {
      // the schema checked that the line exists
      const rule = toTailgatingRule(t, lineRules.get(t.lineId)!);
      const key = JSON.stringify(rule);
      const old = previous?.tailgating.get(rule.id);
      let state = old?.key === key ? old.state : createTailgatingState(rule);
      if (state !== old?.state && last) state = evaluateTailgating(state, last.updates, last.tMs).state;
      out.tailgating.set(rule.id, { key, state });
    }
  } catch (err) {
    // the rule constructors signal a bad definition by throwing; the schema catches nearly all first
    if (err instanceof RuleConfigError)
      return { ok: false, error: { code: 'TRACKING_ERR_RULES', message: err.message } };
    throw err;
  }
  return { ok: true, value: out };
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const wireBox = (b: Box): WireBox => [round1(b.x), round1(b.y), round1(b.w), round1(b.h)];

function toTrack(u: TrackUpdate): PipelineTrack {
  return { trackId: u.trackId, box: { ...u.box }, score: u.score, hits: u.hits, firstSeenMs: u.firstSeenMs };
}

/** Drop the per-track memory of a rule state (the tracks are gone), keeping its counters. */
function forgetTracks(rules: RuleStates): RuleStates {
  const zones = new Map([...rules.zones].map(([id, r]) => [id, { ...r, state: createZoneState(r.state.rule) }]));
  const lines = new Map(
    [...rules.lines].map(([id, r]) => [
      id,
      { ...r, state: { ...createLineState(r.state.rule), counts: r.state.counts } },
    ]),
  );
  const tailgating = new Map(
    [...rules.tailgating].map(([id, r]) => {
      const gate = r.state.gate;
      return [id, { ...r, state: { ...r.state, gate: { ...createLineState(gate.rule), counts: gate.counts } } }];
    }),
  );
  return { zones, lines, tailgating };
}

/**
 * Create the pipeline of one camera. Throws `RuleConfigError` (code RULES_ERR_CONFIG) when the
 * rules are invalid: at start-up that is a configuration bug; use `applyRules` for live updates.
 */
export function createTrackingPipeline(opts: TrackingPipelineOptions): TrackingPipeline {
  const timeZone = opts.timeZone ?? DEFAULT_TIME_ZONE;
  const tracker = createByteTracker(opts.tracker, opts.newTrackId ? { newTrackId: opts.newTrackId } : {});
  const first = compileRules(opts.rules, timeZone, undefined, undefined);
  if (!first.ok) throw new RuleConfigError(first.error.message);
  let rules = first.value;
  let last: LastStep | undefined;

  const confirmed = (updates: readonly TrackUpdate[]) => updates.filter((u) => u.status === 'confirmed').map(toTrack);

  return {
    update(persons, tMs) {
      const updates = tracker.update(persons, tMs);
      const byId = new Map(updates.map((u) => [u.trackId, u]));
      const movementAlerts: MovementAlert[] = [];
      let lineCounts: LineCounts | undefined;

      const zones = new Map<string, CompiledRule<ZoneState>>();
      for (const [id, r] of rules.zones) {
        const out = evaluateZone(r.state, updates, tMs);
        zones.set(id, { ...r, state: out.state });
        for (const a of out.alerts)
          movementAlerts.push({ kind: a.kind, rule: a.rule, trackId: a.trackId, box: wireBox(a.box), tMs });
      }
      const lines = new Map<string, CompiledRule<LineState>>();
      for (const [id, r] of rules.lines) {
        const out = evaluateLine(r.state, updates, tMs);
        lines.set(id, { ...r, state: out.state });
        for (const c of [...out.crossings, ...out.alerts]) {
          movementAlerts.push({
            kind: c.kind,
            rule: c.rule,
            trackId: c.trackId,
            direction: c.direction,
            box: wireBox(c.box),
            tMs,
          });
        }
        if (out.crossings.length > 0) (lineCounts ??= {})[id] = { ...out.counts };
      }
      const tailgating = new Map<string, CompiledRule<TailgatingState>>();
      for (const [id, r] of rules.tailgating) {
        const out = evaluateTailgating(r.state, updates, tMs);
        tailgating.set(id, { ...r, state: out.state });
        for (const a of out.alerts) {
          const trackId = a.trackIds[a.trackIds.length - 1];
          const seen = trackId !== undefined ? byId.get(trackId) : undefined;
          movementAlerts.push({
            kind: a.kind,
            rule: a.rule,
            excess: a.excess,
            ...(trackId !== undefined ? { trackId } : {}),
            ...(seen && seen.status !== 'removed' ? { box: wireBox(seen.box) } : {}),
            tMs,
          });
        }
      }
      rules = { zones, lines, tailgating };
      last = { updates, tMs };
      return { tracks: confirmed(updates), movementAlerts, lineCounts };
    },

    recordAcceptedCredential(tMs) {
      const tailgating = new Map(
        [...rules.tailgating].map(([id, r]) => [id, { ...r, state: recordCredential(r.state, tMs) }] as const),
      );
      rules = { ...rules, tailgating };
    },

    applyRules(next) {
      const compiled = compileRules(next, timeZone, rules, last);
      if (!compiled.ok) return compiled;
      rules = compiled.value;
      return { ok: true };
    },

    reset() {
      tracker.reset();
      rules = forgetTracks(rules);
      last = undefined;
    },

    snapshot() {
      const lineCounts: LineCounts = {};
      for (const [id, r] of rules.lines) lineCounts[id] = { ...r.state.counts };
      let openCredentials = 0;
      for (const r of rules.tailgating.values())
        openCredentials += r.state.credentials.reduce((n, c) => n + c.remaining, 0);
      return {
        lastMs: last?.tMs ?? null,
        tracks: last ? confirmed(last.updates) : [],
        liveTracks: last ? last.updates.filter((u) => u.status !== 'removed').length : 0,
        lineCounts,
        rules: {
          zones: [...rules.zones.keys()],
          lines: [...rules.lines.keys()],
          tailgating: [...rules.tailgating.keys()],
        },
        openCredentials,
      };
    },

    geometry() {
      return {
        zones: [...rules.zones.values()].map((z) => ({
          id: z.state.rule.id,
          polygon: z.state.rule.polygon.map(([x, y]) => [x, y] as [number, number]),
        })),
        lines: [...rules.lines.values()].map((l) => ({
          id: l.state.rule.id,
          from: [l.state.rule.from[0], l.state.rule.from[1]],
          to: [l.state.rule.to[0], l.state.rule.to[1]],
          allowedDirection: l.state.rule.allowedDirection ?? 'both',
        })),
      };
    },
  };
}
