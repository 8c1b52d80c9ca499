import { buildSiteTopic, buildTopic, newEventId, type TopicKey } from '@portail/protocol';

/**
 * Deterministic generator of hostile MQTT messages for fuzzing the ingest: valid payloads mutated
 * the ways a broken or malicious publisher would (flipped bytes, truncation, type swaps, huge
 * strings, deep nesting, unknown or mismatched topics, replays). Seeded, so a failing run can be
 * replayed with the same seed.
 */

export interface SeedMessage {
  key: TopicKey;
  /** a valid payload of `key` (an object: the mutator clones it) */
  value: Record<string, unknown>;
}

export type MutationKind =
  | 'valid'
  | 'replay'
  | 'flip_bytes'
  | 'truncate'
  | 'insert_bytes'
  | 'random_bytes'
  | 'type_swap'
  | 'remove_field'
  | 'unknown_field'
  | 'huge_string'
  | 'oversized'
  | 'deep_nesting'
  | 'proto_keys'
  | 'unknown_topic'
  | 'topic_mismatch'
  | 'wrong_topic_key'
  | 'site_topic'
  | 'non_object';

export interface MutatedMessage {
  topic: string;
  payload: Buffer;
  mutation: MutationKind;
}

export interface PayloadMutatorOptions {
  seed: number;
  seeds: readonly SeedMessage[];
  /** only topics an MQTT broker accepts and delivers to `portail/v1/+/+/#` (no wildcards, no NUL, in the tree) */
  brokerSafeTopics?: boolean;
  /** share of messages carrying a 256 KiB+ payload; they are slow to build, keep it small */
  oversizedShare?: number;
}

