import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCredentialToken, withDecryptedTemplate, type AccessEvent, type SyncState } from '@portail/protocol';
import type { Database } from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsentService } from '../../control-server/src/people/consent.js';
import { createEnrolmentService, openEnrolmentVision } from '../../control-server/src/people/enrolment.js';
import { getPeopleSite } from '../../control-server/src/people/people-sites.js';
import { findStudent, getTemplate } from '../../control-server/src/people/people-store.js';
import { importRegistry } from '../../control-server/src/people/registry-import.js';
import { openSigningKeyStore } from '../../control-server/src/people/signing-key-store.js';
import { createWithdrawalService } from '../../control-server/src/people/withdrawal.js';
import { openDatabase } from '../../control-server/src/store/database.js';
import { openEdgeStore } from '../../edge-agent/src/store/edge-store.js';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { startTestServer, type TestServer } from '../helpers/control-server.js';
import { makeGateClip } from '../helpers/gate-clip.js';
import { recordMqtt, type RecordedMessage } from '../helpers/mqtt-recorder.js';
import { DATA_DIR } from '../helpers/paths.js';
import { waitUntil } from '../helpers/wait.js';

const SITE = 'sync-e2e';
const face = (p: string) => join(DATA_DIR, 'faces-dev', 'images', p);
// LFW photos that pass enrolment (one large frontal live face); the second of each is shown at the gate
const ALICE_PHOTOS = ['Brian_Griese/Brian_Griese_0001.jpg', 'Brian_Griese/Brian_Griese_0002.jpg'] as const;
const DAVE_PHOTOS = ['Angela_Bassett/Angela_Bassett_0001.jpg', 'Angela_Bassett/Angela_Bassett_0005.jpg'] as const;
// made-up registry entries, long enough that none can turn up by chance inside base64 ciphertexts
const PEOPLE = [
  { externalId: 'E900001', lastName: 'Quelmoravec', firstName: 'Zéphyrine', className: 'TERMINALE-ORION', birth: ['14/03/2006', '2006-03-14'] },
  { externalId: 'E900002', lastName: 'Brocéliandier', firstName: 'Anatoline', className: 'PREMIERE-LYRAE', birth: ['27/11/2005', '2005-11-27'] },
] as const;
const PHOTO_NAMES = ['Brian', 'Griese', 'Angela', 'Bassett'];
const ACCEPTANCE_SYNC_MS = 5_000;

interface Enrolled {
  studentId: number;
  credentialId: string;
  token: Uint8Array;
  /** the clear template, recovered with the token's key, to look for it on the wire */
  plain: Uint8Array;
  ciphertext: Uint8Array;
}

