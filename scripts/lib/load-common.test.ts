import { decodePayload, eventIdSchema, newEventId, type AccessEvent, type MovementEvent } from '@portail/protocol';
import { describe, expect, it } from 'vitest';
import {
  ByteKeySet,
  createLoadEventSource,
  createUuidV7Source,
  FrameScanCache,
  isoMsAt,
  LatencyHistogram,
  scanEventFrame,
} from './load-common.js';

/** Deterministic PRNG (mulberry32): two generators with the same seed draw the same numbers. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The object builder the load agents used before the templates (scripts/lib/load-agents.ts), kept
// here verbatim as the reference, with Math.random and newEventId injected.
const DECISIONS: Array<[AccessEvent['decision'], number]> = [
  ['confirmed', 0.7],
  ['accepted', 0.2],
  ['no_face', 0.04],
  ['mismatch', 0.03],
  ['low_quality', 0.02],
  ['unknown_credential', 0.005],
  ['revoked', 0.003],
  ['expired', 0.002],
];
function decision(r: number): AccessEvent['decision'] {
  let acc = 0;
  for (const [d, p] of DECISIONS) {
    acc += p;
    if (r < acc) return d;
  }
  return 'confirmed';
}
interface RefAgent {
  site: string;
  agent: string;
  passage: number;
  counts: { in: number; out: number };
}
function referenceBuilder(random: () => number, newId: () => string) {
  let seq = 0;
  const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
  function randomTrack(): string {
    let s = '';
    for (let i = 0; i < 16; i++) s += B32[Math.floor(random() * 32)];
    return s;
  }
  return function makeEvent(
    a: RefAgent,
    tsMs: number,
    accessShare: number,
  ): { key: 'access' | 'movement'; value: AccessEvent | MovementEvent } {
    seq += 1;
    const ts = new Date(tsMs).toISOString();
    if (random() < accessShare) {
      a.passage += 1;
      const d = decision(random());
      const biometric = d !== 'accepted' && d !== 'revoked' && d !== 'unknown_credential' && d !== 'expired';
      const value: AccessEvent = {
        id: newId(),
        v: 1,
        site: a.site,
        agent: a.agent,
        camera: 'entrance',
        ts,
        passageId: `p-${a.passage.toString(36)}`,
        credentialId: `c${(seq % 99_999_999).toString(32).padStart(8, 'a').slice(0, 8)}`,
        decision: d,
        biometric,
        ...(biometric
          ? {
              scores: { similarity: d === 'mismatch' ? 0.12 : 0.61, threshold: 0.36, liveness: 0.97, quality: 0.88 },
              timingsMs: {
                credential: 0.4,
                align: 0.8,
                quality: 0.3,
                liveness: 9.1,
                embed: 7.6,
                total: 18.2,
                window: 1000,
                frames: 6,
              },
              modelId: 'faceplugin-fr-feature-512d',
            }
          : {}),
      };
      return { key: 'access', value };
    }
    const r = random();
    const base = { id: newId(), v: 1 as const, site: a.site, agent: a.agent, camera: 'hall', ts, rule: 'entry' };
    if (r < 0.15) {
      a.counts.in += 1;
      return { key: 'movement', value: { ...base, kind: 'line_counts', counts: { ...a.counts } } };
    }
    if (r < 0.18)
      return {
        key: 'movement',
        value: { ...base, kind: 'tailgating', rule: 'gate-tailgating', trackId: randomTrack(), excess: 1 },
      };
    if (r < 0.2)
      return {
        key: 'movement',
        value: {
          ...base,
          kind: 'wrong_way',
          trackId: randomTrack(),
          direction: 'out',
          box: [120.5, 40.2, 88.1, 230.7],
        },
      };
    return {
      key: 'movement',
      value: {
        ...base,
        kind: 'line_crossing',
        trackId: randomTrack(),
        direction: random() < 0.9 ? 'in' : 'out',
        box: [339.1, 15.9, 210.3, 383.9],
      },
    };
  };
}

describe('createLoadEventSource', () => {
  it('gives byte for byte the JSON of the former object builder, schema-valid, over every branch', () => {
    const ids = Array.from({ length: 20_000 }, () => newEventId());
    let i = 0;
    let j = 0;
    const make = referenceBuilder(prng(7), () => ids[i++]!);
    const source = createLoadEventSource({ accessShare: 0.5, random: prng(7), newId: () => ids[j++]! });
    const names = Array.from({ length: 40 }, (_, k) => ({
      site: `lycee-${String((k >> 1) + 1).padStart(3, '0')}`,
      agent: `gate-${(k & 1) + 1}`,
    }));
    const refAgents: RefAgent[] = names.map((n) => ({ ...n, passage: 0, counts: { in: 0, out: 0 } }));
    const agents = names.map((n) => source.forAgent(n.site, n.agent));
    const seen = new Set<string>();
    const t0 = Date.UTC(2026, 8, 1, 7, 59, 59, 990);
    for (let n = 0; n < ids.length; n++) {
      // ticks of ~50 events sharing a ts, and now and then an older ts (an event from a backlog)
      const tsMs = n % 97 === 0 ? t0 + n - 5_000 : t0 + 5 * Math.floor(n / 50);
      const k = (n * 7) % agents.length;
      const expected = make(refAgents[k]!, tsMs, 0.5);
      const got = agents[k]!.next(tsMs);
      expect(got.key).toBe(expected.key);
      expect(got.json).toBe(JSON.stringify(expected.value));
      const decoded = decodePayload(got.key, got.json);
      expect(decoded.ok).toBe(true);
      if (decoded.ok) expect(decoded.value).toEqual(expected.value);
      const v = expected.value as { kind?: string; decision?: string; direction?: string };
      seen.add(expected.key === 'access' ? `access:${v.decision}` : `movement:${v.kind}:${v.direction ?? ''}`);
    }
    expect(source.made).toBe(ids.length);
    // every decision and every movement shape was compared at least once
    for (const [d] of DECISIONS) expect(seen).toContain(`access:${d}`);
    for (const m of ['line_counts:', 'tailgating:', 'wrong_way:out', 'line_crossing:in', 'line_crossing:out'])
      expect(seen).toContain(`movement:${m}`);
  });

  it('uses its own UUIDv7 ids by default, accepted by the protocol', () => {
    const source = createLoadEventSource({ accessShare: 0.5 });
    const a = source.forAgent('lycee-001', 'gate-1');
    for (let n = 0; n < 500; n++) {
      const { key, json } = a.next(Date.now());
      expect(decodePayload(key, json).ok).toBe(true);
    }
  });
});

describe('createUuidV7Source', () => {
  it('makes valid, unique, increasing UUIDv7 ids carrying the clock, even when the clock steps back', () => {
    const clock = [1_700_000_000_000, 1_700_000_000_000, 1_700_000_000_001, 1_699_999_999_000, 1_700_000_000_500];
    let c = 0;
    let tMs = clock[0]!;
    const next = createUuidV7Source(prng(3), () => tMs);
    const out: string[] = [];
    for (let n = 0; n < 5_000; n++) {
      if (n % 1_000 === 0) tMs = clock[c++]!;
      out.push(next());
    }
    expect(new Set(out).size).toBe(out.length);
    for (let n = 1; n < out.length; n++) expect(out[n]! > out[n - 1]!).toBe(true);
    for (const id of out) {
      expect(eventIdSchema.safeParse(id).success).toBe(true);
      expect(id[14]).toBe('7');
      expect('89ab').toContain(id[19]);
    }
    // the 48-bit time of the first id is the clock's, in ms
    expect(parseInt(out[0]!.slice(0, 8) + out[0]!.slice(9, 13), 16)).toBe(clock[0]);
    expect(parseInt(out[2_500]!.slice(0, 8) + out[2_500]!.slice(9, 13), 16)).toBe(clock[2]);
  });

  it('carries the counter past 48 bits into rand_a', () => {
    // a random() that starts the counter just below 2^48 after its first draw
    let first = true;
    const next = createUuidV7Source(
      () => {
        if (first) {
          first = false;
          return (2 ** 48 - 2) / 2 ** 32;
        }
        return 0.5;
      },
      () => 1_700_000_000_000,
    );
    const a = next();
    const b = next();
    const c = next();
    expect(a.slice(15, 18)).toBe('000');
    expect(a.slice(24)).toBe('ffffffffffff');
    expect(b.slice(15, 18)).toBe('001');
    expect(b.slice(24)).toBe('000000000000');
    expect(c > b && b > a).toBe(true);
  });
});

describe('isoMsAt', () => {
  it('reads canonical ISO timestamps exactly like Date.parse, across hours, days and years', () => {
    const r = prng(11);
    for (let n = 0; n < 5_000; n++) {
      const ms = Math.floor(Date.UTC(2020, 0, 1) + r() * 10 * 365 * 86_400_000);
      const iso = new Date(ms).toISOString();
      const b = Buffer.from(`{"ts":"${iso}","x":1}`);
      expect(isoMsAt(b, 7)).toBe(ms);
    }
  });

  it('falls back to Date.parse for other forms', () => {
    const b = Buffer.from('"ts":"2026-09-01T09:00:00+02:00","x"');
    expect(isoMsAt(b, 6)).toBe(Date.parse('2026-09-01T09:00:00+02:00'));
    const c = Buffer.from('"ts":"2026-09-01T07:00:00Z"');
    expect(isoMsAt(c, 6)).toBe(Date.UTC(2026, 8, 1, 7));
  });
});

/** A batch frame as the live hub writes it (control-server/src/http/ws/live-hub.ts). */
function hubFrame(
  events: Array<{ kind: string; payload: { id: string; ts: string } & Record<string, unknown> }>,
  extra = true,
): Buffer {
  const parts = events.map(
    ({ kind, payload }) =>
      `{"type":"event","kind":"${kind}","event":${JSON.stringify({ id: payload.id, kind, site: 'lycee-001', agent: 'gate-1', camera: 'hall', ts: payload.ts, receivedAt: new Date().toISOString(), payload })}}`,
  );
  // a message that is not an event, in the middle
  if (extra)
    parts.splice(1, 0, JSON.stringify({ type: 'agent', agent: { id: 'gate-1', ts: '2026-09-01T07:00:00.000Z' } }));
  return Buffer.from(`{"type":"batch","messages":[${parts.join(',')}]}`);
}

