import { describe, expect, it } from 'vitest';
import { newEventId } from './ids.js';
import { jsonSchemaOf } from './json-schema.js';
import { SITE_TOPIC_KEYS, TOPIC_KEYS } from './topics.js';
import { decodePayload, encodePayload, validate } from './validate.js';

const envelope = () => ({ id: newEventId(), v: 1 as const, site: 's1', agent: 'a1', camera: 'c1', ts: new Date().toISOString() });

describe('validate / decodePayload', () => {
  it('accepts a valid camera event and returns the typed value', () => {
    const ev = { ...envelope(), state: 'offline' as const, code: 'NOT_FOUND' as const, reason: 'No such file' };
    const r = decodePayload('camera', JSON.stringify(ev));
    expect(r).toEqual({ ok: true, value: ev });
  });

  it('reports each schema problem with its path', () => {
    const r = validate('camera', { ...envelope(), id: 'not-a-uuid', state: 'exploded' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('INVALID_SCHEMA');
    expect(r.error.messages.some((m) => m.startsWith('id:'))).toBe(true);
    expect(r.error.messages.some((m) => m.startsWith('state:'))).toBe(true);
    expect(r.error.messages.some((m) => m.startsWith('code:'))).toBe(true);
  });

  it('rejects unknown keys (a typo or smuggled personal data must not pass)', () => {
    const r = validate('access', { ...envelope(), passageId: 'p1', decision: 'accepted', biometric: false, name: 'Alice' });
    expect(r.ok).toBe(false);
  });

  it('distinguishes invalid JSON and oversized payloads', () => {
    expect(decodePayload('status', '{"v":1,').ok).toBe(false);
    const r1 = decodePayload('status', '{oops');
    expect(!r1.ok && r1.error.code).toBe('INVALID_JSON');
    const big = Buffer.alloc(256 * 1024 + 1, 0x20);
    const r2 = decodePayload('status', big);
    expect(!r2.ok && r2.error.code).toBe('TOO_LARGE');
  });

  it('refuses to encode an invalid payload', () => {
    expect(() => encodePayload('camera', { ...envelope(), state: 'online', code: 'OK', camera: '#' } as never)).toThrow(/camera/);
  });

  it('uses camelCase keys on the wire (one convention, no mapping layer)', () => {
    const keys = new Set<string>();
    const walk = (s: unknown) => {
      if (!s || typeof s !== 'object') return;
      const o = s as Record<string, unknown>;
      if (o.properties && typeof o.properties === 'object') for (const k of Object.keys(o.properties)) keys.add(k);
      for (const v of Object.values(o)) walk(v);
    };
    for (const k of TOPIC_KEYS) walk(jsonSchemaOf(k));
    expect(keys.size).toBeGreaterThan(20);
    for (const k of keys) expect(k, k).toMatch(/^[a-z][a-zA-Z0-9]*$/);
  });
});

describe('generated artifacts', () => {
  it('protocol/schemas/*.schema.json match the zod source (run `npm run gen` after a schema change)', async () => {
    const { readFileSync } = await import('node:fs');
    for (const k of [...TOPIC_KEYS, ...SITE_TOPIC_KEYS]) {
      const committed = JSON.parse(readFileSync(new URL(`../schemas/${k}.schema.json`, import.meta.url), 'utf8')) as unknown;
      expect(committed, `${k}.schema.json is stale`).toEqual(jsonSchemaOf(k));
    }
  });
});