describe('enrolment → site sync → a real agent at the gate → withdrawal (embedded broker, auth off)', () => {
  const work = mkdtempSync(join(tmpdir(), 'portail-sync-'));
  const agentData = join(work, 'agent');
  let t: TestServer;
  let db: Database;
  let agent: AgentProcess | undefined;
  let mq: { messages: RecordedMessage[]; close(): Promise<void> } | undefined;
  let alice: Enrolled;
  let dave: Enrolled;
  let syncLatencyMs: number | undefined;

  const agentSync = async (): Promise<SyncState | null> => {
    const res = await fetch(`${t.server.httpUrl}/api/agents?site=${SITE}`);
    const list = (await res.json()) as { agents: { agent: string; syncState: SyncState | null }[] };
    return list.agents.find((a) => a.agent === 'gate-1')?.syncState ?? null;
  };
  const accessEvents = async (): Promise<AccessEvent[]> => {
    const res = await fetch(`${t.server.httpUrl}/api/events?kind=access&limit=200`);
    return ((await res.json()) as { events: { payload: AccessEvent }[] }).events.map((e) => e.payload).sort((a, b) => a.ts.localeCompare(b.ts));
  };

  beforeAll(async () => {
    t = await startTestServer();
    // a third party on the broker from before the enrolment to the end: what crosses MQTT
    mq = await recordMqtt(t.server.mqttUrl, '#');
    // what portail-admin does: its own connection to the server's database and key files
    db = openDatabase({ dataDir: t.dataDir });
    const keys = openSigningKeyStore(t.dataDir);
    const csv = ['Identifiant élève;Nom;Prénom;Division;Date de naissance', ...PEOPLE.map((p) => [p.externalId, p.lastName, p.firstName, p.className, p.birth[0]].join(';'))].join('\r\n');
    const imported = importRegistry(db, { site: SITE, bytes: new TextEncoder().encode(`${csv}\r\n`), actor: 'test' });
    expect(imported.ok).toBe(true);
    const consent = createConsentService({ db, keys });
    const vision = await openEnrolmentVision();
    const enrolment = createEnrolmentService({ db, keys, vision });
    const enrol = async (externalId: string, photo: string): Promise<Enrolled> => {
      const s = findStudent(db, SITE, externalId)!;
      // adults: their own consent is the one needed
      consent.record({ studentId: s.id, party: 'student', action: 'grant', channel: 'in_person', noticeVersion: 'v1', actor: 'test' });
      const r = await enrolment.enrol({ studentId: s.id, photo: new Uint8Array(readFileSync(face(photo))), actor: 'test' });
      if (!r.ok) throw new Error(`${externalId}: ${r.error.code} ${r.error.message}`);
      const { credentialId, token } = r.value.credential;
      const claims = decodeCredentialToken(token, keys.publicKeys());
      if (!claims.ok) throw new Error(claims.error.message);
      const stored = getTemplate(db, credentialId)!;
      const plain = withDecryptedTemplate(stored, claims.value.templateKey!, (p) => Uint8Array.from(p));
      claims.value.templateKey!.fill(0);
      return { studentId: s.id, credentialId, token, plain, ciphertext: stored.ciphertext };
    };
    try {
      alice = await enrol(PEOPLE[0].externalId, ALICE_PHOTOS[0]);
      dave = await enrol(PEOPLE[1].externalId, DAVE_PHOTOS[0]);
    } finally {
      await vision.close();
    }

    // a loop of the two passages: each card with its holder's other photo, ~10 s per turn
    const clip = join(work, 'gate.mp4');
    await makeGateClip(
      [
        { token: alice.token, faceImage: face(ALICE_PHOTOS[1]), seconds: 3 },
        { token: dave.token, faceImage: face(DAVE_PHOTOS[1]), seconds: 3 },
      ],
      clip,
      { fps: 10, gapSeconds: 2 },
    );
    agent = spawnAgent({
      site: SITE,
      agent: 'gate-1',
      mqtt: { url: t.server.mqttUrl },
      dataDir: agentData,
      healthIntervalS: 1,
      vision: { person: { enabled: false } },
      // nothing local: keys, site code, templates and revocations all come from the site sync
      credentials: {},
      // LFW press photos are photos of photos: liveness at the gate is exercised on liveness-samples instead
      verification: { liveness: false, captureZone: [0, 0, 0.6, 1], windowMs: 1000, cooldownMs: 1500 },
      cameras: [{ id: 'gate', url: clip, role: 'gate', loop: true, maxFps: 10 }],
    });
  }, 120_000);

  afterAll(async () => {
    await agent?.stop('SIGTERM');
    await mq?.close();
    db?.close();
    await t?.server.close();
    alice?.plain.fill(0);
    dave?.plain.fill(0);
    rmSync(work, { recursive: true, force: true });
    if (syncLatencyMs !== undefined) process.stdout.write(`${JSON.stringify({ metric: 'withdrawal_to_agent_ack_ms', value: syncLatencyMs })}\n`);
  });

  it('confirms the enrolled person at the gate; after the withdrawal the agent acknowledges the new version within 5 s and the same card is revoked', async () => {
    const siteVersion = () => getPeopleSite(db, SITE)!.syncVersion;
    const enrolledVersion = siteVersion();
    const first = await waitUntil(
      async () => {
        const s = await agentSync();
        return s?.appliedVersion === enrolledVersion ? s : null;
      },
      `the agent's acknowledgement of version ${enrolledVersion} (agent output: ${agent?.output().slice(-600)})`,
      60_000,
      200,
    );
    expect(first).toMatchObject({ result: 'applied', templateCount: 2, revocationCount: 0 });
    await waitUntil(
      async () => {
        const evs = await accessEvents();
        const ok = (c: string) => evs.some((e) => e.credentialId === c && e.decision === 'confirmed');
        return ok(alice.credentialId) && ok(dave.credentialId);
      },
      `both enrolled cards confirmed at the gate (agent output: ${agent?.output().slice(-600)})`,
      60_000,
      250,
    );

    const withdrawal = createWithdrawalService({ db, keys: openSigningKeyStore(t.dataDir) });
    const t0 = Date.now();
    const w = withdrawal.withdrawBiometrics(alice.studentId, { actor: 'test', reason: 'consent-withdrawn' });
    expect(w.ok && w.value.credentialsRevoked).toEqual([alice.credentialId]);
    const withdrawnVersion = siteVersion();
    expect(withdrawnVersion).toBeGreaterThan(enrolledVersion);
    // the acceptance bound of the issue: the agent reports the new version within 5 s
    const acked = await waitUntil(
      async () => {
        const s = await agentSync();
        return s && s.appliedVersion! >= withdrawnVersion ? s : null;
      },
      'the agent acknowledging the withdrawal',
      ACCEPTANCE_SYNC_MS,
      25,
    );
    syncLatencyMs = Date.now() - t0;
    expect(acked).toMatchObject({ appliedVersion: withdrawnVersion, result: 'applied', templateCount: 1, revocationCount: 1 });
    const ackedAt = new Date().toISOString();

    // the next passages: the same card revoked, the other still confirmed
    await waitUntil(
      async () => {
        const later = (await accessEvents()).filter((e) => e.ts > ackedAt);
        const seen = (c: string, d: AccessEvent['decision']) => later.some((e) => e.credentialId === c && e.decision === d);
        return seen(alice.credentialId, 'revoked') && seen(dave.credentialId, 'confirmed');
      },
      `the withdrawn card revoked at the gate (agent output: ${agent?.output().slice(-600)})`,
      45_000,
      250,
    );
    const afterAck = (await accessEvents()).filter((e) => e.ts > ackedAt && e.credentialId === alice.credentialId);
    expect(afterAck.map((e) => e.decision)).not.toContain('confirmed');

    // the agent's own store: the ciphertext is gone, the credential revoked, the other kept
    expect(await agent!.stop('SIGTERM')).toBe(0);
    const store = openEdgeStore(join(agentData, 'agent.sqlite'));
    try {
      expect(store.getTemplate(alice.credentialId)).toBeUndefined();
      expect(store.revoked().has(alice.credentialId)).toBe(true);
      expect(store.getTemplate(dave.credentialId)).toBeDefined();
      expect(store.heldSync()).toMatchObject({ version: withdrawnVersion, siteCode: getPeopleSite(db, SITE)!.siteCode });
    } finally {
      store.close();
    }
  }, 90_000);

  it('nothing personal crossed MQTT: no name, class, birth date, photo or clear template in any topic or payload', async () => {
    await mq!.close();
    const messages = mq!.messages;
    const on = (pred: (m: RecordedMessage) => boolean) => messages.filter(pred).length;
    // the recording saw the enrolment's sync, the withdrawal's and the passages: it cannot pass empty
    expect(on((m) => m.topic === `portail/v1/${SITE}/sync/manifest`)).toBeGreaterThanOrEqual(2);
    expect(on((m) => m.topic.startsWith(`portail/v1/${SITE}/sync/templates/`))).toBeGreaterThanOrEqual(2);
    expect(on((m) => m.topic === `portail/v1/${SITE}/gate-1/events/access`)).toBeGreaterThanOrEqual(3);
    expect(on((m) => m.topic === `portail/v1/${SITE}/gate-1/sync/state`)).toBeGreaterThanOrEqual(2);
    // every message is one of the contract's, valid against its schema
    expect(messages.filter((m) => m.invalid).map((m) => `${m.topic}: ${m.invalid!.join('; ')}`)).toEqual([]);
    // and the ciphertexts did cross (base64), so what follows looks at the payloads that matter
    const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
    expect(messages.some((m) => m.payload.includes(b64(alice.ciphertext)))).toBe(true);

    const words = [
      ...PEOPLE.flatMap((p) => [p.lastName, p.firstName, p.className, ...p.birth]),
      ...PHOTO_NAMES,
    ].map((w) => w.toLowerCase());
    // the clear template in any of the three base64 alignments, raw, or as hex
    const plains = [alice.plain, dave.plain];
    const plainB64 = plains.flatMap((p) => [0, 1, 2].map((k) => b64(p.subarray(k, k + 48))));
    const plainHex = plains.map((p) => Buffer.from(p.subarray(0, 32)).toString('hex'));
    const floatArray = /\[\s*-?\d+(\.\d+)?(e[-+]?\d+)?(\s*,\s*-?\d+(\.\d+)?(e[-+]?\d+)?){15,}/i;
    for (const m of messages) {
      const text = `${m.topic}\n${m.payload}`.toLowerCase();
      for (const w of words) expect(text, `"${w}" in ${m.topic}`).not.toContain(w);
      // JPEG and PNG: raw signatures, or base64 at the start of a JSON string
      expect(m.bytes.includes(Buffer.from([0xff, 0xd8, 0xff])), `JPEG bytes in ${m.topic}`).toBe(false);
      expect(m.bytes.includes(Buffer.from('\x89PNG', 'latin1')), `PNG bytes in ${m.topic}`).toBe(false);
      expect(m.payload, `image base64 in ${m.topic}`).not.toMatch(/"\/9j\/|"iVBORw0KGgo/);
      for (const p of plains) expect(m.bytes.includes(Buffer.from(p.subarray(0, 64))), `clear template bytes in ${m.topic}`).toBe(false);
      for (const s of [...plainB64, ...plainHex]) expect(m.payload.includes(s), `clear template in ${m.topic}`).toBe(false);
      expect(m.payload, `a vector of numbers in ${m.topic}`).not.toMatch(floatArray);
    }
  });
});
