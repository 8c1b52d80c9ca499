import { createHash } from 'node:crypto';
import {
  decodeSitePayload,
  parseSiteTopic,
  templateFromWire,
  templateSetDigest,
  type SyncManifest,
  type SyncTemplate,
} from '@portail/protocol';
import type { SyncSnapshot } from '../store/edge-store.js';

/** A complete snapshot of the site: the manifest and, for each of its chunks, the matching templates. */
export interface AssembledSnapshot extends SyncSnapshot {
  /** identifies the content (not the time it was published): equal identities need no new apply */
  identity: string;
  templatesDigest: string;
}

export type AssembleStep =
  /** not a sync topic of this agent's site, or a chunk cleared by the server */
  | { kind: 'ignored' }
  /** malformed, or inconsistent with its manifest: the previous snapshot stays in force */
  | { kind: 'invalid'; receivedVersion: number | null; errors: string[] }
  /** a manifest or chunk taken; some chunk of the manifest is still missing or out of date */
  | { kind: 'incomplete'; version: number | null; missing: number[] }
  /** every chunk matches the manifest; `manifest` says whether this message was the manifest */
  | { kind: 'complete'; snapshot: AssembledSnapshot; manifest: boolean };

interface HeldChunk {
  digest: string;
  templates: SyncTemplate[];
}

/**
 * Puts the site's retained sync messages back together. They arrive in any order (at each
 * subscription the broker sends every retained one; on a change the server sends the changed
 * chunks, then the manifest), so the latest of each is kept and a snapshot is complete only when
 * every chunk the manifest lists is held with the digest it gives. Nothing is applied here.
 */
export class SyncAssembler {
  private manifest: SyncManifest | undefined;
  private readonly chunks = new Map<number, HeldChunk>();

  constructor(private readonly site: string) {}

  accept(topic: string, raw: Uint8Array): AssembleStep {
    const parsed = parseSiteTopic(topic);
    if (!parsed || parsed.site !== this.site) return { kind: 'ignored' };
    if (parsed.key === 'syncChunk') {
      const index = parsed.index!;
      // an empty retained payload is the server clearing a chunk the site no longer uses
      if (raw.byteLength === 0) {
        this.chunks.delete(index);
        return { kind: 'ignored' };
      }
      const decoded = decodeSitePayload('syncChunk', raw);
      if (!decoded.ok) return { kind: 'invalid', receivedVersion: null, errors: decoded.error.messages.map((m) => `chunk ${index}: ${m}`) };
      const c = decoded.value;
      if (c.site !== this.site || c.index !== index) {
        return { kind: 'invalid', receivedVersion: null, errors: [`chunk ${index}: payload says ${c.site}/${c.index}`] };
      }
      this.chunks.set(index, { digest: templateSetDigest(c.templates), templates: c.templates });
      return this.check(false);
    }
    if (raw.byteLength === 0) return { kind: 'ignored' };
    const decoded = decodeSitePayload('syncManifest', raw);
    if (!decoded.ok) return { kind: 'invalid', receivedVersion: readableVersion(raw), errors: decoded.error.messages };
    if (decoded.value.site !== this.site) {
      return { kind: 'invalid', receivedVersion: decoded.value.version, errors: [`site: manifest of ${decoded.value.site}, this agent is at ${this.site}`] };
    }
    this.manifest = decoded.value;
    return this.check(true);
  }

  private check(isManifest: boolean): AssembleStep {
    const m = this.manifest;
    if (!m) return { kind: 'incomplete', version: null, missing: [] };
    const missing = m.chunks.filter((ref) => this.chunks.get(ref.index)?.digest !== ref.digest).map((ref) => ref.index);
    if (missing.length > 0) return { kind: 'incomplete', version: m.version, missing };
    const wire = m.chunks.flatMap((ref) => this.chunks.get(ref.index)!.templates);
    // chunks are disjoint by construction; a credential in two of them means a broken publisher
    const ids = new Set(wire.map((t) => t.credentialId));
    const digest = templateSetDigest(wire);
    if (ids.size !== wire.length || wire.length !== m.templateCount || digest !== m.templatesDigest) {
      return { kind: 'invalid', receivedVersion: m.version, errors: ['templates: the chunks listed do not add up to templatesDigest/templateCount'] };
    }
    const publicKeys = m.publicKeys.map((k) => ({ keyId: k.keyId, pem: k.pem }));
    const revocations = [...new Set(m.revocations)].sort();
    const identity = createHash('sha256')
      .update(JSON.stringify({ version: m.version, siteCode: m.siteCode, publicKeys, revocations, digest }))
      .digest('hex');
    return {
      kind: 'complete',
      manifest: isManifest,
      snapshot: {
        version: m.version,
        siteCode: m.siteCode,
        publicKeys,
        revocations,
        templates: wire.map(templateFromWire),
        templatesDigest: digest,
        identity,
      },
    };
  }
}

/** The version of a manifest that failed validation, when it can still be read. */
function readableVersion(raw: Uint8Array): number | null {
  try {
    const v = (JSON.parse(Buffer.from(raw).toString('utf8')) as { version?: unknown }).version;
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null;
  } catch {
    // not JSON at all: there is no version to report
    return null;
  }
}
