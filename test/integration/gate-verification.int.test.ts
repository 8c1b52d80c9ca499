import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  credentialIdFromBytes,
  dayNumber,
  encodeCredentialToken,
  encryptTemplate,
  generateSigningKey,
  type AccessEvent,
} from '@portail/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEdgeStore } from '../../edge-agent/src/store/edge-store.js';
import { serialiseTemplate } from '@portail/vision/face/template-codec.js';
import { createFacePipeline } from '@portail/vision/face/face-pipeline.js';
import { createYunetDetector } from '@portail/vision/face/yunet-detector.js';
import { loadImageAsFrame } from '@portail/vision/image-frame.js';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { startTestServer, type TestServer } from '../helpers/control-server.js';
import { makeGateClip, type PassageSpec } from '../helpers/gate-clip.js';
import { DATA_DIR } from '../helpers/paths.js';
import { waitUntil } from '../helpers/wait.js';

const face = (p: string) => join(DATA_DIR, 'faces-dev', 'images', p);
// two photos of each enrolled person: one to enrol, another shown at the gate
const ALICE = ['Abel_Pacheco/Abel_Pacheco_0001.jpg', 'Abel_Pacheco/Abel_Pacheco_0004.jpg'] as const;
const DAVE = ['Amber_Tamblyn/Amber_Tamblyn_0001.jpg', 'Amber_Tamblyn/Amber_Tamblyn_0002.jpg'] as const;
const BOB = 'Dean_Barker/Dean_Barker_0001.jpg';
const SITE_CODE = 77;

describe('gate verification end to end: generated gate clip → real agent → server', () => {
  const work = mkdtempSync(join(tmpdir(), 'portail-gate-'));
  const signing = generateSigningKey(1);
  const today = dayNumber(new Date());
  let t: TestServer;
  let agent: AgentProcess | undefined;
  const expected: AccessEvent['decision'][] = [];
  const passages: PassageSpec[] = [];

  beforeAll(async () => {
    // enrol Alice and Dave with the same pipeline and model as the edge, into the agent's store
    const dataDir = join(work, 'agent');
    const store = openEdgeStore(join(dataDir, 'agent.sqlite'));
    const detector = await createYunetDetector({ scoreThreshold: 0.5 });
    const pipeline = await createFacePipeline({ liveness: false });
    const enrol = async (photo: string) => {
      const frame = await loadImageAsFrame(face(photo));
      const [f] = await detector.detect(frame);
      const analysis = await pipeline.analyse(frame, f!);
      const credentialId = credentialIdFromBytes(randomBytes(5));
      const key = new Uint8Array(randomBytes(32));
      store.putTemplate(
        encryptTemplate(serialiseTemplate(analysis.template!, 'f32'), key, {
          credentialId,
          modelId: analysis.template!.modelId,
          modelSha256: analysis.template!.sha256,
          encoding: 'f32',
        }),
      );
      analysis.template!.vector.fill(0);
      return { credentialId, key };
    };
    const token = (credentialId: string, o: { key?: Uint8Array; lastDay?: number } = {}) =>
      encodeCredentialToken(
        { credentialId, siteCode: SITE_CODE, lastValidDay: o.lastDay ?? today + 200, keyId: 1, ...(o.key ? { templateKey: o.key } : {}) },
        signing.privateKey,
      );
    const alice = await enrol(ALICE[0]);
    const dave = await enrol(DAVE[0]);
    const revoked = await enrol(DAVE[0]);
    store.revoke([revoked.credentialId]);
    await detector.close();
    await pipeline.close();
    store.close();

    const tampered = Uint8Array.from(token(credentialIdFromBytes(randomBytes(5))));
    tampered[7]! ^= 0x01;
    const add = (decision: AccessEvent['decision'], p: PassageSpec) => {
      expected.push(decision);
      passages.push(p);
    };
    add('confirmed', { token: token(alice.credentialId, { key: alice.key }), faceImage: face(ALICE[1]), seconds: 3 });
    add('mismatch', { token: token(alice.credentialId, { key: alice.key }), faceImage: face(BOB), seconds: 3 });
    add('accepted', { token: token(credentialIdFromBytes(randomBytes(5))), faceImage: face(BOB), seconds: 2 });
    add('unknown_credential', { token: tampered, faceImage: face(BOB), seconds: 2 });
    add('revoked', { token: token(revoked.credentialId, { key: revoked.key }), faceImage: face(DAVE[1]), seconds: 2 });
    add('no_face', { token: token(dave.credentialId, { key: dave.key }), seconds: 3 });
    add('expired', { token: token(credentialIdFromBytes(randomBytes(5)), { lastDay: today - 1 }), seconds: 2 });
    const clip = join(work, 'gate.mp4');
    await makeGateClip(passages, clip, { fps: 10, gapSeconds: 2 });

    t = await startTestServer();
    agent = spawnAgent({
      site: 'gate-e2e',
      agent: 'gate-1',
      mqtt: { url: t.server.mqttUrl },
      dataDir,
      healthIntervalS: 1,
      vision: { person: { enabled: false } },
      credentials: { siteCode: SITE_CODE, publicKeys: [{ keyId: 1, pem: signing.publicKey.export({ type: 'spki', format: 'pem' }).toString() }] },
      // LFW press photos are photos of photos: liveness is exercised on liveness-samples instead
      verification: { liveness: false, captureZone: [0, 0, 0.6, 1], windowMs: 1000, cooldownMs: 1500 },
      cameras: [{ id: 'gate', url: clip, role: 'gate', loop: false, maxFps: 10 }],
    });
  }, 180_000);

  afterAll(async () => {
    await agent?.stop('SIGTERM');
    await t?.server.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('publishes exactly one verdict per passage, in order, with the right decision', async () => {
    type Ev = { payload: AccessEvent; ts: string };
    const accessEvents = async (): Promise<Ev[]> => {
      const res = await fetch(`${t.server.httpUrl}/api/events?kind=access&limit=100`);
      return ((await res.json()) as { events: Ev[] }).events.sort((a, b) => a.ts.localeCompare(b.ts));
    };
    // the clip lasts ~35 s; it ends with an `ended` camera event
    await waitUntil(async () => {
      const res = await fetch(`${t.server.httpUrl}/api/events?kind=camera&limit=20`);
      const evs = ((await res.json()) as { events: { agent: string; payload: { code: string } }[] }).events;
      return evs.some((e) => e.agent === 'gate-1' && e.payload.code === 'ENDED');
    }, `end of the gate clip (agent output: ${agent?.output().slice(-800)})`, 150_000, 500);
    const events = await accessEvents();
    expect(events.map((e) => e.payload.decision)).toEqual(expected);
    const byDecision = Object.fromEntries(events.map((e) => [e.payload.decision, e.payload]));
    expect(byDecision.confirmed).toMatchObject({ biometric: true });
    expect(byDecision.confirmed!.scores!.similarity!).toBeGreaterThan(byDecision.confirmed!.scores!.threshold!);
    expect(byDecision.mismatch!.scores!.similarity!).toBeLessThan(byDecision.mismatch!.scores!.threshold!);
    expect(byDecision.accepted).toMatchObject({ biometric: false });
    expect(byDecision.no_face).toMatchObject({ biometric: true });
    // nothing personal in the events: pseudonymous ids and scores only
    for (const e of events) expect(JSON.stringify(e.payload)).not.toMatch(/Abel|Amber|Dean|Pacheco|Tamblyn|Barker/);
  }, 200_000);
});
