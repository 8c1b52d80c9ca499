/**
 * `decodePayload` of the hot topics must accept exactly what zod accepts, and the compiled check
 * must never accept what zod refuses (it may refuse more: zod then decides). Compared on valid
 * payloads, structurally mutated ones (a node replaced, removed, a key added) and targeted edge
 * values (bounds, UTF-16 lengths, non-finite numbers, near-miss timestamps and ids).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FAST_TOPICS, fastCheckOf, zodAccepts } from './fast-validate.js';
import { newEventId } from './ids.js';
import { TOPICS, type TopicKey } from './topics.js';
import { decodePayload } from './validate.js';

const RUNS = Number(process.env.PORTAIL_FUZZ_RUNS ?? 2000);
const TS = '2026-11-22T07:55:00.000Z';

const SEEDS: Partial<Record<TopicKey, () => Record<string, unknown>>> = {
  access: () => ({
    id: newEventId(), v: 1, site: 'lycee-a', agent: 'gate-1', camera: 'entrance', ts: TS,
    passageId: 'p-8f3c', credentialId: 'c-5k2m9q', decision: 'confirmed', biometric: true,
    scores: { similarity: 0.61, threshold: 0.36, liveness: 0.98, quality: 0.9 },
    timingsMs: { credential: 0.4, embed: 7.6, total: 18.2 }, modelId: 'sface',
  }),
  movement: () => ({
    id: newEventId(), v: 1, site: 'lycee-a', agent: 'gate-1', camera: 'hall', ts: TS,
    kind: 'line_counts', rule: 'entry', trackId: 'mh7jnistiwnmicq3', direction: 'in', box: [339.1, 15.9, 210.3, 383.9],
    counts: { in: 3, out: 0 }, excess: 1,
  }),
  camera: () => ({
    id: newEventId(), v: 1, site: 'lycee-a', agent: 'gate-1', camera: 'entrance', ts: TS,
    state: 'offline', code: 'NOT_FOUND', reason: 'No such file', width: 1280, height: 720,
  }),
};

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

/** Values near the schemas' edges: where a compiled check and zod are most likely to part ways. */
const EDGE_VALUES: unknown[] = [
    0, -0, 1, -1, 1.5, -1.0000001, 1.0000001, 2 ** 53, 2 ** 53 + 2, -(2 ** 53) - 2, 1e308, 0.5, 64, 65,
    '', 'a', 'A', '-a', 'a'.repeat(64), 'a'.repeat(65), 'é'.repeat(33), '😀'.repeat(16), '😀'.repeat(17),
    'x'.repeat(512), 'x'.repeat(513), 'x'.repeat(128), 'x'.repeat(129),
    '2026-11-22T07:55:00Z', '2026-11-22T07:55:00.1234567Z', '2026-11-22T07:55:00.000+01:00', '2026-02-29T00:00:00Z',
    '2028-02-29T00:00:00.000Z', '2026-11-22T24:00:00.000Z', '2026-11-22 07:55:00.000Z', '2026-11-22T07:55:00.000z',
    '0190a6b2-7c3d-7abc-8def-0123456789ab', '0190A6B2-7C3D-7ABC-8DEF-0123456789AB', '0190a6b2-7c3d-4abc-8def-0123456789ab',
    '0190a6b2-7c3d-7abc-cdef-0123456789ab', '0190a6b2-7c3d-7abc-8def-0123456789ab\n', 'lycee-a\n', 'in', 'out',
    'accepted', 'line_crossing', 'online', 'OK', true, false, null, [], {}, [1, 2, 3, 4], [1, 2, 3], [1, 2, 3, 4, 5],
    ['1', 2, 3, 4], { in: 1, out: 2 }, { in: -1, out: 0 }, { in: 1.5, out: 0 }, { similarity: 2 }, { other: 1 },
    { ['x'.repeat(32)]: 1 }, { ['x'.repeat(33)]: 1 }, { ['😀'.repeat(16)]: 1 }, { ['😀'.repeat(17)]: 1 }, { a: -1 },
];
const edgeValue = fc.oneof(
  fc.constantFrom(...EDGE_VALUES),
  fc.jsonValue(),
  fc.double(),
  fc.string({ maxLength: 70 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);

const mutated = (seed: Record<string, unknown>): fc.Arbitrary<unknown> => {
  const all = paths(seed);
  return fc.oneof(
    fc.constant(seed),
    fc.tuple(fc.constantFrom(...all), edgeValue).map(([p, v]) => setAt(seed, p, v, false)),
    fc.tuple(fc.constantFrom(...all.filter((p) => p.length > 0))).map(([p]) => setAt(seed, p, undefined, true)),
    fc.tuple(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'toString')), edgeValue).map(([k, v]) => {
      const copy: Record<string, unknown> = structuredClone(seed);
      Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true, configurable: true });
      return copy;
    }),
    // two mutations at once
    fc
      .tuple(fc.constantFrom(...all), edgeValue, fc.constantFrom(...all), edgeValue)
      .map(([p, v, q, w]) => {
        const once = setAt(seed, p, v, false);
        try {
          return setAt(once, q, w, false);
        } catch {
          // the second path went through a node the first mutation replaced by a primitive
          return once;
        }
      }),
  );
};

