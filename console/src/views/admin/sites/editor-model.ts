/**
 * The zone and line editor's data, as pure functions: a draft of an agent's configuration (per
 * camera: location type, tracking, zones, lines; thresholds), the edits made on the snapshot (in
 * frame pixels), the request body sent to the server, and the server's validation issues mapped
 * back to the field they are about. The shapes restate the protocol's (`protocol/src/schemas/config.ts`).
 */

export type Pt = [number, number];
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export const LOCATION_TYPES = ['entrance', 'circulation', 'playground', 'classroom', 'canteen', 'other'] as const;
export type LocationType = (typeof LOCATION_TYPES)[number];
/** only these may be tracked (CNIL proportionality); the server and the agent refuse the others */
export const TRACKABLE: readonly LocationType[] = ['entrance', 'circulation'];
export type Direction = 'in' | 'out' | 'both';

export interface SchedulePeriod {
  days: Weekday[];
  start: string;
  end: string;
}
export interface Schedule {
  timeZone: string;
  periods: SchedulePeriod[];
  exceptDates?: string[];
}
export interface DraftZone {
  id: string;
  polygon: Pt[];
  schedule?: Schedule;
  hysteresisPx?: number;
}
export interface DraftLine {
  id: string;
  from: Pt;
  to: Pt;
  allowedDirection: Direction;
  schedule?: Schedule;
  hysteresisPx?: number;
}
export interface DraftCamera {
  id: string;
  locationType: LocationType;
  trackingEnabled: boolean;
  zones: DraftZone[];
  lines: DraftLine[];
  /** tailgating checks are not drawn: kept as they are */
  tailgating: unknown[];
}
export interface Thresholds {
  faceScore?: number;
  personScore?: number;
}
export interface Draft {
  cameras: DraftCamera[];
  thresholds: Thresholds;
}

/** An agent's configuration version as GET /api/sites/:site/agents/:agent/config returns it. */
export interface ConfigVersionView {
  version: number;
  cameras: Array<Partial<DraftCamera> & { id: string }>;
  thresholds: Thresholds;
  source: string;
  createdBy: string;
  createdAt: string;
}

export interface ConfigIssue {
  path: string;
  message: string;
}

export type RuleRef = { kind: 'zone' | 'line'; index: number };

const clone = <T>(v: T): T => structuredClone(v);

/** The draft to edit: the version in force, plus the cameras the agent runs that it does not name yet. */
export function draftFromConfig(
  current: ConfigVersionView | null,
  cameras: ReadonlyArray<{ id: string; locationType?: LocationType | null; trackingEnabled?: boolean | null }>,
): Draft {
  const out: DraftCamera[] = (current?.cameras ?? []).map((c) => ({
    id: c.id,
    locationType: c.locationType ?? 'other',
    trackingEnabled: c.trackingEnabled ?? false,
    zones: clone(c.zones ?? []),
    lines: clone(c.lines ?? []).map((l) => ({ ...l, allowedDirection: l.allowedDirection ?? 'both' })),
    tailgating: clone(c.tailgating ?? []),
  }));
  for (const c of cameras) {
    if (out.some((x) => x.id === c.id)) continue;
    out.push({
      id: c.id,
      locationType: c.locationType ?? 'other',
      trackingEnabled: c.trackingEnabled ?? false,
      zones: [],
      lines: [],
      tailgating: [],
    });
  }
  return { cameras: out, thresholds: clone(current?.thresholds ?? {}) };
}

/** What PUT sends: the draft as is, with the version it was made from (a conflict is answered 409). */
export function requestBody(draft: Draft, baseVersion: number | null) {
  return { baseVersion, cameras: draft.cameras, thresholds: draft.thresholds };
}

/** A frame point from a pointer position over the displayed image; clamped to the frame, whole pixels. */
export function clientToFrame(
  clientX: number,
  clientY: number,
  rect: { left: number; top: number; width: number; height: number },
  frame: { width: number; height: number },
): Pt {
  const x = ((clientX - rect.left) / Math.max(1, rect.width)) * frame.width;
  const y = ((clientY - rect.top) / Math.max(1, rect.height)) * frame.height;
  return clampToFrame([x, y], frame);
}

