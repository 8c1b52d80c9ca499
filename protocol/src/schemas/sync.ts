import { z } from 'zod';
import { idSchema } from '../ids.js';
import { protocolVersionSchema, timestampSchema } from './common.js';

/**
 * Server → agents: what the gates of a site need to judge credentials, as a full snapshot split
 * over retained topics (`sync/manifest` + `sync/templates/{index}`). Only pseudonymous ids,
 * ciphertexts and public keys: a template is readable only with the key inside its holder's token.
 */

/** Chunks per site at most: 256 × ~192 KiB holds ~16 000 templates of the default model. */
export const SYNC_MAX_CHUNKS = 256;
/** The revocation list rides in the manifest: 12 000 ids are ~144 KiB of the 256 KiB limit. */
export const SYNC_MAX_REVOCATIONS = 12_000;
/** Target size of one chunk payload, below MAX_PAYLOAD_BYTES with room for the envelope. */
export const SYNC_CHUNK_TARGET_BYTES = 192 * 1024;

export const credentialIdSchema = z
  .string()
  .regex(/^c[a-z2-7]{8}$/, 'must be a credential id: "c" then 8 base32 characters')
  .describe('pseudonymous credential id, the one in the token');

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

/** One encrypted template (AES-256-GCM; the key is only in the holder's credential token). */
export const syncTemplateSchema = z.strictObject({
  credentialId: credentialIdSchema,
  modelId: z.string().min(1).max(128).describe('embedding model that made it: templates of different models are never compared'),
  modelSha256: sha256Hex,
  encoding: z.enum(['f32', 'i8']),
  iv: base64.length(16).describe('12-byte GCM nonce, base64'),
  ciphertext: base64.min(4).max(10_924).describe('encrypted template (at most 8 KiB), base64'),
  tag: base64.length(24).describe('16-byte GCM tag, base64'),
});
export type SyncTemplate = z.infer<typeof syncTemplateSchema>;

export const syncPublicKeySchema = z.strictObject({
  keyId: z.number().int().min(0).max(15).describe('signing key id carried in the token header'),
  pem: z
    .string()
    .max(1024)
    .regex(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n?$/, 'must be a PEM public key (SPKI)')
    .describe('Ed25519 public key, SPKI PEM'),
});

export const syncChunkRefSchema = z.strictObject({
  index: z.number().int().min(0).max(SYNC_MAX_CHUNKS - 1),
  count: z.number().int().nonnegative().describe('templates in the chunk'),
  digest: sha256Hex.describe('templateSetDigest of the chunk: the agent takes a chunk only when it matches'),
});

/** Retained at `portail/v1/{site}/sync/manifest`, server → every agent of the site. */
export const syncManifestSchema = z
  .strictObject({
    v: protocolVersionSchema,
    site: idSchema,
    ts: timestampSchema,
    version: z
      .number()
      .int()
      .nonnegative()
      .describe('site sync version: increases at every change of templates, revocations, keys or site code'),
    siteCode: z.number().int().min(0).max(0xffff).describe('numeric site code carried by the tokens of the site'),
    publicKeys: z.array(syncPublicKeySchema).min(1).max(16).describe('credential signing keys in force (several during a rotation)'),
    revocations: z
      .array(credentialIdSchema)
      .max(SYNC_MAX_REVOCATIONS)
      .describe('credentials to refuse and whose ciphertext to delete (expired ones drop out a day after expiry)'),
    templateCount: z.number().int().nonnegative(),
    templatesDigest: sha256Hex.describe('templateSetDigest of every template of the site'),
    chunks: z.array(syncChunkRefSchema).min(1).max(SYNC_MAX_CHUNKS).describe('the template chunks making up this version, index 0..n-1'),
  })
  .superRefine((m, ctx) => {
    m.chunks.forEach((c, i) => {
      if (c.index !== i) ctx.addIssue({ code: 'custom', message: `chunk ${i} has index ${c.index}`, path: ['chunks', i, 'index'] });
    });
    const total = m.chunks.reduce((s, c) => s + c.count, 0);
    if (total !== m.templateCount) {
      ctx.addIssue({ code: 'custom', message: `chunks hold ${total} templates, templateCount says ${m.templateCount}`, path: ['templateCount'] });
    }
    const ids = new Set<number>();
    m.publicKeys.forEach((k, i) => {
      if (ids.has(k.keyId)) ctx.addIssue({ code: 'custom', message: `key id ${k.keyId} listed twice`, path: ['publicKeys', i, 'keyId'] });
      ids.add(k.keyId);
    });
  });
export type SyncManifest = z.output<typeof syncManifestSchema>;

/** Retained at `portail/v1/{site}/sync/templates/{index}`, server → every agent of the site. */
export const syncChunkSchema = z
  .strictObject({
    v: protocolVersionSchema,
    site: idSchema,
    ts: timestampSchema,
    index: z.number().int().min(0).max(SYNC_MAX_CHUNKS - 1),
    templates: z.array(syncTemplateSchema).max(4096),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.templates.forEach((t, i) => {
      if (seen.has(t.credentialId)) {
        ctx.addIssue({ code: 'custom', message: `credential ${t.credentialId} twice`, path: ['templates', i, 'credentialId'] });
      }
      seen.add(t.credentialId);
    });
  });
export type SyncChunk = z.output<typeof syncChunkSchema>;

/** Retained at `portail/v1/{site}/{agent}/sync/state`, agent → server: the version the agent holds. */
export const syncStateSchema = z.strictObject({
  v: protocolVersionSchema,
  site: idSchema,
  agent: idSchema,
  ts: timestampSchema,
  appliedVersion: z
    .number()
    .int()
    .nonnegative()
    .nullable()
    .describe('sync version in the agent store (templates, revocations, keys); null before any'),
  result: z.enum(['applied', 'rejected']).describe('outcome of the last complete snapshot received'),
  receivedVersion: z.number().int().nonnegative().nullable().describe('version of that snapshot, when readable'),
  templateCount: z.number().int().nonnegative().describe('ciphertexts held'),
  revocationCount: z.number().int().nonnegative().describe('revoked credential ids held'),
  errors: z.array(z.string().max(512)).max(50).optional().describe('why it was rejected, one message per problem'),
});
export type SyncState = z.infer<typeof syncStateSchema>;
