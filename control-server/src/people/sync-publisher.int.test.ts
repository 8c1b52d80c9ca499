import { randomBytes } from 'node:crypto';
import {
  decodeSitePayload,
  encryptTemplate,
  parseSiteTopic,
  type SyncChunk,
  type SyncManifest,
} from '@portail/protocol';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../store/database.js';
import { issueStudentCredentialInTx } from './credentials.js';
import { findStudent, insertTemplate, type Student } from './people-store.js';
import { getPeopleSite } from './people-sites.js';
import { importRegistry } from './registry-import.js';
import { openSigningKeyStore } from './signing-key-store.js';
import { createSyncPublisher, type SyncPublisher } from './sync-publisher.js';
import { generateStudents, openPeopleTestEnv, registryCsv, type PeopleTestEnv } from './testing.js';
import { createWithdrawalService } from './withdrawal.js';

const logger = pino({ level: 'silent' });
const SITE = 'lycee-a';

/**
 * The publisher against a real database and key files; the broker is stood in for by a map of
 * retained messages (what a subscriber would get at its next subscription), plus the log of every
 * publish. The real broker and agent are in test/integration/enrolment-sync.int.test.ts.
 */
function retainedSink() {
  const retained = new Map<string, string>();
  const log: { topic: string; payload: string }[] = [];
  let failNext = 0;
  return {
    retained,
    log,
    failNext(n: number) {
      failNext = n;
    },
    publish: async (topic: string, payload: string, o: { qos: 0 | 1; retain: boolean }) => {
      if (failNext > 0) {
        failNext -= 1;
        throw new Error('connection closed');
      }
      log.push({ topic, payload });
      if (o.retain) {
        if (payload === '') retained.delete(topic);
        else retained.set(topic, payload);
      }
    },
    manifest(): SyncManifest {
      const d = decodeSitePayload('syncManifest', retained.get(`portail/v1/${SITE}/sync/manifest`)!);
      if (!d.ok) throw new Error(d.error.messages.join('; '));
      return d.value;
    },
    chunks(): SyncChunk[] {
      return [...retained.entries()]
        .filter(([t]) => parseSiteTopic(t)?.key === 'syncChunk')
        .map(([, p]) => {
          const d = decodeSitePayload('syncChunk', p);
          if (!d.ok) throw new Error(d.error.messages.join('; '));
          return d.value;
        });
    },
  };
}

