import {
  encodeSitePayload,
  PROTOCOL_VERSION,
  SYNC_CHUNK_TARGET_BYTES,
  SYNC_MAX_CHUNKS,
  SYNC_MAX_REVOCATIONS,
  syncChunkIndex,
  templateSetDigest,
  templateToWire,
  type SyncManifest,
  type SyncTemplate,
} from '@portail/protocol';
import { fail, ok, type Result } from './result.js';
import type { SyncSet } from './withdrawal.js';

/** One retained chunk to publish on `portail/v1/{site}/sync/templates/{index}`. */
export interface PlannedChunk {
  index: number;
  count: number;
  digest: string;
  /** the encoded payload, validated against the protocol */
  payload: string;
}

export interface SyncPlan {
  manifest: SyncManifest;
  /** the encoded manifest, validated against the protocol */
  manifestPayload: string;
  chunks: PlannedChunk[];
}

export type SyncPlanErrorCode = 'SYNC_ERR_TOO_MANY_REVOCATIONS' | 'SYNC_ERR_TOO_LARGE';

/** JSON characters of the chunk envelope without its templates, with room for the longest site id and index. */
const CHUNK_ENVELOPE_BYTES = 160;

/**
 * Pure: split a site's full sync set into retained messages. Templates go to chunks by a hash of
 * their credential id, so a change rewrites one chunk; the chunk count is the smallest power of
 * two that keeps every chunk under `targetBytes` (it changes only when the site grows or shrinks
 * by a factor of two, and then every chunk is sent again). The manifest lists each chunk's digest,
 * so an agent can tell when it holds a consistent set.
 */
export function planSyncPublication(input: {
  set: SyncSet;
  publicKeys: readonly { keyId: number; pem: string }[];
  ts: string;
  targetBytes?: number;
  /**
   * chunk count of the previous publication: kept while the set still fills more than an eighth of
   * its capacity, so that one withdrawal changes one chunk instead of re-splitting the whole site
   * (agents fetch only the chunks whose digest changed); it still grows when a chunk overflows
   */
  previousChunkCount?: number;
}): Result<SyncPlan, SyncPlanErrorCode> {
  const { set, ts } = input;
  const target = input.targetBytes ?? SYNC_CHUNK_TARGET_BYTES;
  if (set.revocations.length > SYNC_MAX_REVOCATIONS) {
    return fail(
      'SYNC_ERR_TOO_MANY_REVOCATIONS',
      `site ${set.site} has ${set.revocations.length} live revocations, the manifest carries at most ${SYNC_MAX_REVOCATIONS}`,
    );
  }
  const wire = set.templates.map(templateToWire);
  const sizes = wire.map((t) => Buffer.byteLength(JSON.stringify(t)) + 1);
  let chunkCount = 1;
  const previous = input.previousChunkCount ?? 1;
  if (previous > 1 && Number.isInteger(Math.log2(previous)) && previous <= SYNC_MAX_CHUNKS) {
    const totalBytes = sizes.reduce((a, b) => a + b, 0) + previous * CHUNK_ENVELOPE_BYTES;
    if (totalBytes > (target * previous) / 8) chunkCount = previous;
  }
  let buckets: SyncTemplate[][] = [];
  for (;;) {
    buckets = Array.from({ length: chunkCount }, () => []);
    const bytes = new Array<number>(chunkCount).fill(CHUNK_ENVELOPE_BYTES);
    wire.forEach((t, i) => {
      const b = syncChunkIndex(t.credentialId, chunkCount);
      buckets[b]!.push(t);
      bytes[b]! += sizes[i]!;
    });
    if (bytes.every((n) => n <= target)) break;
    if (chunkCount * 2 > SYNC_MAX_CHUNKS) {
      return fail(
        'SYNC_ERR_TOO_LARGE',
        `site ${set.site}: ${wire.length} templates do not fit ${SYNC_MAX_CHUNKS} chunks`,
      );
    }
    chunkCount *= 2;
  }
  const chunks: PlannedChunk[] = buckets.map((templates, index) => {
    // a stable order inside a chunk: the same set always gives the same bytes
    templates.sort((a, b) => (a.credentialId < b.credentialId ? -1 : 1));
    return {
      index,
      count: templates.length,
      digest: templateSetDigest(templates),
      payload: encodeSitePayload('syncChunk', { v: PROTOCOL_VERSION, site: set.site, ts, index, templates }),
    };
  });
  const manifest: SyncManifest = {
    v: PROTOCOL_VERSION,
    site: set.site,
    ts,
    version: set.version,
    siteCode: set.siteCode,
    publicKeys: input.publicKeys.map((k) => ({ keyId: k.keyId, pem: k.pem })),
    revocations: [...set.revocations],
    templateCount: wire.length,
    templatesDigest: templateSetDigest(wire),
    chunks: chunks.map((c) => ({ index: c.index, count: c.count, digest: c.digest })),
  };
  let manifestPayload: string;
  try {
    manifestPayload = encodeSitePayload('syncManifest', manifest);
  } catch (err) {
    return fail('SYNC_ERR_TOO_LARGE', `site ${set.site}: ${(err as Error).message}`);
  }
  return ok({ manifest, manifestPayload, chunks });
}
