/**
 * The insert's hot path builds the live JSON of an event from the payload JSON it writes and skips
 * JSON.stringify on strings with nothing to escape: the result must be exactly JSON.stringify(event),
 * compared on generated payloads (everything the protocol accepts, then anything a caller could pass)
 * on a real SQLite file. normaliseTs must make text order time order for every accepted timestamp.
 */
import { decodePayload, type EventTopicKey, type PayloadOf } from '@portail/protocol';
import type { Database } from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../store/database.js';
import { makeAccessEvent, makeMovementEvent, makeTempDir } from '../test-support/fixtures.js';
import {
  createEventRepository,
  insertedEventJson,
  normaliseTs,
  writtenEvent,
  type EventRepository,
} from './event-repository.js';

const RUNS = Number(process.env.PORTAIL_FUZZ_RUNS ?? 300);

// every UTF-16 code unit (lone surrogates included) and the characters JSON escapes or that look like it
const unit = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom(
    '"',
    '\\',
    '\n',
    '\u0000',
    '\u001f',
    '\u007f',
    '\u2028',
    '\u2029',
    '\ud800',
    '\udfff',
    '😀',
    'é',
    '</script>',
    '/',
  ),
  fc.string({ unit: 'binary', maxLength: 2 }),
);
const text = (maxLength: number, minLength = 0) => fc.string({ unit, minLength, maxLength });
const id = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,63}$/);
/** timestamps the schema accepts, canonical or not (no milliseconds, more digits, fewer) */
const ts = fc
  .tuple(fc.date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }), fc.nat(3))
  .map(([d, shape]) => {
    const iso = d.toISOString();
    return [iso, iso.replace(/\.\d{3}Z$/, 'Z'), iso.replace(/Z$/, '4567Z'), iso.replace(/\d\dZ$/, 'Z')][shape]!;
  });
const envelope = { id: fc.uuid({ version: 7 }), v: fc.constant(1 as const), site: id, agent: id, camera: id, ts };
const num = fc.double({ noNaN: true, noDefaultInfinity: true });
const unitScore = fc.double({ min: 0, max: 1, noNaN: true });

const payloads: { [K in EventTopicKey]: fc.Arbitrary<unknown> } = {
  access: fc.record(
    {
      ...envelope,
      passageId: text(64, 1),
      credentialId: text(64, 1),
      decision: fc.constantFrom('accepted', 'confirmed', 'mismatch', 'spoof_suspected'),
      biometric: fc.boolean(),
      scores: fc.record(
        { similarity: fc.double({ min: -1, max: 1, noNaN: true }), liveness: unitScore, quality: unitScore },
        { requiredKeys: [] },
      ),
      timingsMs: fc.dictionary(text(32), fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }), { maxKeys: 4 }),
      modelId: text(128),
    },
    { requiredKeys: ['id', 'v', 'site', 'agent', 'camera', 'ts', 'passageId', 'decision', 'biometric'] },
  ),
  movement: fc.record(
    {
      ...envelope,
      kind: fc.constantFrom('zone_entry', 'line_crossing', 'wrong_way', 'tailgating', 'line_counts'),
      rule: text(64, 1),
      trackId: text(64),
      direction: fc.constantFrom('in', 'out'),
      box: fc.tuple(num, num, num, num),
      counts: fc.record({ in: fc.nat(), out: fc.nat() }),
      excess: fc.integer({ min: 1 }),
    },
    { requiredKeys: ['id', 'v', 'site', 'agent', 'camera', 'ts', 'kind', 'rule'] },
  ),
  camera: fc.record(
    {
      ...envelope,
      state: fc.constantFrom('online', 'offline', 'stalled'),
      code: fc.constantFrom('OK', 'NOT_FOUND', 'STOPPED'),
      reason: text(512),
      width: fc.integer({ min: 1 }),
      height: fc.integer({ min: 1 }),
    },
    { requiredKeys: ['id', 'v', 'site', 'agent', 'camera', 'ts', 'state', 'code'] },
  ),
};
const kinds = Object.keys(payloads) as EventTopicKey[];

