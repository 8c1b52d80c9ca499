/**
 * Property-based tests of every protocol decoder: whatever bytes arrive, a decoder answers with a
 * value (`{ok:false}`, `null`, `undefined`) and never throws; whatever it accepts re-encodes and
 * decodes to the same value. The broker is hostile ground: a crash here is a denial of service.
 */
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  credentialIdFromBytes,
  credentialIdToBytes,
  decodeCredentialToken,
  TEMPLATE_KEY_BYTES,
  TOKEN_HEADER_BYTES,
  SIGNATURE_BYTES,
  tokenFromText,
  tokenToText,
} from './credential/token.js';
import { newEventId } from './ids.js';
import { buildSiteTopic, buildTopic, parseSiteTopic, parseTopic, SITE_TOPICS, TOPICS, type SiteTopicKey, type TopicKey } from './topics.js';
import { decodePayload, decodeSitePayload, encodePayload, encodeSitePayload, type DecodeErrorCode } from './validate.js';
import { MAX_PAYLOAD_BYTES } from './version.js';

const RUNS = Number(process.env.PORTAIL_FUZZ_RUNS ?? 300);
const TS = '2026-11-22T07:55:00.000Z';
const SHA = 'a'.repeat(64);
const PEM = `-----BEGIN PUBLIC KEY-----\n${Buffer.alloc(44, 7).toString('base64')}\n-----END PUBLIC KEY-----\n`;

/** One valid payload per topic: the seeds the mutations start from. */
const AGENT_SEEDS: { [K in TopicKey]: () => unknown } = {
  status: () => ({
    v: 1, site: 'lycee-a', agent: 'gate-1', state: 'online', reason: 'started', ts: TS, version: '0.1.0',
    models: [{ name: 'yunet', sha256: SHA, provider: 'cpu' }],
    cameras: [{ id: 'entrance', role: 'both', state: 'online' }],
  }),
  health: () => ({
    v: 1, site: 'lycee-a', agent: 'gate-1', ts: TS, intervalS: 5, uptimeS: 35,
    cameras: [{ id: 'entrance', state: 'online', fps: 4.8, framesIn: 160, framesProcessed: 158, framesDropped: 2 }],
    detectors: [{ model: 'yunet', kind: 'face', provider: 'cpu', framesRun: 158, detections: 3, detectionsInInterval: 0 }],
    stages: { face: { p50Ms: 9.1, p95Ms: 12.4, count: 24 } },
    cpuPct: 38.5, rssBytes: 212_000_000,
  }),
  access: () => ({
    id: newEventId(), v: 1, site: 'lycee-a', agent: 'gate-1', camera: 'entrance', ts: TS,
    passageId: 'p-8f3c', credentialId: 'c-5k2m9q', decision: 'confirmed', biometric: true,
    scores: { similarity: 0.61, threshold: 0.36, liveness: 0.98, quality: 0.9 },
    timingsMs: { credential: 0.4, embed: 7.6, total: 18.2 },
  }),
  movement: () => ({
    id: newEventId(), v: 1, site: 'lycee-a', agent: 'gate-1', camera: 'hall', ts: TS,
    kind: 'line_crossing', rule: 'entry', trackId: 'mh7jnistiwnmicq3', direction: 'in', box: [339.1, 15.9, 210.3, 383.9],
  }),
  camera: () => ({
    id: newEventId(), v: 1, site: 'lycee-a', agent: 'gate-1', camera: 'entrance', ts: TS,
    state: 'offline', code: 'NOT_FOUND', reason: 'No such file',
  }),
  config: () => ({
    v: 1, site: 'lycee-a', agent: 'gate-1', ts: TS, configVersion: 3,
    cameras: [{
      id: 'hall', locationType: 'entrance', trackingEnabled: true,
      zones: [{ id: 'staff', polygon: [[0, 0], [100, 0], [100, 80]] }],
      lines: [{ id: 'gate', from: [0, 400], to: [640, 400], allowedDirection: 'in' }],
      tailgating: [{ id: 'tg', lineId: 'gate', windowMs: 6000 }],
    }],
  }),
  configState: () => ({
    v: 1, site: 'lycee-a', agent: 'gate-1', ts: TS, appliedVersion: 3, result: 'rejected', receivedVersion: 4,
    errors: ['cameras.0.trackingEnabled: refused'],
  }),
  syncState: () => ({
    v: 1, site: 'lycee-a', agent: 'gate-1', ts: TS, appliedVersion: 7, result: 'applied', receivedVersion: 7,
    templateCount: 2, revocationCount: 1,
  }),
  tracks: () => ({
    v: 1, site: 'lycee-a', agent: 'gate-1', camera: 'hall', ts: TS, frame: { width: 768, height: 432 }, windowMs: 10000,
    tracks: [{ id: 'abcdefgh', points: [[330, 260, 1000], [330, 276, 800]] }],
    rules: { zones: [{ id: 'roof', polygon: [[0, 0], [100, 0], [100, 50]] }], lines: [{ id: 'entry', from: [480, 410], to: [150, 410], allowedDirection: 'out' }] },
  }),
};