const until = async (what: string, check: () => boolean, timeoutMs = 5_000) => {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('site sync publisher (real SQLite and key files, retained messages captured)', () => {
  let env: PeopleTestEnv;
  let students: Student[];
  let sink: ReturnType<typeof retainedSink>;
  let publisher: SyncPublisher | undefined;
  const start = (o: { chunkTargetBytes?: number } = {}) => {
    publisher = createSyncPublisher({
      db: env.db,
      dataDir: env.dataDir,
      publish: sink.publish,
      logger,
      pollMs: 30,
      ...o,
    });
    publisher.start();
    return publisher;
  };

  beforeEach(() => {
    env = openPeopleTestEnv();
    const list = generateStudents(12, 5).map((s) => ({ ...s, birthDate: '15/03/2006' }));
    importRegistry(env.db, { site: SITE, bytes: new TextEncoder().encode(registryCsv(list)), actor: 'test' });
    students = list.map((s) => findStudent(env.db, SITE, s.externalId)!);
    sink = retainedSink();
  });
  afterEach(async () => {
    await publisher?.stop();
    publisher = undefined;
    env.close();
  });

  /** An enrolment without models: a biometric credential and a ciphertext, as enrolment.ts writes them. */
  function enrol(s: Student) {
    return env.db.transaction(() => {
      const r = issueStudentCredentialInTx(env.db, env.keys, s, {
        actor: 'test',
        reason: 're-enrolled',
        biometric: true,
        now: new Date(),
      });
      insertTemplate(
        env.db,
        encryptTemplate(new Uint8Array(randomBytes(2048)), new Uint8Array(randomBytes(32)), {
          credentialId: r.record.id,
          modelId: 'faceplugin-fr-feature-512d',
          modelSha256: 'b'.repeat(64),
          encoding: 'f32',
        }),
        s.site,
        new Date().toISOString(),
      );
      return r.record.id;
    })();
  }
  const siteVersion = () => getPeopleSite(env.db, SITE)!.syncVersion;

  it('publishes the site at start: manifest at the site version, every template once, the keys and the site code', async () => {
    const ids = students.slice(0, 5).map(enrol);
    const p = start();
    await until('first publication', () => sink.retained.size > 0 && p.published(SITE) !== null);
    const m = sink.manifest();
    expect(m).toMatchObject({ site: SITE, version: siteVersion(), siteCode: 1, templateCount: 5, revocations: [] });
    expect(m.publicKeys.map((k) => k.keyId)).toEqual([1]);
    expect(m.publicKeys[0]!.pem).toBe(env.keys.current().publicKeyPem);
    expect(
      sink
        .chunks()
        .flatMap((c) => c.templates.map((t) => t.credentialId))
        .sort(),
    ).toEqual([...ids].sort());
    // nothing but ids, ciphertexts and keys: no name of the registry anywhere
    for (const { payload } of sink.log) for (const s of students) expect(payload).not.toContain(s.lastName);
  });

  it('follows a withdrawal made by another process: new version with the revocation, only the changed chunk sent', async () => {
    const ids = students.slice(0, 8).map(enrol);
    const p = start({ chunkTargetBytes: 8_000 });
    await until('first publication', () => p.published(SITE) !== null);
    const first = sink.manifest();
    expect(first.chunks.length).toBeGreaterThan(1);
    const sent = sink.log.length;
    // what portail-admin does: its own connection to the same file
    const cli = openDatabase({ dataDir: env.dataDir });
    try {
      const w = createWithdrawalService({ db: cli, keys: openSigningKeyStore(env.dataDir) }).withdrawBiometrics(
        students[2]!.id,
        { actor: 'cli:test' },
      );
      expect(w.ok).toBe(true);
    } finally {
      cli.close();
    }
    await until('the withdrawal published', () => sink.manifest().version > first.version);
    const m = sink.manifest();
    expect(m.version).toBe(siteVersion());
    expect(m.revocations).toEqual([ids[2]]);
    expect(m.templateCount).toBe(7);
    expect(sink.chunks().some((c) => c.templates.some((t) => t.credentialId === ids[2]))).toBe(false);
    const republished = sink.log.slice(sent).map((x) => parseSiteTopic(x.topic)?.key);
    // chunks are chosen by a hash of the random credential ids: when the removal keeps the chunk
    // count, only the one chunk that held the template goes again; when the plan re-splits the
    // site (the count changes), every chunk does. Either way the manifest goes last.
    if (m.chunks.length === first.chunks.length) expect(republished).toEqual(['syncChunk', 'syncManifest']);
    else expect(republished.at(-1)).toBe('syncManifest');
  });

  it('a key rotation raises the version once, even across a restart, and the manifest carries both keys', async () => {
    students.slice(0, 2).map(enrol);
    let p = start();
    await until('first publication', () => p.published(SITE) !== null);
    const v0 = sink.manifest().version;
    openSigningKeyStore(env.dataDir).rotate();
    await until('the rotation published', () => sink.manifest().version > v0);
    expect(sink.manifest()).toMatchObject({ version: v0 + 1 });
    expect(sink.manifest().publicKeys.map((k) => k.keyId)).toEqual([1, 2]);
    await p.stop();
    p = start();
    await until('publication after restart', () => p.published(SITE) !== null);
    expect(sink.manifest().version).toBe(v0 + 1);
    expect(siteVersion()).toBe(v0 + 1);
  });

  it('an agent holding a newer version (server restored from a backup) gets the site version raised past it', async () => {
    enrol(students[0]!);
    const p = start();
    await until('first publication', () => p.published(SITE) !== null);
    const v = siteVersion();
    const state = {
      v: 1 as const,
      site: SITE,
      agent: 'gate-1',
      ts: new Date().toISOString(),
      result: 'rejected' as const,
      templateCount: 1,
      revocationCount: 0,
    };
    p.onAgentState({ ...state, appliedVersion: v, receivedVersion: v });
    expect(siteVersion()).toBe(v);
    p.onAgentState({ ...state, appliedVersion: v + 40, receivedVersion: v });
    expect(siteVersion()).toBe(v + 41);
    await until('the raised version published', () => sink.manifest().version === v + 41);
  });

  it('retries a publication the broker did not take, clears chunks a shrunk site no longer uses, sends everything again after a broker loss', async () => {
    students.slice(0, 8).map(enrol);
    sink.failNext(1);
    const p = start({ chunkTargetBytes: 8_000 });
    await until('first publication despite a failure', () => p.published(SITE) !== null);
    const chunksBefore = sink.manifest().chunks.length;
    expect(chunksBefore).toBeGreaterThan(1);
    const w = createWithdrawalService({ db: env.db, keys: env.keys });
    for (const s of students.slice(0, 7)) w.departStudent(s.id, { actor: 'test' });
    p.notify(SITE);
    await until('the departures published', () => sink.manifest().templateCount === 1);
    expect(sink.manifest().chunks.length).toBeLessThan(chunksBefore);
    // the retained chunks are exactly those the manifest lists
    expect(
      sink
        .chunks()
        .map((c) => c.index)
        .sort(),
    ).toEqual(sink.manifest().chunks.map((c) => c.index));
    const n = sink.log.length;
    p.republishAll();
    await until('everything again', () => sink.log.length === n + sink.manifest().chunks.length + 1);
  });
});
