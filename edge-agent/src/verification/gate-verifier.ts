import { randomBytes } from 'node:crypto';
import { withDecryptedTemplate, type AccessEvent } from '@portail/protocol';
import type { CredentialVerdict } from '../credentials/credential-check.js';
import type { EdgeStore } from '../store/edge-store.js';
import { compareTemplates, type FaceTemplate } from '@portail/vision/face/embed-template.js';
import type { FaceAnalysis } from '@portail/vision/face/face-pipeline.js';
import type { Box, FaceDetection, Frame } from '@portail/vision/types.js';
import { decidePassage, type DecisionOptions, type FaceObservation } from './decide-passage.js';
import { parseTemplate } from '@portail/vision/face/template-codec.js';

export interface GateVerifierOptions {
  /** capture zone as fractions of the frame [x, y, w, h]: only a face inside it is compared */
  captureZone: [number, number, number, number];
  /** how long faces are collected after a credential is read */
  windowMs: number;
  /** stop collecting earlier once this many frames were seen */
  maxFrames: number;
  /** a token is ignored while it stays in view and for this long after it was last seen */
  cooldownMs: number;
  decision: DecisionOptions;
}

export interface GateVerifierDeps {
  checkToken(token: Uint8Array): CredentialVerdict;
  store: Pick<EdgeStore, 'getTemplate'>;
  analyse(frame: Frame, face: FaceDetection): Promise<FaceAnalysis>;
  options: GateVerifierOptions;
}

/** One verdict per passage, ready to become an access event (no name, no image). */
export interface PassageVerdict {
  passageId: string;
  credentialId?: string;
  decision: AccessEvent['decision'];
  biometric: boolean;
  scores?: NonNullable<AccessEvent['scores']>;
  timingsMs: Record<string, number>;
  modelId?: string;
  /** why an unknown credential was refused, for logs and counters (not published) */
  detail?: string;
}

interface ActivePassage {
  passageId: string;
  credentialId: string;
  tokenKey: string;
  templateKey: Uint8Array;
  startedAtMs: number;
  observations: FaceObservation[];
  stageMs: Record<string, number[]>;
}

const passageId = () => `p-${randomBytes(6).toString('hex')}`;
const median = (v: number[]) => {
  if (v.length === 0) return 0;
  const s = [...v].sort((a, b) => a - b);
  return Math.round(s[Math.floor((s.length - 1) / 2)]! * 100) / 100;
};

/** The face in the capture zone: the largest whose centre lies inside it. */
export function faceInZone(faces: readonly FaceDetection[], zone: Box): FaceDetection | undefined {
  let best: FaceDetection | undefined;
  for (const f of faces) {
    const cx = f.box.x + f.box.w / 2;
    const cy = f.box.y + f.box.h / 2;
    if (cx < zone.x || cy < zone.y || cx > zone.x + zone.w || cy > zone.y + zone.h) continue;
    if (!best || f.box.w * f.box.h > best.box.w * best.box.h) best = f;
  }
  return best;
}

/**
 * Pairs a credential with the face in front of the camera at that moment, and only with it: a
 * face is analysed only while a passage is open, and compared only with the template of the
 * credential that opened it. There is no other comparison path (no 1:N search).
 */
export class GateVerifier {
  private active: ActivePassage | undefined;
  private cooldown = new Map<string, number>();

  constructor(private readonly deps: GateVerifierDeps) {}

  get collecting(): boolean {
    return this.active !== undefined;
  }