const TEMPLATE = {
  credentialId: 'cabcdefgh', modelId: 'faceplugin-fr', modelSha256: SHA, encoding: 'f32',
  iv: Buffer.alloc(12, 1).toString('base64'), ciphertext: Buffer.alloc(32, 2).toString('base64'),
  tag: Buffer.alloc(16, 3).toString('base64'),
};
const SITE_SEEDS: { [K in SiteTopicKey]: () => unknown } = {
  syncManifest: () => ({
    v: 1, site: 'lycee-a', ts: TS, version: 7, siteCode: 42, publicKeys: [{ keyId: 1, pem: PEM }],
    revocations: ['cbbbbbbbb'], templateCount: 1, templatesDigest: SHA, chunks: [{ index: 0, count: 1, digest: SHA }],
  }),
  syncChunk: () => ({ v: 1, site: 'lycee-a', ts: TS, index: 0, templates: [TEMPLATE] }),
};

const AGENT_KEYS = Object.keys(TOPICS) as TopicKey[];
const SITE_KEYS = Object.keys(SITE_TOPICS) as SiteTopicKey[];
const CODES: readonly DecodeErrorCode[] = ['TOO_LARGE', 'INVALID_JSON', 'INVALID_SCHEMA', 'TOPIC_MISMATCH'];

type Decoded = { ok: true; value: unknown } | { ok: false; error: { code: DecodeErrorCode; messages: string[] } };

/** Any decode answer must be well formed: a value, or a known code with readable messages. */
function expectWellFormed(r: Decoded): void {
  if (r.ok) return;
  expect(CODES).toContain(r.error.code);
  expect(Array.isArray(r.error.messages)).toBe(true);
  for (const m of r.error.messages) expect(typeof m).toBe('string');
}

/** Decoders keyed alike for agent and site topics: decode, re-encode. */
const DECODERS: Array<{ name: string; seed: () => unknown; decode: (raw: Uint8Array | string) => Decoded; encode: (v: unknown) => string }> = [
  ...AGENT_KEYS.map((k) => ({
    name: k,
    seed: AGENT_SEEDS[k],
    decode: (raw: Uint8Array | string) => decodePayload(k, raw),
    encode: (v: unknown) => encodePayload(k, v as never),
  })),
  ...SITE_KEYS.map((k) => ({
    name: k,
    seed: SITE_SEEDS[k],
    decode: (raw: Uint8Array | string) => decodeSitePayload(k, raw),
    encode: (v: unknown) => encodeSitePayload(k, v as never),
  })),
];