/** mulberry32: a tiny, good-enough seeded PRNG (not for anything but test data). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const EVENT_KEYS = new Set<TopicKey>(['access', 'movement', 'camera']);
const ALL_KEYS: readonly TopicKey[] = ['status', 'health', 'access', 'movement', 'camera', 'configState', 'syncState'];

export function createPayloadMutator(opts: PayloadMutatorOptions): { next(): MutatedMessage } {
  const rnd = seededRandom(opts.seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const oversizedShare = opts.oversizedShare ?? 0.002;
  const sent: Array<{ topic: string; payload: Buffer }> = [];

  function fresh(): { key: TopicKey; value: Record<string, unknown>; topic: string } {
    const s = pick(opts.seeds);
    const value = structuredClone(s.value);
    // events need a new id each time, or every "valid" message after the first is a duplicate
    if (EVENT_KEYS.has(s.key)) value.id = newEventId();
    return { key: s.key, value, topic: buildTopic(s.key, String(value.site), String(value.agent)) };
  }

  function randomString(max: number): string {
    const alphabet = 'abcxyz019-_/+#$ é\u0000\u00ff\ud83d\ude00"\\{}[]:,';
    let out = '';
    const n = int(max);
    for (let i = 0; i < n; i++) out += alphabet[int(alphabet.length)];
    return out;
  }

  function randomScalar(): unknown {
    switch (int(9)) {
      case 0: return null;
      case 1: return rnd() < 0.5;
      case 2: return int(2 ** 31) - 2 ** 30;
      case 3: return rnd() * 1e308 * (rnd() < 0.5 ? -1 : 1);
      case 4: return randomString(40);
      case 5: return [];
      case 6: return {};
      case 7: return [randomString(5), int(10)];
      default: return { x: randomString(5) };
    }
  }

  /** every (parent, key) of a JSON tree, for picking a node to change */
  function slots(v: unknown, out: Array<[Record<string | number, unknown>, string | number]> = []) {
    if (Array.isArray(v)) v.forEach((x, i) => { out.push([v as never, i]); slots(x, out); });
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.push([v as never, k]); slots(x, out); }
    return out;
  }

  function deepNest(depth: number): string {
    return rnd() < 0.5 ? '['.repeat(depth) + '1' + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  }

  function unknownTopic(): string {
    const safe = [
      'portail/v1/lycee-a/gate-1/events/unknown',
      'portail/v1/lycee-a/gate-1/events/access/extra',
      'portail/v1/LYCEE/gate-1/status',
      'portail/v1/lycee-a/gate-1/status/x',
      `portail/v1/lycee-a/${'g'.repeat(70)}/health`,
      'portail/v1/lycee-a/gate-1/sync/manifest',
      'portail/v1/lycee-a/sync/templates/999',
      `portail/v1/${randomString(12).replace(/[+#/\u0000]/g, 'x') || 'x'}/gate-1/${randomString(8).replace(/[+#\u0000]/g, 'y') || 'y'}`,
    ];
    if (opts.brokerSafeTopics) return pick(safe);
    return pick([...safe, '', '/', '#', 'portail/v1/+/+/status', 'portail/v2/lycee-a/gate-1/status', randomString(300), 'x'.repeat(70_000)]);
  }

  function next(): MutatedMessage {
    const f = fresh();
    const ser = (v: unknown): Buffer => Buffer.from(JSON.stringify(v) ?? 'null');
    const roll = rnd();
    if (roll < oversizedShare) {
      // just past the 256 KiB limit, or far past it
      const v = { ...f.value, reason: 'x'.repeat(256 * 1024 + int(64 * 1024)) };
      return { topic: f.topic, payload: ser(v), mutation: 'oversized' };
    }
    const kinds: readonly MutationKind[] = [
      'valid', 'valid', 'valid', 'replay', 'flip_bytes', 'flip_bytes', 'truncate', 'insert_bytes', 'random_bytes',
      'type_swap', 'type_swap', 'remove_field', 'unknown_field', 'huge_string', 'deep_nesting', 'proto_keys',
      'unknown_topic', 'topic_mismatch', 'wrong_topic_key', 'site_topic', 'non_object',
    ];
    const mutation = pick(kinds);
    switch (mutation) {
      case 'valid': {
        const m = { topic: f.topic, payload: ser(f.value), mutation };
        if (sent.length < 1000) sent.push(m);
        else sent[int(sent.length)] = m;
        return m;
      }
      case 'replay': {
        if (sent.length === 0) return { topic: f.topic, payload: ser(f.value), mutation: 'valid' };
        const m = pick(sent);
        return { topic: m.topic, payload: m.payload, mutation };
      }
      case 'flip_bytes': {
        const b = ser(f.value);
        for (let i = 1 + int(8); i > 0; i--) {
          const at = int(b.length);
          b[at] = b[at]! ^ (1 + int(255));
        }
        return { topic: f.topic, payload: b, mutation };
      }
      case 'truncate': {
        const b = ser(f.value);
        return { topic: f.topic, payload: b.subarray(0, int(b.length)), mutation };
      }
      case 'insert_bytes': {
        const b = ser(f.value);
        const at = int(b.length + 1);
        const ins = Buffer.from(Array.from({ length: 1 + int(32) }, () => int(256)));
        return { topic: f.topic, payload: Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]), mutation };
      }
      case 'random_bytes':
        return { topic: f.topic, payload: Buffer.from(Array.from({ length: int(512) }, () => int(256))), mutation };
      case 'type_swap':
      case 'remove_field': {
        const all = slots(f.value);
        const [parent, k] = pick(all);
        if (mutation === 'type_swap') parent[k] = randomScalar();
        else if (Array.isArray(parent)) parent.splice(Number(k), 1);
        else delete parent[k];
        return { topic: f.topic, payload: ser(f.value), mutation };
      }
      case 'unknown_field':
        return { topic: f.topic, payload: ser({ ...f.value, [randomString(10) || 'extra']: randomScalar() }), mutation };
      case 'huge_string': {
        const [parent, k] = pick(slots(f.value));
        parent[k] = 'x'.repeat(1_000 + int(20_000));
        return { topic: f.topic, payload: ser(f.value), mutation };
      }
      case 'deep_nesting': {
        const json = JSON.stringify(f.value);
        const nested = deepNest(100 + int(5_000));
        const at = json.indexOf(':') + 1;
        // splice a deep value in place of the first field's value, or send it as the whole payload
        const payload = rnd() < 0.5 ? nested : `${json.slice(0, at)}${nested},${json.slice(at)}`;
        return { topic: f.topic, payload: Buffer.from(payload), mutation };
      }
      case 'proto_keys': {
        const json = JSON.stringify(f.value);
        const key = pick(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty']);
        return { topic: f.topic, payload: Buffer.from(`{"${key}":{"polluted":true},${json.slice(1)}`), mutation };
      }
      case 'unknown_topic':
        return { topic: unknownTopic(), payload: ser(f.value), mutation };
      case 'topic_mismatch': {
        const other = rnd() < 0.5 ? buildTopic(f.key, 'other-site', String(f.value.agent)) : buildTopic(f.key, String(f.value.site), 'other-agent');
        return { topic: other, payload: ser(f.value), mutation };
      }
      case 'wrong_topic_key': {
        const key = pick(ALL_KEYS.filter((k) => k !== f.key));
        return { topic: buildTopic(key, String(f.value.site), String(f.value.agent)), payload: ser(f.value), mutation };
      }
      case 'site_topic':
        return { topic: buildSiteTopic('syncManifest', String(f.value.site)), payload: ser(f.value), mutation };
      case 'non_object':
        return { topic: f.topic, payload: Buffer.from(pick(['null', '1', '"x"', '[]', 'true', '', ' ', '{}', '{"v":1}'])), mutation };
      case 'oversized':
        // chosen by share above, never picked from the list
        return { topic: f.topic, payload: ser(f.value), mutation: 'valid' };
    }
  }

  return { next };
}