function someEvents(n: number, t0: number): Array<{ kind: string; payload: { id: string; ts: string } }> {
  const source = createLoadEventSource({ accessShare: 0.5, random: prng(5) });
  const a = source.forAgent('lycee-001', 'gate-1');
  return Array.from({ length: n }, (_, k) => {
    const { key, json } = a.next(t0 + 5 * Math.floor(k / 4));
    return { kind: key, payload: JSON.parse(json) as { id: string; ts: string } };
  });
}

describe('scanEventFrame', () => {
  it('finds every event of a hub frame with its id and ts, the ts as runs of equal values', () => {
    const events = someEvents(37, Date.UTC(2026, 8, 1, 7, 59, 59, 950));
    const frame = hubFrame(events);
    const scan = scanEventFrame(frame);
    expect(scan.n).toBe(events.length);
    expect(scan.idAt.map((at) => frame.toString('latin1', at, at + 36))).toEqual(events.map((e) => e.payload.id));
    const expanded = scan.tsMs.flatMap((t, k) => Array.from({ length: scan.tsRun[k]! }, () => t));
    expect(expanded).toEqual(events.map((e) => Date.parse(e.payload.ts)));
    expect(scan.tsMs.length).toBe(10); // 37 events, 4 per ts
  });

  it('finds nothing in a frame without events', () => {
    expect(scanEventFrame(Buffer.from('{"type":"hello","v":1}')).n).toBe(0);
  });
});

