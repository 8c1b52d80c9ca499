import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  buildSiteTopic,
  credentialIdFromBytes,
  dayNumber,
  encodeCredentialToken,
  encodeSitePayload,
  encryptTemplate,
  generateSigningKey,
  syncChunkIndex,
  templateSetDigest,
  templateToWire,
  type EncryptedTemplate,
  type SyncState,
} from '@portail/protocol';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkCredential } from '../credentials/credential-check.js';
import { openEdgeStore, type EdgeStore } from '../store/edge-store.js';
import { createCredentialTrust } from './credential-trust.js';
import { createEdgeSync, type EdgeSync } from './edge-sync.js';
import { SyncAssembler } from './sync-assembler.js';

const SITE = 'lycee-a';
const logger = pino({ level: 'silent' });
const SHA = 'cd'.repeat(32);
const keyA = generateSigningKey(1);
const keyB = generateSigningKey(2);
const pemOf = (k: typeof keyA) => k.publicKey.export({ type: 'spki', format: 'pem' }).toString();

interface Enrolled {
  id: string;
  key: Uint8Array;
  ct: EncryptedTemplate;
}
function enrolled(): Enrolled {
  const id = credentialIdFromBytes(randomBytes(5));
  const key = new Uint8Array(randomBytes(32));
  return { id, key, ct: encryptTemplate(new Uint8Array(randomBytes(512)), key, { credentialId: id, modelId: 'm', modelSha256: SHA, encoding: 'f32' }) };
}

/** What the server publishes for a site (the same split as control-server/src/people/sync-plan.ts). */
function publication(o: {
  version: number;
  templates: EncryptedTemplate[];
  revocations?: string[];
  siteCode?: number;
  keys?: (typeof keyA)[];
  chunkCount?: number;
}): { manifest: [string, Buffer]; chunks: [string, Buffer][] } {
  const n = o.chunkCount ?? 2;
  const ts = new Date().toISOString();
  const wire = o.templates.map(templateToWire);
  const buckets = Array.from({ length: n }, (_, i) => wire.filter((t) => syncChunkIndex(t.credentialId, n) === i));
  const chunks = buckets.map((templates, index): [string, Buffer] => [
    buildSiteTopic('syncChunk', SITE, index),
    Buffer.from(encodeSitePayload('syncChunk', { v: 1, site: SITE, ts, index, templates })),
  ]);
  const manifest = encodeSitePayload('syncManifest', {
    v: 1,
    site: SITE,
    ts,
    version: o.version,
    siteCode: o.siteCode ?? 9,
    publicKeys: (o.keys ?? [keyA]).map((k) => ({ keyId: k.keyId, pem: pemOf(k) })),
    revocations: o.revocations ?? [],
    templateCount: wire.length,
    templatesDigest: templateSetDigest(wire),
    chunks: buckets.map((b, index) => ({ index, count: b.length, digest: templateSetDigest(b) })),
  });
  return { manifest: [buildSiteTopic('syncManifest', SITE), Buffer.from(manifest)], chunks };
}

describe('SyncAssembler', () => {
  it('is complete only once every chunk the manifest lists is held with its digest, whatever the order', () => {
    const a = new SyncAssembler(SITE);
    const ts = [enrolled(), enrolled(), enrolled(), enrolled()].map((e) => e.ct);
    const p = publication({ version: 4, templates: ts, chunkCount: 2 });
    expect(a.accept(...p.chunks[1]!)).toEqual({ kind: 'incomplete', version: null, missing: [] });
    expect(a.accept(...p.manifest)).toEqual({ kind: 'incomplete', version: 4, missing: [0] });
    const step = a.accept(...p.chunks[0]!);
    expect(step.kind).toBe('complete');
    if (step.kind !== 'complete') return;
    expect(step.manifest).toBe(false);
    expect(step.snapshot).toMatchObject({ version: 4, siteCode: 9 });
    expect(step.snapshot.templates.map((t) => t.credentialId).sort()).toEqual(ts.map((t) => t.credentialId).sort());
  });

  it('waits for the new chunk when a manifest arrives before it, and takes a chunk update before its manifest', () => {
    const a = new SyncAssembler(SITE);
    const e = [enrolled(), enrolled(), enrolled()];
    const v1 = publication({ version: 1, templates: e.map((x) => x.ct), chunkCount: 1 });
    const v2 = publication({ version: 2, templates: e.slice(1).map((x) => x.ct), revocations: [e[0]!.id], chunkCount: 1 });
    a.accept(...v1.chunks[0]!);
    expect(a.accept(...v1.manifest).kind).toBe('complete');
    // the new manifest first: the held chunk is the old one
    expect(a.accept(...v2.manifest)).toMatchObject({ kind: 'incomplete', version: 2, missing: [0] });
    expect(a.accept(...v2.chunks[0]!)).toMatchObject({ kind: 'complete', snapshot: { version: 2, revocations: [e[0]!.id] } });
    // a chunk newer than the manifest held leaves it incomplete rather than mixing versions
    const v3 = publication({ version: 3, templates: [e[2]!.ct], chunkCount: 1 });
    expect(a.accept(...v3.chunks[0]!)).toMatchObject({ kind: 'incomplete', version: 2, missing: [0] });
  });

  it('ignores other sites and cleared chunks, and reports malformed messages with their version', () => {
    const a = new SyncAssembler(SITE);
    expect(a.accept('portail/v1/other/sync/manifest', Buffer.from('{}'))).toEqual({ kind: 'ignored' });
    expect(a.accept('portail/v1/lycee-a/gate-1/config', Buffer.from('{}'))).toEqual({ kind: 'ignored' });
    expect(a.accept(buildSiteTopic('syncChunk', SITE, 3), Buffer.alloc(0))).toEqual({ kind: 'ignored' });
    const bad = a.accept(buildSiteTopic('syncManifest', SITE), Buffer.from(JSON.stringify({ v: 1, site: SITE, version: 7 })));
    expect(bad).toMatchObject({ kind: 'invalid', receivedVersion: 7 });
    const wrongIndex = publication({ version: 1, templates: [], chunkCount: 2 }).chunks[1]![1];
    expect(a.accept(buildSiteTopic('syncChunk', SITE, 0), wrongIndex)).toMatchObject({ kind: 'invalid' });
  });
});

