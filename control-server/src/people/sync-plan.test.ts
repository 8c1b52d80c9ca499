import { randomBytes } from 'node:crypto';
import {
  credentialIdFromBytes,
  decodeSitePayload,
  encryptTemplate,
  generateSigningKey,
  MAX_PAYLOAD_BYTES,
  SYNC_MAX_REVOCATIONS,
  syncChunkIndex,
  templateSetDigest,
  templateToWire,
  type EncryptedTemplate,
} from '@portail/protocol';
import { describe, expect, it } from 'vitest';
import { planSyncPublication } from './sync-plan.js';
import type { SyncSet } from './withdrawal.js';

const pem = generateSigningKey(1).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const template = (bytes = 2048): EncryptedTemplate =>
  encryptTemplate(new Uint8Array(randomBytes(bytes)), new Uint8Array(randomBytes(32)), {
    credentialId: credentialIdFromBytes(randomBytes(5)),
    modelId: 'faceplugin-fr-feature-512d',
    modelSha256: 'a'.repeat(64),
    encoding: 'f32',
  });
const set = (templates: EncryptedTemplate[], revocations: string[] = [], version = 12): SyncSet => ({
  site: 'lycee-a',
  siteCode: 3,
  version,
  full: true,
  sinceVersion: null,
  revocations,
  templates,
});
const plan = (s: SyncSet, targetBytes?: number, previousChunkCount?: number) => {
  const r = planSyncPublication({
    set: s,
    publicKeys: [{ keyId: 1, pem }],
    ts: '2026-11-22T08:00:00.000Z',
    ...(targetBytes ? { targetBytes } : {}),
    ...(previousChunkCount ? { previousChunkCount } : {}),
  });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

describe('planSyncPublication', () => {
  it('an empty site is one empty chunk and a manifest with the keys and site code', () => {
    const p = plan(set([], ['caaaaaaaa']));
    expect(p.chunks).toHaveLength(1);
    expect(p.manifest).toMatchObject({
      version: 12,
      siteCode: 3,
      templateCount: 0,
      revocations: ['caaaaaaaa'],
      publicKeys: [{ keyId: 1, pem }],
    });
    expect(decodeSitePayload('syncManifest', p.manifestPayload).ok).toBe(true);
  });

  it('splits by credential hash into the fewest power-of-two chunks under the target, each valid and under the payload limit', () => {
    const templates = Array.from({ length: 200 }, () => template());
    const p = plan(set(templates));
    // ~2.9 KB per template on the wire: 200 of them need more than two 192 KiB chunks
    expect(p.chunks.length).toBe(4);
    const ids = new Set<string>();
    for (const c of p.chunks) {
      expect(Buffer.byteLength(c.payload)).toBeLessThan(MAX_PAYLOAD_BYTES);
      const d = decodeSitePayload('syncChunk', c.payload);
      expect(d.ok).toBe(true);
      if (!d.ok) continue;
      expect(templateSetDigest(d.value.templates)).toBe(c.digest);
      for (const t of d.value.templates) {
        expect(syncChunkIndex(t.credentialId, 4)).toBe(c.index);
        ids.add(t.credentialId);
      }
    }
    expect(ids.size).toBe(200);
    expect(p.manifest.templatesDigest).toBe(templateSetDigest(templates.map(templateToWire)));
    expect(p.manifest.chunks.map((c) => c.count).reduce((a, b) => a + b)).toBe(200);
  });

  it('a change touches only the chunk of the credential concerned', () => {
    const templates = Array.from({ length: 40 }, () => template(512));
    const before = plan(set(templates), 20_000);
    const withdrawn = templates[7]!;
    const after = plan(
      set(
        templates.filter((t) => t !== withdrawn),
        [withdrawn.credentialId],
        13,
      ),
      20_000,
      before.chunks.length,
    );
    expect(after.chunks.length).toBe(before.chunks.length);
    const changed = after.chunks.filter((c, i) => c.digest !== before.chunks[i]!.digest).map((c) => c.index);
    expect(changed).toEqual([syncChunkIndex(withdrawn.credentialId, before.chunks.length)]);
    expect(after.manifest).toMatchObject({ version: 13, revocations: [withdrawn.credentialId], templateCount: 39 });
  });

  it('keeps the previous chunk count while the set shrinks a little, and shrinks it when the set collapses', () => {
    const templates = Array.from({ length: 40 }, () => template(512));
    // ~36 kB of templates against 30 kB chunks: published before as 4 chunks, the set still fills
    // more than an eighth of 4 × 30 kB, so the split stays (an edit then changes one chunk)
    const kept = plan(set(templates), 30_000, 4);
    expect(kept.chunks.length).toBe(4);
    expect(kept.chunks.map((c) => c.count).reduce((x, y) => x + y)).toBe(40);
    // two templates are far under an eighth: back to the fewest chunks
    expect(plan(set(templates.slice(0, 2)), 30_000, 4).chunks.length).toBe(1);
  });

  it('refuses a revocation list longer than the manifest can carry', () => {
    const many = Array.from({ length: SYNC_MAX_REVOCATIONS + 1 }, () => credentialIdFromBytes(randomBytes(5)));
    const r = planSyncPublication({
      set: set([], many),
      publicKeys: [{ keyId: 1, pem }],
      ts: '2026-11-22T08:00:00.000Z',
    });
    expect(r).toMatchObject({ ok: false, error: { code: 'SYNC_ERR_TOO_MANY_REVOCATIONS' } });
  });
});
