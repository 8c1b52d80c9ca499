import { decodePayload, type AgentConfig } from '@portail/protocol';

export interface LiveConfigContext {
  site: string;
  agent: string;
  /** the cameras this agent runs (from its local file: sources stay local) */
  cameras: readonly { id: string; role: 'gate' | 'tracking' | 'both' }[];
  /**
   * score thresholds the detectors were opened with (the local file's `vision.*.scoreThreshold`):
   * a live threshold can only be stricter, since the models already dropped what scored below
   */
  scoreFloors?: { face: number; person: number };
}

/** Minimum detector scores in force: the live configuration's, else the local file's. */
export interface ScoreThresholds {
  face: number;
  person: number;
}

/** The thresholds a valid configuration puts in force (absent ones fall back to the local floors). */
export function liveScoreThresholds(c: AgentConfig, floors: ScoreThresholds): ScoreThresholds {
  return { face: c.thresholds.faceScore ?? floors.face, person: c.thresholds.personScore ?? floors.person };
}

/** Detections at or above `minScore`, in their order. */
export function keepScoresAbove<D extends { score: number }>(found: readonly D[], minScore: number): D[] {
  return found.filter((d) => d.score >= minScore);
}

export type LiveConfigResult =
  | { ok: true; config: AgentConfig }
  | { ok: false; receivedVersion: number | null; errors: string[] };

/**
 * Validate a configuration received on the retained `config` topic before anything is applied:
 * the protocol schema (which already refuses tracking outside entrances and circulation areas),
 * then what only the agent knows: that it is addressed to this agent and names its own cameras,
 * with a role that can track. All or nothing: one problem rejects the whole configuration.
 */
export function evaluateLiveConfig(raw: Uint8Array | string, ctx: LiveConfigContext): LiveConfigResult {
  const decoded = decodePayload('config', raw);
  if (!decoded.ok) return { ok: false, receivedVersion: readableVersion(raw), errors: decoded.error.messages };
  const c = decoded.value;
  const errors: string[] = [];
  if (c.site !== ctx.site || c.agent !== ctx.agent) errors.push(`site/agent: addressed to ${c.site}/${c.agent}, this agent is ${ctx.site}/${ctx.agent}`);
  c.cameras.forEach((cam, i) => {
    const local = ctx.cameras.find((l) => l.id === cam.id);
    if (!local) errors.push(`cameras.${i}.id: this agent has no camera "${cam.id}"`);
    else if (cam.trackingEnabled && local.role === 'gate') errors.push(`cameras.${i}.trackingEnabled: camera "${cam.id}" has the gate role; tracking needs role tracking or both`);
  });
  const floors = ctx.scoreFloors;
  if (floors) {
    const { faceScore, personScore } = c.thresholds;
    if (faceScore !== undefined && faceScore < floors.face)
      errors.push(`thresholds.faceScore: ${faceScore} is below ${floors.face}, the score the face detector of this agent runs at (vision.face.scoreThreshold in its local file)`);
    if (personScore !== undefined && personScore < floors.person)
      errors.push(`thresholds.personScore: ${personScore} is below ${floors.person}, the score the person detector of this agent runs at (vision.person.scoreThreshold in its local file)`);
  }
  return errors.length ? { ok: false, receivedVersion: c.configVersion, errors } : { ok: true, config: c };
}

/** The configVersion of a payload that failed validation, when it can still be read. */
function readableVersion(raw: Uint8Array | string): number | null {
  try {
    const v = (JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8')) as { configVersion?: unknown }).configVersion;
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null;
  } catch {
    // not JSON at all: there is no version to report
    return null;
  }
}
