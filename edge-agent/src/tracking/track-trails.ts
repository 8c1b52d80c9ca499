/**
 * Recent trajectories of one tracking camera, for the supervisors' camera tile (protocol topic
 * `tracks`): the foot point (bottom centre of the box) of each confirmed track, sampled, kept for
 * a short window, published every few seconds.
 *
 * Anonymous by construction: the tracker's ids never leave (they are the ones movement events
 * carry); each trail gets a short random id that is dropped at every rotation, so a person keeps
 * one for at most `rotateMs` and a trail cannot be tied to an alert or followed across rotations.
 * Points are rounded to the pixel. Pure apart from the random id source (injectable).
 */
import { randomBytes } from 'node:crypto';
import { PROTOCOL_VERSION, type Tracks } from '@portail/protocol';
import type { Box } from '@portail/vision/types.js';
import type { RulesGeometry } from './tracking-pipeline.js';

export interface TrackTrailsOptions {
  /** how far back trails go (ms) */
  windowMs?: number;
  /** a payload is due every this many ms */
  intervalMs?: number;
  /** at most one point per track per this many ms */
  sampleMs?: number;
  /** display ids are forgotten and made anew this often (ms) */
  rotateMs?: number;
  maxTracks?: number;
  maxPoints?: number;
  /** 8 base32 characters; random by default */
  newId?: () => string;
}

export const TRACK_TRAILS_DEFAULTS = {
  windowMs: 10_000,
  intervalMs: 3_000,
  sampleMs: 200,
  rotateMs: 60_000,
  maxTracks: 40,
  maxPoints: 60,
} as const;

/** One trail as published: a display id and [x, y, ageMs] points, oldest first. */
export interface TrailOut {
  id: string;
  points: Array<[number, number, number]>;
}

export interface TrailsPayloadBody {
  windowMs: number;
  tracks: TrailOut[];
}

export interface TrackTrails {
  /** The confirmed tracks of one step at `tMs` (non-decreasing). */
  observe(tracks: ReadonlyArray<{ trackId: string; box: Box }>, tMs: number): void;
  /** The trails to publish when one is due at `tMs` (every `intervalMs`), else null. */
  take(tMs: number): TrailsPayloadBody | null;
  /** Forget every trail (the camera restarted). */
  reset(): void;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

export function randomTrailId(): string {
  const bytes = randomBytes(8);
  let out = '';
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}

interface Trail {
  points: Array<{ x: number; y: number; t: number }>;
}

export function footPoint(b: Box): { x: number; y: number } {
  return { x: Math.round(b.x + b.w / 2), y: Math.round(b.y + b.h) };
}

export function createTrackTrails(opts: TrackTrailsOptions = {}): TrackTrails {
  const o = { ...TRACK_TRAILS_DEFAULTS, ...opts };
  const newId = opts.newId ?? randomTrailId;
  const trails = new Map<string, Trail>();
  // display ids of this rotation, by tracker id; cleared at every rotation
  let ids = new Map<string, string>();
  let epoch = Number.NaN;
  let lastTakeMs = Number.NEGATIVE_INFINITY;

  function prune(tMs: number): void {
    for (const [id, tr] of trails) {
      while (tr.points.length > 0 && tMs - tr.points[0]!.t > o.windowMs) tr.points.shift();
      if (tr.points.length === 0) trails.delete(id);
    }
  }

  return {
    observe(tracks, tMs) {
      for (const tr of tracks) {
        const p = footPoint(tr.box);
        let trail = trails.get(tr.trackId);
        if (!trail) {
          trail = { points: [] };
          trails.set(tr.trackId, trail);
        }
        const last = trail.points.at(-1);
        if (last && tMs - last.t < o.sampleMs) continue;
        trail.points.push({ ...p, t: tMs });
        if (trail.points.length > o.maxPoints) trail.points.shift();
      }
      prune(tMs);
    },

    take(tMs) {
      if (tMs - lastTakeMs < o.intervalMs) return null;
      lastTakeMs = tMs;
      prune(tMs);
      const e = Math.floor(tMs / o.rotateMs);
      if (e !== epoch) {
        epoch = e;
        ids = new Map();
      }
      const used = new Set(ids.values());
      const recent = [...trails.entries()]
        .sort((a, b) => b[1].points.at(-1)!.t - a[1].points.at(-1)!.t)
        .slice(0, o.maxTracks);
      const out: TrailOut[] = [];
      for (const [trackerId, tr] of recent) {
        let id = ids.get(trackerId);
        if (!id) {
          do id = newId();
          while (used.has(id));
          used.add(id);
          ids.set(trackerId, id);
        }
        out.push({ id, points: tr.points.map((p) => [p.x, p.y, Math.max(0, Math.round(tMs - p.t))]) });
      }
      // ids of trails gone from the window are not kept: nothing maps to them any more
      for (const k of [...ids.keys()]) if (!trails.has(k)) ids.delete(k);
      return { windowMs: o.windowMs, tracks: out };
    },

    reset() {
      trails.clear();
      ids = new Map();
    },
  };
}

/** The `tracks` payload of one camera at `tsMs`. */
export function tracksPayload(p: {
  site: string;
  agent: string;
  camera: string;
  tsMs: number;
  frame: { width: number; height: number };
  trails: TrailsPayloadBody;
  rules: RulesGeometry;
}): Tracks {
  return {
    v: PROTOCOL_VERSION,
    site: p.site,
    agent: p.agent,
    camera: p.camera,
    ts: new Date(p.tsMs).toISOString(),
    frame: { width: p.frame.width, height: p.frame.height },
    windowMs: p.trails.windowMs,
    tracks: p.trails.tracks,
    rules: p.rules,
  };
}