/** Every path to a value inside a JSON tree (the root is the empty path). */
function paths(v: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

function setAt(root: unknown, path: Array<string | number>, value: unknown, remove: boolean): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let cur = copy;
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (remove) {
    if (Array.isArray(cur)) cur.splice(Number(last), 1);
    else delete cur[last];
  } else cur[last] = value;
  return copy;
}

/** A structural mutation of a valid payload: one node replaced by anything, or removed, or a key added. */
const structuralMutation = (seed: unknown): fc.Arbitrary<unknown> => {
  const all = paths(seed);
  return fc.oneof(
    fc.tuple(fc.constantFrom(...all), fc.jsonValue()).map(([p, v]) => setAt(seed, p, v, false)),
    fc.tuple(fc.constantFrom(...all.filter((p) => p.length > 0)), fc.constant(null)).map(([p]) => setAt(seed, p, undefined, true)),
    fc.tuple(fc.string(), fc.jsonValue()).map(([k, v]) => ({ ...(seed as object), [k]: v })),
    fc.tuple(fc.constantFrom(...all), fc.string({ minLength: 0, maxLength: 2000 })).map(([p, v]) => setAt(seed, p, v, false)),
    fc.tuple(fc.constantFrom(...all), fc.double()).map(([p, v]) => setAt(seed, p, v, false)),
  );
};

/** A byte-level mutation of the serialised payload: flips, truncation, insertion. */
const byteMutation = (json: string): fc.Arbitrary<Uint8Array> => {
  const bytes = Buffer.from(json);
  return fc.oneof(
    fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }).map((flips) => {
      const b = Uint8Array.from(bytes);
      for (const [i, x] of flips) b[i] = b[i]! ^ x;
      return b;
    }),
    fc.nat(bytes.length).map((n) => Uint8Array.from(bytes.subarray(0, n))),
    fc.tuple(fc.nat(bytes.length), fc.uint8Array({ maxLength: 64 })).map(([i, ins]) => Uint8Array.from(Buffer.concat([bytes.subarray(0, i), ins, bytes.subarray(i)]))),
  );
};