describe('FrameScanCache', () => {
  it('answers a byte-for-byte equal frame from memory and scans any other', () => {
    const cache = new FrameScanCache(2);
    const events = someEvents(12, Date.UTC(2026, 8, 1, 7));
    const a = hubFrame(events);
    expect(a.length).toBeGreaterThan(FrameScanCache.MIN_BYTES);
    const first = cache.scan(a);
    // another buffer with the same bytes: the same events, not scanned again
    expect(cache.scan(Buffer.from(a))).toBe(first);
    expect([cache.hits, cache.misses]).toEqual([1, 1]);
    // the same length, one digit of one ts different: scanned on its own
    const b = Buffer.from(a);
    const at = b.indexOf('"ts":"', b.indexOf('"event":{')) + 6 + 22;
    b[at] = b[at] === 48 ? 49 : 48;
    const other = cache.scan(b);
    expect(other).not.toBe(first);
    expect(other).toEqual(scanEventFrame(b));
    expect(other.tsMs).not.toEqual(first.tsMs);
    expect([cache.hits, cache.misses]).toEqual([1, 2]);
    // capacity 2: a third frame evicts the oldest
    cache.scan(hubFrame(events.slice(1)));
    cache.scan(Buffer.from(a));
    expect([cache.hits, cache.misses]).toEqual([1, 4]);
  });

  it('scans small frames (one message each without batch frames) directly', () => {
    const cache = new FrameScanCache();
    const one = hubFrame(someEvents(1, Date.UTC(2026, 8, 1, 7)), false);
    expect(one.length).toBeLessThan(FrameScanCache.MIN_BYTES);
    expect(cache.scan(one)).toEqual(scanEventFrame(one));
    expect(cache.scan(Buffer.from(one)).n).toBe(1);
    expect([cache.hits, cache.misses]).toEqual([0, 0]);
  });

  it('is not fooled by the buffer it was given being overwritten later', () => {
    const cache = new FrameScanCache();
    const a = hubFrame(someEvents(10, Date.UTC(2026, 8, 1, 7)));
    const scan = cache.scan(a);
    const copy = Buffer.from(a);
    a.fill(32);
    expect(cache.scan(copy)).toBe(scan);
  });
});