describe('compiled validators agree with zod', () => {
  for (const key of FAST_TOPICS) {
    const seed = SEEDS[key];
    it(`${key}: decodes exactly as zod does, the compiled check never accepts more`, () => {
      expect(seed, `a seed for ${key}`).toBeDefined();
      const check = fastCheckOf(key)!;
      const schema = TOPICS[key].schema;
      let accepted = 0;
      let rejected = 0;
      fc.assert(
        fc.property(mutated(seed!()), (m) => {
          // through JSON, as the ingest sees it (no undefined, no NaN: what an MQTT payload can carry)
          const value: unknown = JSON.parse(JSON.stringify(m) ?? 'null');
          const z = zodAccepts(schema, value);
          if (z) accepted += 1;
          else rejected += 1;
          if (check(value)) expect(z).toBe(true);
          expect(decodePayload(key, JSON.stringify(value)).ok).toBe(z);
        }),
        { numRuns: RUNS },
      );
      // the comparison covered both verdicts, not just one side
      expect(accepted).toBeGreaterThan(RUNS / 50);
      expect(rejected).toBeGreaterThan(RUNS / 50);
    });
  }

  it('every edge value at every path of every seed: same verdict (exhaustive)', () => {
    let checked = 0;
    for (const key of FAST_TOPICS) {
      const seed = SEEDS[key]!();
      const check = fastCheckOf(key)!;
      const schema = TOPICS[key].schema;
      for (const p of paths(seed)) {
        for (const v of EDGE_VALUES) {
          const value: unknown = JSON.parse(JSON.stringify(setAt(seed, p, v, false)));
          const raw = JSON.stringify(value);
          const z = zodAccepts(schema, value);
          // the compiled check may refuse more (zod then decides), never accept more
          if (check(value)) expect(z, `${key} ${p.join('.')} = ${JSON.stringify(v)}`).toBe(true);
          expect(decodePayload(key, raw).ok, `${key} ${p.join('.')} = ${JSON.stringify(v)}`).toBe(z);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(3000);
  });

  it('a number JSON turns into Infinity is refused by both, bounded or not', () => {
    // excess is a bounded integer; box and timingsMs values are plain numbers with no bound
    const cases: Array<[TopicKey, string, string]> = [
      ['movement', '"excess":1', '"excess":1e400'],
      ['movement', '[339.1,', '[1e400,'],
      ['access', '"embed":7.6', '"embed":1e400'],
      ['access', '"total":18.2', '"total":-1e400'],
    ];
    for (const [key, from, to] of cases) {
      const raw = JSON.stringify(SEEDS[key]!()).replace(from, to);
      expect(raw).toContain(to);
      expect(fastCheckOf(key)!(JSON.parse(raw))).toBe(false);
      expect(decodePayload(key, raw).ok).toBe(false);
    }
  });

  it('decodePayload returns zod messages for what the compiled check refuses', () => {
    const bad = { ...SEEDS.access!(), decision: 'maybe' };
    const r = decodePayload('access', JSON.stringify(bad));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('INVALID_SCHEMA');
      expect(r.error.messages.join(' ')).toMatch(/^decision: /);
    }
  });

  it('decodePayload accepts a valid event with the parsed value', () => {
    const good = SEEDS.access!();
    const r = decodePayload('access', JSON.stringify(good));
    expect(r).toEqual({ ok: true, value: good });
  });
});