export function clampToFrame(p: Pt, frame: { width: number; height: number }): Pt {
  return [Math.round(Math.min(frame.width, Math.max(0, p[0]))), Math.round(Math.min(frame.height, Math.max(0, p[1])))];
}

/** `prefix-N` with the smallest N not taken by a rule of the camera (rule ids are unique per camera). */
export function nextRuleId(cam: DraftCamera, prefix: string): string {
  const taken = new Set([
    ...cam.zones.map((z) => z.id),
    ...cam.lines.map((l) => l.id),
    ...cam.tailgating.map((t) => (t as { id?: string }).id),
  ]);
  for (let n = 1; ; n++) if (!taken.has(`${prefix}-${n}`)) return `${prefix}-${n}`;
}

function mapCamera(draft: Draft, camId: string, fn: (c: DraftCamera) => DraftCamera): Draft {
  return { ...draft, cameras: draft.cameras.map((c) => (c.id === camId ? fn(c) : c)) };
}

/** A new zone with its first vertex; the next clicks add vertices to it. */
export function startZone(draft: Draft, camId: string, p: Pt, id?: string): { draft: Draft; ref: RuleRef } {
  let index = 0;
  const next = mapCamera(draft, camId, (c) => {
    index = c.zones.length;
    return { ...c, zones: [...c.zones, { id: id ?? nextRuleId(c, 'zone'), polygon: [p] }] };
  });
  return { draft: next, ref: { kind: 'zone', index } };
}

export function addVertex(draft: Draft, camId: string, zoneIndex: number, p: Pt): Draft {
  return mapCamera(draft, camId, (c) => ({
    ...c,
    zones: c.zones.map((z, i) => (i === zoneIndex ? { ...z, polygon: [...z.polygon, p] } : z)),
  }));
}

/** Move a zone vertex (`vertex` index) or a line end (0: from, 1: to). */
export function movePoint(draft: Draft, camId: string, ref: RuleRef, vertex: number, p: Pt): Draft {
  return mapCamera(draft, camId, (c) =>
    ref.kind === 'zone'
      ? {
          ...c,
          zones: c.zones.map((z, i) =>
            i === ref.index ? { ...z, polygon: z.polygon.map((q, k) => (k === vertex ? p : q)) } : z,
          ),
        }
      : {
          ...c,
          lines: c.lines.map((l, i) => (i === ref.index ? (vertex === 0 ? { ...l, from: p } : { ...l, to: p }) : l)),
        },
  );
}

export function deleteVertex(draft: Draft, camId: string, zoneIndex: number, vertex: number): Draft {
  return mapCamera(draft, camId, (c) => ({
    ...c,
    zones: c.zones.map((z, i) => (i === zoneIndex ? { ...z, polygon: z.polygon.filter((_, k) => k !== vertex) } : z)),
  }));
}

export function deleteRule(draft: Draft, camId: string, ref: RuleRef): Draft {
  return mapCamera(draft, camId, (c) =>
    ref.kind === 'zone'
      ? { ...c, zones: c.zones.filter((_, i) => i !== ref.index) }
      : { ...c, lines: c.lines.filter((_, i) => i !== ref.index) },
  );
}

export function addLine(draft: Draft, camId: string, from: Pt, to: Pt, id?: string): { draft: Draft; ref: RuleRef } {
  let index = 0;
  const next = mapCamera(draft, camId, (c) => {
    index = c.lines.length;
    return { ...c, lines: [...c.lines, { id: id ?? nextRuleId(c, 'line'), from, to, allowedDirection: 'both' }] };
  });
  return { draft: next, ref: { kind: 'line', index } };
}

/** Swap the ends of a line: its "in" side moves to the other side. */
export function reverseLine(draft: Draft, camId: string, index: number): Draft {
  return mapCamera(draft, camId, (c) => ({
    ...c,
    lines: c.lines.map((l, i) => (i === index ? { ...l, from: l.to, to: l.from } : l)),
  }));
}