describe('ByteKeySet', () => {
  it('tells new keys from repeated ones exactly like a Set of strings, across growth', () => {
    const set = new ByteKeySet(36, 8);
    const ref = new Set<string>();
    const ids = Array.from({ length: 3_000 }, () => newEventId());
    const r = prng(9);
    let repeats = 0;
    for (let n = 0; n < 10_000; n++) {
      const id = ids[Math.floor(r() * ids.length)]!;
      // the key in the middle of a larger buffer, as in a frame
      const b = Buffer.from(`xx"${id}"yy`);
      const added = set.add(b, 3);
      expect(added).toBe(!ref.has(id));
      if (!added) repeats += 1;
      ref.add(id);
    }
    expect(set.size).toBe(ref.size);
    expect(repeats).toBeGreaterThan(1_000);
  });

  it('compares every byte: keys differing only in the last one are distinct', () => {
    const set = new ByteKeySet(4, 4);
    expect(set.add(Buffer.from('abcd'), 0)).toBe(true);
    expect(set.add(Buffer.from('abce'), 0)).toBe(true);
    expect(set.add(Buffer.from('abcd'), 0)).toBe(false);
    expect(set.add(Buffer.from('.abce'), 1)).toBe(false);
  });
});

describe('LatencyHistogram.record with a count', () => {
  it('is n single records', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const r = prng(13);
    for (let k = 0; k < 300; k++) {
      const ms = k % 50 === 0 ? 20_000 : r() * 500;
      const n = 1 + Math.floor(r() * 60);
      a.record(ms, n);
      for (let i = 0; i < n; i++) b.record(ms);
    }
    expect(a.summary()).toEqual(b.summary());
    const ja = a.toJSON();
    const jb = b.toJSON();
    expect(ja.b).toEqual(jb.b);
    expect([ja.o, ja.n, ja.m]).toEqual([jb.o, jb.n, jb.m]);
    expect(ja.s).toBeCloseTo(jb.s, 6);
  });
});