describe('edge store: applySync', () => {
  let store: EdgeStore;
  beforeEach(() => {
    store = openEdgeStore(':memory:');
  });
  afterEach(() => store.close());

  const snap = (version: number, templates: EncryptedTemplate[], revocations: string[] = [], siteCode = 9) => ({
    version,
    siteCode,
    publicKeys: [{ keyId: 1, pem: pemOf(keyA) }],
    revocations,
    templates,
  });

  it('upserts templates, deletes those no longer listed, and revokes (deleting the ciphertext) in one step', () => {
    const [a, b, c] = [enrolled(), enrolled(), enrolled()];
    const r1 = store.applySync(snap(1, [a.ct, b.ct]));
    expect(r1).toMatchObject({ ok: true, value: { version: 1, templatesWritten: 2, templatesDeleted: 0, templateCount: 2 } });
    // b withdrawn (revoked, ciphertext deleted), c enrolled, a re-encrypted (re-issue) under the same id
    const a2 = { ...a.ct, iv: new Uint8Array(randomBytes(12)) };
    const r2 = store.applySync(snap(2, [a2, c.ct], [b.id]));
    expect(r2).toMatchObject({ ok: true, value: { version: 2, templatesWritten: 2, templatesDeleted: 1, revocationsAdded: 1, templateCount: 2, revocationCount: 1 } });
    expect(store.getTemplate(b.id)).toBeUndefined();
    expect(store.revoked().has(b.id)).toBe(true);
    expect(Buffer.from(store.getTemplate(a.id)!.iv).equals(Buffer.from(a2.iv))).toBe(true);
    expect(store.heldSync()).toMatchObject({ version: 2, siteCode: 9, publicKeys: [{ keyId: 1 }] });
    expect(store.templatesDigest()).toBe(templateSetDigest([a2, c.ct].map(templateToWire)));
    // the same snapshot again writes nothing
    expect(store.applySync(snap(2, [a2, c.ct], [b.id]))).toMatchObject({ ok: true, value: { templatesWritten: 0, templatesDeleted: 0, revocationsAdded: 0 } });
  });

  it('refuses an older version and changes nothing', () => {
    const [a, b] = [enrolled(), enrolled()];
    store.applySync(snap(5, [a.ct]));
    const r = store.applySync(snap(4, [b.ct], [a.id], 10));
    expect(r).toMatchObject({ ok: false, error: { code: 'SYNC_ERR_OLDER', heldVersion: 5 } });
    expect(store.getTemplate(a.id)).toBeDefined();
    expect(store.getTemplate(b.id)).toBeUndefined();
    expect(store.revoked().size).toBe(0);
    expect(store.heldSync()).toMatchObject({ version: 5, siteCode: 9 });
  });

  it('never takes back a revocation, nor stores a template of a credential it holds as revoked', () => {
    const a = enrolled();
    store.revoke([a.id]);
    const r = store.applySync(snap(1, [a.ct]));
    expect(r).toMatchObject({ ok: true, value: { templatesRefused: 1, templateCount: 0 } });
    expect(store.getTemplate(a.id)).toBeUndefined();
    store.applySync(snap(2, [], []));
    expect(store.revoked().has(a.id)).toBe(true);
  });
});

