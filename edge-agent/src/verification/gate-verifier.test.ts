import { randomBytes } from 'node:crypto';
import { credentialIdFromBytes, dayNumber, encodeCredentialToken, encryptTemplate, generateSigningKey } from '@portail/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { checkCredential } from '../credentials/credential-check.js';
import { openEdgeStore, type EdgeStore } from '../store/edge-store.js';
import { l2NormaliseInPlace, type FaceTemplate } from '@portail/vision/face/embed-template.js';
import type { FaceAnalysis } from '@portail/vision/face/face-pipeline.js';
import type { QualityReport } from '@portail/vision/face/quality.js';
import type { FaceDetection, Frame } from '@portail/vision/types.js';
import { faceInZone, GateVerifier, type GateVerifierOptions } from './gate-verifier.js';
import { serialiseTemplate } from '@portail/vision/face/template-codec.js';

const NOW = new Date('2026-11-23T07:55:00Z');
const signing = generateSigningKey(1);
const MODEL = { modelId: 'test-embedder', sha256: 'b'.repeat(64) };
const options: GateVerifierOptions = {
  captureZone: [0.25, 0, 0.5, 1],
  windowMs: 1000,
  maxFrames: 5,
  cooldownMs: 3000,
  decision: { similarityThreshold: 0.4, livenessThreshold: 0.5, topK: 2 },
};

/** A unit vector near `base` (similarity ≈ cos of the added noise). */
const vec = (base: number[], noise = 0): FaceTemplate => ({
  ...MODEL,
  dim: base.length,
  vector: l2NormaliseInPlace(Float32Array.from(base, (x, i) => x + noise * Math.sin(i * 12.9898))),
});
const alice = Array.from({ length: 16 }, (_, i) => (i % 3) - 1);
const bob = Array.from({ length: 16 }, (_, i) => ((i * 7) % 5) - 2);

const frame = (tsMs: number): Frame => ({ cameraId: 'gate', seq: tsMs, tsMs, width: 640, height: 480, data: new Uint8Array(0) });
const faceAt = (x: number): FaceDetection => ({
  box: { x, y: 100, w: 120, h: 150 },
  score: 0.95,
  landmarks: [
    [x + 30, 150],
    [x + 90, 150],
    [x + 60, 190],
    [x + 35, 220],
    [x + 85, 220],
  ],
});
const quality = (ok = true): QualityReport => ({ ok, score: ok ? 0.9 : 0, failures: ok ? [] : ['blurred'] }) as unknown as QualityReport;

function setup(opts: { face: number[] | null; liveness?: number; qualityOk?: boolean }) {
  const store = openEdgeStore(':memory:');
  const analyse = (): Promise<FaceAnalysis> =>
    Promise.resolve({
      quality: quality(opts.qualityOk ?? true),
      liveness: { realScore: opts.liveness ?? 0.95, live: true, threshold: 0.5, label: 1, perModel: [] },
      template: opts.face ? vec(opts.face, 0.05) : null,
      timingsMs: { align: 1, quality: 1, liveness: 4, embed: 6, total: 12 },
    });
  const verifier = new GateVerifier({
    checkToken: (t) => checkCredential(t, { publicKeys: new Map([[1, signing.publicKey]]), siteCode: 9, revoked: store.revoked(), now: NOW }),
    store,
    analyse,
    options,
  });
  return { store, verifier };
}

function enrol(store: EdgeStore, face: number[] | null, o: { lastDay?: number; site?: number } = {}) {
  const credentialId = credentialIdFromBytes(randomBytes(5));
  const key = face ? new Uint8Array(randomBytes(32)) : undefined;
  if (face && key) store.putTemplate(encryptTemplate(serialiseTemplate(vec(face), 'f32'), key, { credentialId, ...MODEL, modelSha256: MODEL.sha256, encoding: 'f32' }));
  const token = encodeCredentialToken(
    { credentialId, siteCode: o.site ?? 9, lastValidDay: o.lastDay ?? dayNumber(NOW) + 100, keyId: 1, ...(key ? { templateKey: Uint8Array.from(key) } : {}) },
    signing.privateKey,
  );
  return { credentialId, token };
}

/** Run a passage: the token in view for `frames` frames at 5 fps, a face in the zone or not. */
async function passage(v: GateVerifier, token: Uint8Array | null, withFace: boolean, frames = 8, t0 = 0) {
  const verdicts = [];
  for (let i = 0; i < frames; i++) verdicts.push(...(await v.processFrame(frame(t0 + i * 200), token ? [token] : [], withFace ? [faceAt(260)] : [])));
  return verdicts;
}

