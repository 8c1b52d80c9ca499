import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { credentialIdFromBytes, encryptTemplate, generateSigningKey } from '../credential/index.js';
import { SYNC_CHUNK_TARGET_BYTES, SYNC_MAX_REVOCATIONS, type SyncManifest } from '../schemas/sync.js';
import { decodeSitePayload, encodeSitePayload } from '../validate.js';
import { MAX_PAYLOAD_BYTES } from '../version.js';
import { syncChunkIndex, templateFromWire, templateSetDigest, templateToWire } from './sync-wire.js';

const SHA = 'ab'.repeat(32);
const template = (bytes = 2048) =>
  templateToWire(
    encryptTemplate(new Uint8Array(randomBytes(bytes)), new Uint8Array(randomBytes(32)), {
      credentialId: credentialIdFromBytes(randomBytes(5)),
      modelId: 'faceplugin-fr-feature-512d',
      modelSha256: SHA,
      encoding: 'f32',
    }),
  );
const pem = generateSigningKey(1).publicKey.export({ type: 'spki', format: 'pem' }).toString();

function manifest(over: Partial<SyncManifest> = {}): SyncManifest {
  return {
    v: 1,
    site: 'lycee-a',
    ts: new Date().toISOString(),
    version: 3,
    siteCode: 7,
    publicKeys: [{ keyId: 1, pem }],
    revocations: [],
    templateCount: 0,
    templatesDigest: templateSetDigest([]),
    chunks: [{ index: 0, count: 0, digest: templateSetDigest([]) }],
    ...over,
  };
}

describe('sync wire form', () => {
  it('round-trips an encrypted template through base64', () => {
    const w = template();
    expect(templateToWire(templateFromWire(w))).toEqual(w);
    expect(Buffer.from(w.ciphertext, 'base64')).toHaveLength(2048);
  });

  it('digests a set independently of its order, and any change of a field changes it', () => {
    const a = template();
    const b = template();
    expect(templateSetDigest([a, b])).toBe(templateSetDigest([b, a]));
    expect(templateSetDigest([a, b])).not.toBe(templateSetDigest([a]));
    const flipped = { ...a, tag: Buffer.from(Buffer.from(a.tag, 'base64').map((x, i) => (i === 0 ? x ^ 1 : x))).toString('base64') };
    expect(templateSetDigest([flipped, b])).not.toBe(templateSetDigest([a, b]));
    expect(templateSetDigest([{ ...a, modelId: 'other' }, b])).not.toBe(templateSetDigest([a, b]));
  });

  it('puts a credential in the same chunk every time, spread over the chunks', () => {
    const ids = Array.from({ length: 2000 }, () => credentialIdFromBytes(randomBytes(5)));
    for (const id of ids.slice(0, 20)) expect(syncChunkIndex(id, 8)).toBe(syncChunkIndex(id, 8));
    const counts = new Array<number>(8).fill(0);
    for (const id of ids) counts[syncChunkIndex(id, 8)]! += 1;
    // 250 expected per chunk; a hash that ignored part of the id would leave chunks empty
    for (const c of counts) expect(c).toBeGreaterThan(150);
    expect(() => syncChunkIndex(ids[0]!, 0)).toThrow(RangeError);
  });
});

describe('sync payload schemas', () => {
  it('a chunk filled to the target size stays under the payload limit', () => {
    const templates = [];
    let size = 0;
    while (size < SYNC_CHUNK_TARGET_BYTES) {
      const t = template();
      templates.push(t);
      size += JSON.stringify(t).length + 1;
    }
    const json = encodeSitePayload('syncChunk', { v: 1, site: 'lycee-a', ts: new Date().toISOString(), index: 3, templates });
    expect(Buffer.byteLength(json)).toBeLessThan(MAX_PAYLOAD_BYTES);
    expect(decodeSitePayload('syncChunk', json).ok).toBe(true);
  });

  it('a manifest with the longest revocation list fits the payload limit', () => {
    const revocations = Array.from({ length: SYNC_MAX_REVOCATIONS }, () => credentialIdFromBytes(randomBytes(5)));
    const json = encodeSitePayload('syncManifest', manifest({ revocations }));
    expect(Buffer.byteLength(json)).toBeLessThan(MAX_PAYLOAD_BYTES);
    expect(() => encodeSitePayload('syncManifest', manifest({ revocations: [...revocations, revocations[0]!] }))).toThrow(/revocations/);
  });

  it('refuses chunk lists out of order, counts that do not add up, duplicate key ids and names in ids', () => {
    const bad = [
      manifest({ chunks: [{ index: 1, count: 0, digest: SHA }] }),
      manifest({ templateCount: 2 }),
      manifest({ publicKeys: [{ keyId: 1, pem }, { keyId: 1, pem }] }),
      manifest({ revocations: ['Martin'] }),
      manifest({ publicKeys: [{ keyId: 1, pem: 'Léa Martin' }] }),
      { ...manifest(), name: 'Léa Martin' },
    ];
    for (const m of bad) expect(decodeSitePayload('syncManifest', JSON.stringify(m)).ok, JSON.stringify(m).slice(0, 80)).toBe(false);
    expect(decodeSitePayload('syncManifest', JSON.stringify(manifest())).ok).toBe(true);
  });

  it('refuses a chunk holding a credential twice or a template with a malformed field', () => {
    const t = template();
    const chunk = (templates: unknown[]) => JSON.stringify({ v: 1, site: 'lycee-a', ts: new Date().toISOString(), index: 0, templates });
    expect(decodeSitePayload('syncChunk', chunk([t])).ok).toBe(true);
    expect(decodeSitePayload('syncChunk', chunk([t, t])).ok).toBe(false);
    expect(decodeSitePayload('syncChunk', chunk([{ ...t, iv: 'short' }])).ok).toBe(false);
    expect(decodeSitePayload('syncChunk', chunk([{ ...t, firstName: 'Léa' }])).ok).toBe(false);
  });
});
