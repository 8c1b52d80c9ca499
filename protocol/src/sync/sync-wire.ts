import { createHash } from 'node:crypto';
import type { EncryptedTemplate } from '../credential/template-crypto.js';
import type { SyncTemplate } from '../schemas/sync.js';

/** An encrypted template as it travels in a sync chunk (binary fields in base64). */
export function templateToWire(t: EncryptedTemplate): SyncTemplate {
  return {
    credentialId: t.credentialId,
    modelId: t.modelId,
    modelSha256: t.modelSha256,
    encoding: t.encoding,
    iv: Buffer.from(t.iv).toString('base64'),
    ciphertext: Buffer.from(t.ciphertext).toString('base64'),
    tag: Buffer.from(t.tag).toString('base64'),
  };
}

export function templateFromWire(t: SyncTemplate): EncryptedTemplate {
  return {
    credentialId: t.credentialId,
    modelId: t.modelId,
    modelSha256: t.modelSha256,
    encoding: t.encoding,
    iv: new Uint8Array(Buffer.from(t.iv, 'base64')),
    ciphertext: new Uint8Array(Buffer.from(t.ciphertext, 'base64')),
    tag: new Uint8Array(Buffer.from(t.tag, 'base64')),
  };
}

/**
 * Digest of a set of templates, independent of their order and of JSON formatting: sha256 over one
 * tab-separated line per template (wire form), sorted by credential id. The server lists it per
 * chunk and for the whole site; the agent takes a chunk only when its digest matches the manifest,
 * and checks its own store against the whole after applying.
 */
export function templateSetDigest(templates: readonly SyncTemplate[]): string {
  const sorted = [...templates].sort((a, b) => (a.credentialId < b.credentialId ? -1 : a.credentialId > b.credentialId ? 1 : 0));
  const h = createHash('sha256');
  for (const t of sorted) {
    h.update(`${t.credentialId}\t${t.modelId}\t${t.modelSha256}\t${t.encoding}\t${t.iv}\t${t.ciphertext}\t${t.tag}\n`);
  }
  return h.digest('hex');
}

/**
 * The chunk a credential's template goes to when a site's templates are split in `chunkCount`
 * chunks: a hash of the id, so a change touches one chunk and the others are not sent again.
 */
export function syncChunkIndex(credentialId: string, chunkCount: number): number {
  if (!Number.isInteger(chunkCount) || chunkCount < 1) throw new RangeError('chunkCount must be a positive integer');
  return createHash('sha256').update(credentialId).digest().readUInt32BE(0) % chunkCount;
}