describe('protocol decoders under property-based fuzzing', () => {
  it('every seed is valid, so the mutations start from the real contract', () => {
    for (const d of DECODERS) {
      const r = d.decode(JSON.stringify(d.seed()));
      expect(r.ok, `${d.name}: ${r.ok ? '' : r.error.messages.join('; ')}`).toBe(true);
    }
  });

  for (const d of DECODERS) {
    describe(d.name, () => {
      it('answers (never throws) on arbitrary JSON values and arbitrary bytes', () => {
        fc.assert(
          fc.property(fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'), fc.string(), fc.uint8Array({ maxLength: 512 })), (raw) => {
            const r = d.decode(raw);
            expectWellFormed(r);
            // a random value satisfying a strict schema by chance would itself be worth seeing
            if (r.ok) expect(d.decode(d.encode(r.value))).toEqual(r);
          }),
          { numRuns: RUNS },
        );
      });

      it('answers on structurally mutated valid payloads, and what it accepts round-trips', () => {
        const seed = d.seed();
        fc.assert(
          fc.property(structuralMutation(seed), (mutated) => {
            const json = JSON.stringify(mutated) ?? 'null';
            const r = d.decode(json);
            expectWellFormed(r);
            if (r.ok) {
              // normalised output is stable: encode → decode gives it back unchanged
              const again = d.decode(d.encode(r.value));
              expect(again).toEqual(r);
            }
          }),
          { numRuns: RUNS },
        );
      });

      it('answers on byte-mutated valid payloads (flips, truncation, insertion)', () => {
        const json = JSON.stringify(d.seed());
        fc.assert(
          fc.property(byteMutation(json), (bytes) => {
            const r = d.decode(bytes);
            expectWellFormed(r);
            if (r.ok) expect(d.decode(d.encode(r.value))).toEqual(r);
          }),
          { numRuns: RUNS },
        );
      });

      it('valid payloads round-trip exactly through encode → decode', () => {
        fc.assert(
          fc.property(fc.constant(null), () => {
            const v = d.seed();
            const r = d.decode(d.encode(v));
            expect(r.ok).toBe(true);
            if (r.ok) expect(d.decode(d.encode(r.value))).toEqual(r);
          }),
          { numRuns: 20 },
        );
      });
    });
  }

  it('refuses oversized, deeply nested and pathological payloads with a reason', () => {
    const seed = AGENT_SEEDS.access() as Record<string, unknown>;
    const huge = JSON.stringify({ ...seed, passageId: 'x'.repeat(MAX_PAYLOAD_BYTES) });
    expect(decodePayload('access', huge)).toMatchObject({ ok: false, error: { code: 'TOO_LARGE' } });
    // deeper than any schema: JSON.parse copes, the schema refuses at the first level that is wrong
    const deep = '['.repeat(50_000) + ']'.repeat(50_000);
    expectWellFormed(decodePayload('access', deep));
    const deepField = JSON.stringify({ ...seed, scores: null }).replace('null', '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000));
    expect(decodePayload('access', deepField)).toMatchObject({ ok: false, error: { code: 'INVALID_SCHEMA' } });
    for (const raw of ['', '\u0000', '\uFEFF{}', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{}}}', 'NaN', '1e999']) {
      expectWellFormed(decodePayload('status', raw));
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('topic parsers answer on arbitrary strings, and what they parse rebuilds to the same topic', () => {
    const segment = fc.oneof(fc.constantFrom('portail', 'v1', 'lycee-a', 'gate-1', 'sync', 'events', 'access', 'manifest', 'templates', '+', '#', '', '007', '256', '0'), fc.string({ maxLength: 12 }));
    const topic = fc.oneof(fc.string({ maxLength: 200 }), fc.array(segment, { maxLength: 7 }).map((s) => s.join('/')));
    fc.assert(
      fc.property(topic, (t) => {
        const p = parseTopic(t);
        if (p) expect(buildTopic(p.key, p.site, p.agent)).toBe(t);
        const s = parseSiteTopic(t);
        if (s) expect(buildSiteTopic(s.key, s.site, s.index)).toBe(t);
        expect(p !== null && s !== null).toBe(false);
      }),
      { numRuns: RUNS * 10 },
    );
  });

  it('credential token decoders answer on arbitrary text and bytes', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const keys = new Map([[0, publicKey], [1, publicKey]]);
    const tokenLike = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.uint8Array({ minLength: TOKEN_HEADER_BYTES + SIGNATURE_BYTES, maxLength: TOKEN_HEADER_BYTES + SIGNATURE_BYTES }),
      fc.uint8Array({ minLength: TOKEN_HEADER_BYTES + TEMPLATE_KEY_BYTES + SIGNATURE_BYTES, maxLength: TOKEN_HEADER_BYTES + TEMPLATE_KEY_BYTES + SIGNATURE_BYTES }),
    );
    fc.assert(
      fc.property(tokenLike, fc.string({ maxLength: 200 }), (bytes, text) => {
        const r = decodeCredentialToken(bytes, keys);
        // random bytes never carry a valid Ed25519 signature
        expect(r.ok).toBe(false);
        const fromText = tokenFromText(text);
        if (fromText) expect(decodeCredentialToken(fromText, keys).ok).toBe(false);
        expect(tokenFromText(tokenToText(bytes))).toEqual(bytes.length >= 67 && bytes.length <= 120 ? bytes : undefined);
      }),
      { numRuns: RUNS },
    );
  });

  it('credential ids round-trip through their 5-byte form, and bad ids are a RangeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 5, maxLength: 5 }), fc.string({ maxLength: 12 }), (b, s) => {
        expect(credentialIdToBytes(credentialIdFromBytes(b))).toEqual(b);
        try {
          expect(credentialIdFromBytes(credentialIdToBytes(s))).toBe(s);
        } catch (err) {
          expect(err).toBeInstanceOf(RangeError);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