describe('edge sync: messages → store → gate trust → acknowledgement', () => {
  let store: EdgeStore;
  let sync: EdgeSync;
  let states: SyncState[];
  const trust = () => holder.current();
  let holder: ReturnType<typeof createCredentialTrust>;
  const feed = (p: ReturnType<typeof publication>) => {
    for (const c of p.chunks) sync.onMessage(...c);
    sync.onMessage(...p.manifest);
  };
  const check = (e: Enrolled, signer = keyA, siteCode = 9) =>
    checkCredential(
      encodeCredentialToken({ credentialId: e.id, siteCode, lastValidDay: dayNumber(new Date()) + 30, keyId: signer.keyId, templateKey: e.key }, signer.privateKey),
      { publicKeys: trust().publicKeys, siteCode: trust().siteCode ?? -1, revoked: store.revoked(), now: new Date() },
    ).kind;

  beforeEach(() => {
    store = openEdgeStore(':memory:');
    states = [];
    holder = createCredentialTrust(undefined, undefined);
    sync = createEdgeSync({ site: SITE, agent: 'gate-1', store, trust: holder, publishState: (s) => states.push(s), logger });
  });
  afterEach(() => store.close());

  it('starts with no trust, then checks cards with the keys and site code of the snapshot applied', () => {
    const alice = enrolled();
    expect(trust().source).toBe('none');
    expect(check(alice)).toBe('unknown_credential');
    feed(publication({ version: 3, templates: [alice.ct] }));
    expect(states.at(-1)).toMatchObject({ site: SITE, agent: 'gate-1', appliedVersion: 3, result: 'applied', receivedVersion: 3, templateCount: 1, revocationCount: 0 });
    expect(trust()).toMatchObject({ source: 'server', version: 3, siteCode: 9 });
    expect(check(alice)).toBe('valid');
    expect(store.getTemplate(alice.id)).toBeDefined();
  });

  it('withdrawal: the next version revokes the card and deletes its ciphertext; a key rotation swaps the keys', () => {
    const [alice, bob] = [enrolled(), enrolled()];
    feed(publication({ version: 1, templates: [alice.ct, bob.ct] }));
    feed(publication({ version: 2, templates: [bob.ct], revocations: [alice.id] }));
    expect(states.at(-1)).toMatchObject({ appliedVersion: 2, result: 'applied', templateCount: 1, revocationCount: 1 });
    expect(check(alice)).toBe('revoked');
    expect(store.getTemplate(alice.id)).toBeUndefined();
    expect(check(bob)).toBe('valid');
    // rotation to key 2 with key 1 retired: cards signed with 1 are no longer trusted
    feed(publication({ version: 3, templates: [bob.ct], revocations: [alice.id], keys: [keyB] }));
    expect(check(bob, keyB)).toBe('valid');
    expect(check(bob, keyA)).toBe('unknown_credential');
  });

  it('re-acknowledges the same snapshot at a reconnect without applying it again, and refuses an older one', () => {
    const alice = enrolled();
    const v5 = publication({ version: 5, templates: [alice.ct] });
    feed(v5);
    const n = states.length;
    // a reconnect: the broker sends every retained message again
    feed(v5);
    expect(states.length).toBe(n + 1);
    expect(states.at(-1)).toMatchObject({ appliedVersion: 5, result: 'applied' });
    feed(publication({ version: 4, templates: [] }));
    expect(states.at(-1)).toMatchObject({ appliedVersion: 5, result: 'rejected', receivedVersion: 4 });
    expect(states.at(-1)!.errors![0]).toMatch(/older than the version held \(5\)/);
    expect(store.getTemplate(alice.id)).toBeDefined();
    expect(trust().version).toBe(5);
  });

  it('a restart keeps the snapshot in force: trust comes from agent.sqlite before any message', () => {
    const alice = enrolled();
    feed(publication({ version: 8, templates: [alice.ct], siteCode: 12 }));
    const restarted = createCredentialTrust(store.heldSync(), { siteCode: 1, publicKeys: new Map() });
    expect(restarted.current()).toMatchObject({ source: 'server', version: 8, siteCode: 12 });
    expect([...restarted.current().publicKeys.keys()]).toEqual([1]);
    // without any snapshot held, the local file is the bootstrap
    expect(createCredentialTrust(undefined, { siteCode: 1, publicKeys: new Map() }).current()).toMatchObject({ source: 'local', siteCode: 1 });
  });

  it('refuses a snapshot whose key is not an Ed25519 public key, before storing anything', () => {
    const alice = enrolled();
    feed(publication({ version: 2, templates: [alice.ct] }));
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    const bad: typeof keyA = { keyId: 3, privateKey: keyA.privateKey, publicKey: rsa };
    feed(publication({ version: 3, templates: [], revocations: [alice.id], keys: [bad] }));
    expect(states.at(-1)).toMatchObject({ appliedVersion: 2, result: 'rejected', receivedVersion: 3 });
    expect(states.at(-1)!.errors![0]).toMatch(/not Ed25519/);
    expect(store.getTemplate(alice.id)).toBeDefined();
    expect(check(alice)).toBe('valid');
  });

  it('rejects a malformed manifest and keeps the snapshot in force', () => {
    const alice = enrolled();
    feed(publication({ version: 2, templates: [alice.ct] }));
    sync.onMessage(buildSiteTopic('syncManifest', SITE), Buffer.from('{"v":1,"version":3,"name":"Léa"}'));
    expect(states.at(-1)).toMatchObject({ appliedVersion: 2, result: 'rejected', receivedVersion: 3 });
    expect(check(alice)).toBe('valid');
  });
});