/** Change a rule's fields (id, direction, schedule…). */
export function updateRule(draft: Draft, camId: string, ref: RuleRef, patch: Partial<DraftZone & DraftLine>): Draft {
  const drop = (o: Record<string, unknown>) => {
    // `schedule: undefined` removes the schedule (the rule is on at all times)
    for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
    return o;
  };
  return mapCamera(draft, camId, (c) =>
    ref.kind === 'zone'
      ? {
          ...c,
          zones: c.zones.map((z, i) => (i === ref.index ? (drop({ ...z, ...patch }) as unknown as DraftZone) : z)),
        }
      : {
          ...c,
          lines: c.lines.map((l, i) => (i === ref.index ? (drop({ ...l, ...patch }) as unknown as DraftLine) : l)),
        },
  );
}

export function updateCamera(
  draft: Draft,
  camId: string,
  patch: Partial<Pick<DraftCamera, 'locationType' | 'trackingEnabled'>>,
): Draft {
  return mapCamera(draft, camId, (c) => ({ ...c, ...patch }));
}

/**
 * The arrow of a directed line: from its middle towards the "in" side, which is on the right when
 * walking from `from` to `to` on the image (y grows downwards): the normal (-dy, dx).
 */
export function inArrow(line: { from: Pt; to: Pt }, lengthPx: number): { from: Pt; to: Pt } {
  const mid: Pt = [(line.from[0] + line.to[0]) / 2, (line.from[1] + line.to[1]) / 2];
  const dx = line.to[0] - line.from[0];
  const dy = line.to[1] - line.from[1];
  const len = Math.hypot(dx, dy) || 1;
  return { from: mid, to: [mid[0] + (-dy / len) * lengthPx, mid[1] + (dx / len) * lengthPx] };
}

/** A default schedule to start from: school days, 07:30–18:00, Paris time. */
export function defaultSchedule(): Schedule {
  return {
    timeZone: 'Europe/Paris',
    periods: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '07:30', end: '18:00' }],
  };
}

/**
 * Issues of the server about one field: `prefix` is a dotted path (`cameras.0.zones.1`); an issue
 * on the field itself or anything below it belongs to it.
 */
export function issuesAt(issues: readonly ConfigIssue[], prefix: string): string[] {
  return issues.filter((i) => i.path === prefix || i.path.startsWith(`${prefix}.`)).map((i) => i.message);
}

/** Issues no field of the editor shows: listed at the top so none is lost. */
export function unplacedIssues(issues: readonly ConfigIssue[], placed: readonly string[]): ConfigIssue[] {
  return issues.filter((i) => !placed.some((p) => i.path === p || i.path.startsWith(`${p}.`)));
}

/** Path of a camera of the draft in the request body (issues refer to it by index). */
export function cameraPath(draft: Draft, camId: string): string {
  return `cameras.${draft.cameras.findIndex((c) => c.id === camId)}`;
}

/** What the agent says about a version: applied, rejected (with reasons), or not answered yet. */
export type ApplyState =
  | { kind: 'applied'; version: number }
  | { kind: 'rejected'; version: number | null; inForce: number | null; errors: string[] }
  | { kind: 'pending'; version: number; inForce: number | null }
  | { kind: 'none' };

export function applyStateOf(
  configState:
    | {
        appliedVersion: number | null;
        result: 'applied' | 'rejected';
        receivedVersion: number | null;
        errors?: string[];
      }
    | null
    | undefined,
  currentVersion: number | null,
): ApplyState {
  if (currentVersion === null && !configState) return { kind: 'none' };
  if (
    configState?.result === 'rejected' &&
    (currentVersion === null || configState.receivedVersion === currentVersion)
  ) {
    return {
      kind: 'rejected',
      version: configState.receivedVersion,
      inForce: configState.appliedVersion,
      errors: configState.errors ?? [],
    };
  }
  if (configState && currentVersion !== null && configState.appliedVersion === currentVersion)
    return { kind: 'applied', version: currentVersion };
  if (currentVersion === null)
    return typeof configState?.appliedVersion === 'number'
      ? { kind: 'applied', version: configState.appliedVersion }
      : { kind: 'none' };
  return { kind: 'pending', version: currentVersion, inForce: configState?.appliedVersion ?? null };
}