  /** Feed one gate frame with the tokens read in it and the faces detected in it. */
  async processFrame(frame: Frame, tokens: readonly Uint8Array[], faces: readonly FaceDetection[]): Promise<PassageVerdict[]> {
    const out: PassageVerdict[] = [];
    const t = frame.tsMs;
    for (const [k, until] of this.cooldown) if (until <= t) this.cooldown.delete(k);

    for (const token of tokens) {
      const tokenKey = Buffer.from(token).toString('base64');
      if (this.cooldown.has(tokenKey) || this.active?.tokenKey === tokenKey) {
        // still in view: the passage lasts as long as the card is shown, plus the cooldown
        this.cooldown.set(tokenKey, t + this.deps.options.cooldownMs);
        continue;
      }
      const t0 = performance.now();
      const verdict = this.deps.checkToken(token);
      const checkMs = performance.now() - t0;
      this.cooldown.set(tokenKey, t + this.deps.options.cooldownMs);
      if (verdict.kind !== 'valid') {
        out.push({
          passageId: passageId(),
          ...(verdict.credentialId ? { credentialId: verdict.credentialId } : {}),
          decision: verdict.kind,
          biometric: false,
          timingsMs: { credential: round(checkMs) },
          ...(verdict.kind === 'unknown_credential' ? { detail: verdict.reason } : {}),
        });
        continue;
      }
      const { claims } = verdict;
      const hasTemplate = claims.templateKey !== undefined && this.deps.store.getTemplate(claims.credentialId) !== undefined;
      if (!hasTemplate) {
        // badge only: same lane, same speed, no face looked at
        claims.templateKey?.fill(0);
        out.push({ passageId: passageId(), credentialId: claims.credentialId, decision: 'accepted', biometric: false, timingsMs: { credential: round(checkMs) } });
        continue;
      }
      // a new credential while another passage is open closes that one with what it has
      if (this.active) out.push(this.close());
      this.active = {
        passageId: passageId(),
        credentialId: claims.credentialId,
        tokenKey,
        templateKey: claims.templateKey!,
        startedAtMs: t,
        observations: [],
        stageMs: { credential: [checkMs] },
      };
    }

    const a = this.active;
    if (a && t >= a.startedAtMs) {
      const { captureZone } = this.deps.options;
      const zone = { x: captureZone[0] * frame.width, y: captureZone[1] * frame.height, w: captureZone[2] * frame.width, h: captureZone[3] * frame.height };
      const face = faceInZone(faces, zone);
      if (face) {
        const analysis = await this.deps.analyse(frame, face);
        for (const [stage, ms] of Object.entries(analysis.timingsMs) as [string, number][]) (a.stageMs[stage] ??= []).push(ms);
        a.observations.push({ tMs: t, quality: analysis.quality, liveness: analysis.liveness?.realScore ?? null, probe: analysis.template });
      }
      // a frame without a face in the zone still counts towards the window
      (a.stageMs.frames ??= []).push(1);
      const framesSeen = a.stageMs.frames.length;
      if (t - a.startedAtMs >= this.deps.options.windowMs || framesSeen >= this.deps.options.maxFrames) out.push(this.close(t));
    }
    return out;
  }

  /** Decide the open passage now (window over, or the agent stopping). */
  close(nowMs?: number): PassageVerdict {
    const a = this.active;
    if (!a) throw new Error('no open passage');
    this.active = undefined;
    const stored = this.deps.store.getTemplate(a.credentialId);
    let modelId: string | undefined;
    const t0 = performance.now();
    let outcome;
    try {
      outcome = stored
        ? withDecryptedTemplate(stored, a.templateKey, (plain) => {
            const reference = parseTemplate(plain, stored.encoding, { modelId: stored.modelId, sha256: stored.modelSha256 });
            modelId = reference.modelId;
            try {
              return decidePassage(a.observations, (probe: FaceTemplate) => {
                const r = compareTemplates(probe, reference);
                return r.ok ? r.value : null;
              }, this.deps.options.decision);
            } finally {
              reference.vector.fill(0);
            }
          })
        : decidePassage([], () => null, this.deps.options.decision);
    } catch {
      // a template that does not decrypt with the credential's key: treat as no usable biometrics
      outcome = { decision: 'low_quality' as const, framesSeen: a.observations.length, framesUsed: 0 };
    } finally {
      a.templateKey.fill(0);
      for (const o of a.observations) o.probe?.vector.fill(0);
    }
    const compareMs = performance.now() - t0;
    const timingsMs: Record<string, number> = {};
    for (const [stage, values] of Object.entries(a.stageMs)) if (stage !== 'frames') timingsMs[stage] = median(values);
    timingsMs.compare = round(compareMs);
    if (nowMs !== undefined) timingsMs.window = nowMs - a.startedAtMs;
    timingsMs.frames = outcome.framesSeen;
    const th = this.deps.options.decision;
    return {
      passageId: a.passageId,
      credentialId: a.credentialId,
      decision: outcome.decision,
      biometric: true,
      scores: {
        ...(outcome.similarity !== undefined ? { similarity: clamp(outcome.similarity, -1, 1), threshold: th.similarityThreshold } : {}),
        ...(outcome.liveness !== undefined ? { liveness: clamp(outcome.liveness, 0, 1) } : {}),
        ...(outcome.quality !== undefined ? { quality: clamp(outcome.quality, 0, 1) } : {}),
      },
      timingsMs,
      ...(modelId ? { modelId } : {}),
    };
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