describe('event repository insert on a real SQLite file', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let db: Database;
  let events: EventRepository;
  beforeAll(() => {
    tmp = makeTempDir();
    db = openDatabase({ dataDir: tmp.dir });
    events = createEventRepository(db);
  });
  afterAll(() => {
    db.close();
    tmp.remove();
  });

  const storedPayload = (eventId: string): { payload: string; valid: number } =>
    db.prepare('SELECT payload, json_valid(payload) AS valid FROM events WHERE id = ?').get(eventId) as {
      payload: string;
      valid: number;
    };

  it('the live JSON of every event the protocol accepts is JSON.stringify(event), byte for byte', () => {
    let checked = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds).chain((k) => payloads[k].map((p) => [k, p] as const)),
        ([kind, generated]) => {
          // as the ingest gets it: JSON text off the wire, decoded and validated
          const decoded = decodePayload(kind, JSON.stringify(generated));
          fc.pre(decoded.ok);
          if (!decoded.ok) return;
          const payload = decoded.value as PayloadOf<typeof kind>;
          const receivedAt = new Date().toISOString();
          const { inserted, event } = events.insert(kind, payload, receivedAt);
          fc.pre(inserted); // a repeated uuid from the generator
          expect(event).toEqual({
            id: payload.id,
            kind,
            site: payload.site,
            agent: payload.agent,
            camera: payload.camera,
            ts: new Date(payload.ts).toISOString(),
            receivedAt,
            payload,
          });
          expect(insertedEventJson(event)).toBe(JSON.stringify(event));
          // the same JSON a plain object with the same fields gives (key order included)
          expect(insertedEventJson(event)).toBe(JSON.stringify({ ...event }));
          // what SQLite stores: the payload's JSON.stringify, which its json_valid accepts (what the
          // CHECK dropped by migration 130 verified)
          expect(storedPayload(payload.id)).toEqual({ payload: JSON.stringify(payload), valid: 1 });
          checked++;
        },
      ),
      { numRuns: RUNS },
    );
    expect(checked).toBeGreaterThan(RUNS / 2);
  });

  it('stays byte-identical whatever strings a caller passes (escaping where needed)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        text(40),
        text(20),
        text(20),
        text(20),
        text(30),
        fc.nat(),
        (kind, weirdId, site, agent, camera, receivedAt, n) => {
          const base = (kind === 'access' ? makeAccessEvent('s', 'a') : makeMovementEvent('s', 'a')) as PayloadOf<
            typeof kind
          >;
          const payload = { ...base, id: `${weirdId}#${n}#${base.id}`, site, agent, camera, note: weirdId } as never;
          const { inserted, event } = events.insert(kind, payload, receivedAt);
          expect(inserted).toBe(true);
          expect(insertedEventJson(event)).toBe(JSON.stringify(event));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('gives the JSON only for the object insert or adopt returned, not for copies or rows read back', () => {
    const at = '2026-11-22T07:55:00.123Z';
    const e = makeAccessEvent('lycee-a', 'gate-1', { ts: '2026-11-22T07:55:00Z' });
    const first = events.insert('access', e, at);
    expect(first.inserted).toBe(true);
    expect(first.event.ts).toBe('2026-11-22T07:55:00.000Z');
    const json = insertedEventJson(first.event);
    expect(json).toBe(JSON.stringify(first.event));
    // memoised: the same string again
    expect(insertedEventJson(first.event)).toBe(json);
    expect(Object.keys(first.event)).toEqual(['id', 'kind', 'site', 'agent', 'camera', 'ts', 'receivedAt', 'payload']);
    // a copy, even unchanged, is not the inserted event (a modified copy must never reuse the JSON)
    expect(insertedEventJson({ ...first.event })).toBeUndefined();
    expect(insertedEventJson({ ...first.event, site: 'lycee-b' })).toBeUndefined();
    expect(insertedEventJson(structuredClone(first.event))).toBeUndefined();
    // a replay reports the stored copy, read back: plain JSON.stringify for it
    const again = events.insert('access', e, at);
    expect(again.inserted).toBe(false);
    expect(again.event).toEqual(first.event);
    expect(insertedEventJson(again.event)).toBeUndefined();
    const listed = events.list({ limit: 1000 });
    expect(listed.ok && listed.events.find((x) => x.id === e.id)).toEqual(first.event);
    expect(listed.ok && listed.events.every((x) => insertedEventJson(x) === undefined)).toBe(true);

    // an event the event writer thread stored: known by its JSON, parsed only if a field is read
    const m = makeMovementEvent('lycee-a', 'hall-1');
    const plain = {
      id: m.id,
      kind: 'movement',
      site: 'lycee-a',
      agent: 'hall-1',
      camera: m.camera,
      ts: m.ts,
      receivedAt: at,
      payload: m,
    };
    const text = JSON.stringify(plain);
    const written = writtenEvent('movement', 'lycee-a', text);
    expect(insertedEventJson(written)).toBe(text);
    expect(JSON.stringify(written)).toBe(text);
    expect({ id: written.id, agent: written.agent, ts: written.ts, payload: written.payload }).toEqual({
      id: m.id,
      agent: 'hall-1',
      ts: m.ts,
      payload: m,
    });
    expect(insertedEventJson({ ...written })).toBeUndefined();
  });
});

describe('normaliseTs', () => {
  const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
  const sign = (x: number): number => (x > 0 ? 1 : x < 0 ? -1 : 0);

  it('keeps canonical timestamps as they are and makes every accepted shape canonical', () => {
    fc.assert(
      fc.property(ts, (s) => {
        const n = normaliseTs(s);
        expect(n).toMatch(CANONICAL);
        // the same instant, to the millisecond (extra digits are cut, as Date does)
        expect(Date.parse(n)).toBe(Date.parse(s));
        if (CANONICAL.test(s)) expect(n).toBe(s);
      }),
      { numRuns: RUNS * 10 },
    );
    expect(normaliseTs('2026-11-22T07:55:00.123Z')).toBe('2026-11-22T07:55:00.123Z');
    expect(normaliseTs('2026-11-22T07:55:00Z')).toBe('2026-11-22T07:55:00.000Z');
    expect(normaliseTs('2026-11-22T07:55:00.1234567Z')).toBe('2026-11-22T07:55:00.123Z');
    expect(normaliseTs('2026-11-22T08:55:00.000+01:00')).toBe('2026-11-22T07:55:00.000Z');
  });

  it('makes text order time order, whatever the precision each timestamp was sent with', () => {
    fc.assert(
      fc.property(ts, ts, (a, b) => {
        const x = normaliseTs(a);
        const y = normaliseTs(b);
        expect(sign(x < y ? -1 : x > y ? 1 : 0)).toBe(sign(Date.parse(a) - Date.parse(b)));
      }),
      { numRuns: RUNS * 10 },
    );
  });
});