describe('GateVerifier: one verdict per passage', () => {
  let store: EdgeStore | undefined;
  afterEach(() => store?.close());

  it('enrolled person with their own credential → confirmed, exactly once although the card stays in view', async () => {
    const s = setup({ face: alice });
    store = s.store;
    const { token, credentialId } = enrol(s.store, alice);
    const v = await passage(s.verifier, token, true);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ decision: 'confirmed', biometric: true, credentialId, modelId: MODEL.modelId });
    expect(v[0]!.scores!.similarity).toBeGreaterThan(0.9);
  });

  it('a card held in view longer than the cooldown is still one passage; shown again later, a new one', async () => {
    const s = setup({ face: null });
    store = s.store;
    const { token } = enrol(s.store, null);
    // 30 frames = 6 s in view with cooldownMs 3 s, then away 4 s, then shown again
    const first = await passage(s.verifier, token, false, 30);
    const again = await passage(s.verifier, token, false, 3, 6000 + 4000);
    expect(first.map((x) => x.decision)).toEqual(['accepted']);
    expect(again.map((x) => x.decision)).toEqual(['accepted']);
  });

  it("the same credential with another person's face → mismatch", async () => {
    const s = setup({ face: bob });
    store = s.store;
    const v = await passage(s.verifier, enrol(s.store, alice).token, true);
    expect(v.map((x) => x.decision)).toEqual(['mismatch']);
    expect(v[0]!.scores!.similarity).toBeLessThan(0.4);
  });

  it('credential without template → accepted at once, no face looked at', async () => {
    const s = setup({ face: alice });
    store = s.store;
    const v = await s.verifier.processFrame(frame(0), [enrol(s.store, null).token], [faceAt(260)]);
    expect(v).toMatchObject([{ decision: 'accepted', biometric: false }]);
    expect(s.verifier.collecting).toBe(false);
  });

  it('no face in the capture zone → no_face; face present but unusable → low_quality; spoof → spoof_suspected', async () => {
    const s1 = setup({ face: alice });
    expect((await passage(s1.verifier, enrol(s1.store, alice).token, false)).map((x) => x.decision)).toEqual(['no_face']);
    // a face outside the capture zone does not count
    const t2 = enrol(s1.store, alice).token;
    const outside: typeof passage = async (v, token) => {
      const out = [];
      for (let i = 0; i < 8; i++) out.push(...(await v.processFrame(frame(10_000 + i * 200), token ? [token] : [], [faceAt(10)])));
      return out;
    };
    expect((await outside(s1.verifier, t2, true)).map((x) => x.decision)).toEqual(['no_face']);
    s1.store.close();
    const s2 = setup({ face: alice, qualityOk: false });
    expect((await passage(s2.verifier, enrol(s2.store, alice).token, true)).map((x) => x.decision)).toEqual(['low_quality']);
    s2.store.close();
    const s3 = setup({ face: alice, liveness: 0.1 });
    store = s3.store;
    expect((await passage(s3.verifier, enrol(s3.store, alice).token, true)).map((x) => x.decision)).toEqual(['spoof_suspected']);
  });

  it('revoked, expired, other site and tampered tokens are refused at once without biometrics', async () => {
    const s = setup({ face: alice });
    store = s.store;
    const revoked = enrol(s.store, alice);
    s.store.revoke([revoked.credentialId]);
    const expired = enrol(s.store, null, { lastDay: dayNumber(NOW) - 1 });
    const otherSite = enrol(s.store, null, { site: 10 });
    const tampered = Uint8Array.from(enrol(s.store, null).token);
    tampered[3]! ^= 0x40;
    const v = await s.verifier.processFrame(frame(0), [revoked.token, expired.token, otherSite.token, tampered], []);
    expect(v.map((x) => [x.decision, x.biometric])).toEqual([
      ['revoked', false],
      ['expired', false],
      ['unknown_credential', false],
      ['unknown_credential', false],
    ]);
    expect(v.map((x) => x.detail)).toEqual([undefined, undefined, 'other_site', 'bad_signature']);
    // revocation is crypto-erasure: the ciphertext is gone too
    expect(s.store.getTemplate(revoked.credentialId)).toBeUndefined();
  });

  it('zeroes the probe templates once the passage is decided', async () => {
    const s = setup({ face: alice });
    store = s.store;
    const probes: FaceTemplate[] = [];
    const v = new GateVerifier({
      checkToken: (t) => checkCredential(t, { publicKeys: new Map([[1, signing.publicKey]]), siteCode: 9, revoked: new Set(), now: NOW }),
      store: s.store,
      analyse: () => {
        const template = vec(alice, 0.05);
        probes.push(template);
        return Promise.resolve({ quality: quality(), liveness: null, template, timingsMs: { align: 1, quality: 1, liveness: 0, embed: 1, total: 3 } });
      },
      options,
    });
    const out = await passage(v, enrol(s.store, alice).token, true);
    expect(out.map((x) => x.decision)).toEqual(['confirmed']);
    expect(probes.length).toBeGreaterThan(0);
    for (const p of probes) expect(p.vector.every((x) => x === 0)).toBe(true);
  });
});

describe('faceInZone: many faces in the frame', () => {
  it('compares only the largest face whose centre is in the capture zone', () => {
    const at = (x: number, w: number): FaceDetection => ({ ...faceAt(x), box: { x, y: 100, w, h: w } });
    const zone = { x: 160, y: 0, w: 320, h: 480 };
    // a big face outside the zone (a student behind), two inside: the larger inside wins
    const faces = [at(10, 200), at(200, 80), at(300, 120), at(500, 150)];
    expect(faceInZone(faces, zone)?.box.x).toBe(300);
    expect(faceInZone([at(10, 100), at(520, 100)], zone)).toBeUndefined();
    expect(faceInZone([], zone)).toBeUndefined();
  });
});
