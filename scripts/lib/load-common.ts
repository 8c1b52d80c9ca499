/**
 * Shared pieces of the load tool (`npm run load`): the traffic shape, a latency histogram, the
 * messages the orchestrator and its child processes exchange over IPC, the simulated agents' event
 * payloads and the console clients' frame scanning.
 */
import type { AccessEvent } from '@portail/protocol';

export type Shape = 'peak' | 'flat';

/**
 * Offered rate at time `tS` of a run of `durationS`, as a fraction of the peak. `peak` is a morning
 * arrival: a ramp from 10 % to the peak over the first 30 % of the run (buses arriving, 07:30–07:50),
 * the peak for 40 % (the bell), a ramp down to 10 % over the last 30 %. `flat` is the peak throughout.
 */
export function rateFraction(shape: Shape, tS: number, durationS: number): number {
  if (tS < 0 || tS >= durationS) return 0;
  if (shape === 'flat') return 1;
  const u = tS / durationS;
  if (u < 0.3) return 0.1 + 0.9 * (u / 0.3);
  if (u < 0.7) return 1;
  return 0.1 + 0.9 * ((1 - u) / 0.3);
}

/** Latency histogram with 0.1 ms buckets up to 10 s, then one overflow bucket. */
export class LatencyHistogram {
  static readonly BUCKET_MS = 0.1;
  private readonly buckets = new Uint32Array(100_000);
  private overflow = 0;
  count = 0;
  private maxMs = 0;
  private sumMs = 0;

  /** `n` samples of `ms` (events of one agent tick share their edge `ts`, so their latency) */
  record(ms: number, n = 1): void {
    const v = ms < 0 ? 0 : ms;
    const i = Math.floor(v / LatencyHistogram.BUCKET_MS);
    if (i < this.buckets.length) this.buckets[i] = this.buckets[i]! + n;
    else this.overflow += n;
    this.count += n;
    this.sumMs += v * n;
    if (v > this.maxMs) this.maxMs = v;
  }

  merge(other: LatencyHistogramJson): void {
    for (const [i, n] of other.b) this.buckets[i] = this.buckets[i]! + n;
    this.overflow += other.o;
    this.count += other.n;
    this.sumMs += other.s;
    if (other.m > this.maxMs) this.maxMs = other.m;
  }

  /** p in 0..100; null when empty */
  percentile(p: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return round((i + 1) * LatencyHistogram.BUCKET_MS);
    }
    return round(this.maxMs);
  }

  summary(): { count: number; p50Ms: number | null; p90Ms: number | null; p99Ms: number | null; maxMs: number | null; meanMs: number | null } {
    return {
      count: this.count,
      p50Ms: this.percentile(50),
      p90Ms: this.percentile(90),
      p99Ms: this.percentile(99),
      maxMs: this.count ? round(this.maxMs) : null,
      meanMs: this.count ? round(this.sumMs / this.count) : null,
    };
  }

  toJSON(): LatencyHistogramJson {
    const b: Array<[number, number]> = [];
    for (let i = 0; i < this.buckets.length; i++) if (this.buckets[i]) b.push([i, this.buckets[i]!]);
    return { b, o: this.overflow, n: this.count, s: this.sumMs, m: this.maxMs };
  }
}

export interface LatencyHistogramJson {
  b: Array<[number, number]>;
  o: number;
  n: number;
  s: number;
  m: number;
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** What a child process reports about its own cost. */
export interface ProcessCost {
  cpuUserMs: number;
  cpuSystemMs: number;
  wallMs: number;
  rssBytes: number;
  /** event loop utilisation 0..1 over the window */
  elu: number;
  /** event loop delay p99 over the window, ms */
  loopDelayP99Ms: number;
}

export const execArgv = ['--conditions=portail-src', '--import', 'tsx'];

// ---------------------------------------------------------------------------------------------------
// Simulated agents' events. Every event is built by filling pre-built JSON pieces with the few values
// that vary (id, ts, counters, track ids) instead of building an object and JSON.stringify-ing it:
// on this 2-core machine every µs the agents process spends is taken from the server it measures.
// The output is byte-for-byte what `JSON.stringify` of the former object builder gave (checked in
// load-common.test.ts against that builder, kept there as the reference).
// ---------------------------------------------------------------------------------------------------

export type LoadEventKey = 'access' | 'movement';
type Decision = AccessEvent['decision'];

/** Decision mix of a lycée gate (share of access events). */
const DECISIONS: ReadonlyArray<readonly [Decision, number]> = [
  ['confirmed', 0.7],
  ['accepted', 0.2],
  ['no_face', 0.04],
  ['mismatch', 0.03],
  ['low_quality', 0.02],
  ['unknown_credential', 0.005],
  ['revoked', 0.003],
  ['expired', 0.002],
];

function decisionOf(r: number): Decision {
  let acc = 0;
  for (const [d, p] of DECISIONS) {
    acc += p;
    if (r < acc) return d;
  }
  return 'confirmed';
}

/** Decisions that went through the face stage (the others: badge only, or refused before it). */
function isBiometric(d: Decision): boolean {
  return d !== 'accepted' && d !== 'revoked' && d !== 'unknown_credential' && d !== 'expired';
}

/** The constant part of a biometric access event after `biometric` (scores, timings, model). */
function biometricExtras(d: Decision): { scores: object; timingsMs: object; modelId: string } {
  return {
    scores: { similarity: d === 'mismatch' ? 0.12 : 0.61, threshold: 0.36, liveness: 0.97, quality: 0.88 },
    timingsMs: { credential: 0.4, align: 0.8, quality: 0.3, liveness: 9.1, embed: 7.6, total: 18.2, window: 1000, frames: 6 },
    modelId: 'faceplugin-fr-feature-512d',
  };
}

const WRONG_WAY_BOX = [120.5, 40.2, 88.1, 230.7] as const;
const CROSSING_BOX = [339.1, 15.9, 210.3, 383.9] as const;
const B32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** An anonymous 16-character track id (16 draws of `random`). */
function randomTrack(random: () => number): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += B32[Math.floor(random() * 32)];
  return s;
}

/**
 * UUIDv7 ids (RFC 9562 §5.7, with the §6.2 method 1 counter): 48-bit Unix ms, then a 60-bit counter
 * (started at a random value) in `rand_a` and the low 48 bits of `rand_b`, and 14 random bits fixed
 * per source. Unique within a source, strictly increasing like the protocol's `newEventId()` (uuid's
 * monotonic v7), for a fraction of its cost: the hex of the time is made once per millisecond and the
 * counter's once per id, with no random bytes drawn per id.
 */
export function createUuidV7Source(random: () => number = Math.random, now: () => number = Date.now): () => string {
  // counter < 2^53 (exact in a double); its bits above 48 go to rand_a
  let counter = Math.floor(random() * 2 ** 32);
  const fixed = `-${(0x8000 | Math.floor(random() * 0x4000)).toString(16)}-`; // variant 10 + 14 random bits
  let lastMs = -1;
  let prefix = '';
  return () => {
    const t = now();
    if (t > lastMs) {
      lastMs = t;
      const h = t.toString(16).padStart(12, '0');
      prefix = `${h.slice(0, 8)}-${h.slice(8, 12)}-7`;
    }
    // within one ms (or if the clock steps back) the counter alone keeps the ids increasing
    counter += 1;
    const high = Math.floor(counter / 2 ** 48);
    const low = counter - high * 2 ** 48;
    return prefix + (high & 0xfff).toString(16).padStart(3, '0') + fixed + low.toString(16).padStart(12, '0');
  };
}

export interface LoadEventSourceOptions {
  /** share of access events; the rest are movement events */
  accessShare: number;
  random?: () => number;
  newId?: () => string;
}

/** One simulated agent's event stream; `next(tsMs)` is an event generated at `tsMs`, as JSON. */
export interface LoadAgentEvents {
  next(tsMs: number): { key: LoadEventKey; json: string };
}

export interface LoadEventSource {
  forAgent(site: string, agent: string): LoadAgentEvents;
  /** events made by all agents of this source */
  readonly made: number;
}

const str = (s: string): string => JSON.stringify(s);

/**
 * Event generator shared by the agents of a process (one credential sequence, one id source). The
 * random draws happen in the same order as in the former object builder, so the same `random` and
 * `newId` give the same events.
 */
export function createLoadEventSource(opts: LoadEventSourceOptions): LoadEventSource {
  const random = opts.random ?? Math.random;
  const newId = opts.newId ?? createUuidV7Source(random);
  let seq = 0;
  // the events of one tick share their generation time: its ISO string is made once
  let isoMs = Number.NaN;
  let iso = '';
  const tails = new Map<Decision, string>();
  for (const [d] of DECISIONS) {
    const biometric = isBiometric(d);
    // `{"decision":…}` without its opening brace: the access event's last fields, always the same
    tails.set(d, ',' + JSON.stringify({ decision: d, biometric, ...(biometric ? biometricExtras(d) : {}) }).slice(1));
  }
  const box = (b: readonly number[]): string => JSON.stringify(b);
  const tailgating = `,"rule":"gate-tailgating","kind":"tailgating","trackId":"`;
  const wrongWay = `,"rule":"entry","kind":"wrong_way","trackId":"`;
  const wrongWayEnd = `","direction":"out","box":${box(WRONG_WAY_BOX)}}`;
  const crossing = `,"rule":"entry","kind":"line_crossing","trackId":"`;
  const crossingIn = `","direction":"in","box":${box(CROSSING_BOX)}}`;
  const crossingOut = `","direction":"out","box":${box(CROSSING_BOX)}}`;
  const source: LoadEventSource = {
    get made() {
      return seq;
    },
    forAgent(site, agent) {
      const accessHead = `","v":1,"site":${str(site)},"agent":${str(agent)},"camera":"entrance","ts":"`;
      const movementHead = `","v":1,"site":${str(site)},"agent":${str(agent)},"camera":"hall","ts":"`;
      let passage = 0;
      let countIn = 0;
      // the simulated gate only counts entries (as the former builder did): "out" stays 0
      const countOut = 0;
      return {
        next(tsMs) {
          seq += 1;
          if (tsMs !== isoMs) {
            isoMs = tsMs;
            iso = new Date(tsMs).toISOString();
          }
          if (random() < opts.accessShare) {
            passage += 1;
            const d = decisionOf(random());
            const credentialId = `c${(seq % 99_999_999).toString(32).padStart(8, 'a').slice(0, 8)}`;
            const json = `{"id":"${newId()}${accessHead}${iso}","passageId":"p-${passage.toString(36)}","credentialId":"${credentialId}"${tails.get(d)!}`;
            return { key: 'access', json };
          }
          const r = random();
          const head = `{"id":"${newId()}${movementHead}${iso}"`;
          if (r < 0.15) {
            countIn += 1;
            return { key: 'movement', json: `${head},"rule":"entry","kind":"line_counts","counts":{"in":${countIn},"out":${countOut}}}` };
          }
          if (r < 0.18) return { key: 'movement', json: `${head}${tailgating}${randomTrack(random)}","excess":1}` };
          if (r < 0.2) return { key: 'movement', json: `${head}${wrongWay}${randomTrack(random)}${wrongWayEnd}` };
          const track = randomTrack(random);
          return { key: 'movement', json: `${head}${crossing}${track}${random() < 0.9 ? crossingIn : crossingOut}` };
        },
      };
    },
  };
  return source;
}

// ---------------------------------------------------------------------------------------------------
// Console clients' frames. An event message as the hub serialises it:
// `{"type":"event","kind":…,"event":{"id":"<uuid>",…,"ts":"…"`. The clients find the events in the
// frame's bytes with Buffer.indexOf (no UTF-8 decoding of 20 copies of every frame, no JSON.parse).
// ---------------------------------------------------------------------------------------------------

const EVENT_MARK = Buffer.from('{"type":"event","kind":"');
const ID_MARK = Buffer.from('"event":{"id":"');
const TS_MARK = Buffer.from('"ts":"');
const RECEIVED_MARK = Buffer.from('"receivedAt":"');
/** length of a UUID in its canonical text form */
export const ID_CHARS = 36;

// the hour of the last timestamp parsed, as a number (YYYYMMDDHH), and its epoch ms
let lastHourKey = -1;
let lastHourMs = 0;

/**
 * Epoch ms of the JSON string value starting at `at` in `b` (just after its opening quote). The
 * canonical `YYYY-MM-DDTHH:MM:SS.mmmZ` (what the agents send and the server stores) is read digit by
 * digit, with one `Date.UTC` per hour; anything else goes through `Date.parse`.
 */
export function isoMsAt(b: Uint8Array, at: number): number {
  if (b[at + 23] === 90 /* Z */ && b[at + 19] === 46 /* . */ && b[at + 24] === 34 /* " */ && b[at + 10] === 84 /* T */) {
    const y = (b[at]! - 48) * 1000 + (b[at + 1]! - 48) * 100 + (b[at + 2]! - 48) * 10 + (b[at + 3]! - 48);
    const mo = (b[at + 5]! - 48) * 10 + (b[at + 6]! - 48);
    const d = (b[at + 8]! - 48) * 10 + (b[at + 9]! - 48);
    const h = (b[at + 11]! - 48) * 10 + (b[at + 12]! - 48);
    const key = ((y * 100 + mo) * 100 + d) * 100 + h;
    if (key !== lastHourKey) {
      lastHourKey = key;
      lastHourMs = Date.UTC(y, mo - 1, d, h);
    }
    const mi = (b[at + 14]! - 48) * 10 + (b[at + 15]! - 48);
    const s = (b[at + 17]! - 48) * 10 + (b[at + 18]! - 48);
    const ms = (b[at + 20]! - 48) * 100 + (b[at + 21]! - 48) * 10 + (b[at + 22]! - 48);
    return lastHourMs + mi * 60_000 + s * 1000 + ms;
  }
  let end = at;
  while (end < b.length && b[end] !== 34) end++;
  return Date.parse(Buffer.from(b.buffer, b.byteOffset + at, end - at).toString('latin1'));
}

/** The events found in one frame. */
export interface FrameEvents {
  /** number of events */
  n: number;
  /** offset of each event's id in the frame */
  idAt: number[];
  /** edge `ts` (epoch ms) of runs of consecutive events sharing it, and the length of each run */
  tsMs: number[];
  tsRun: number[];
  /** server receipt time (`receivedAt`, epoch ms) of each event: splits the latency at the server */
  receivedMs: number[];
}

export function scanEventFrame(b: Buffer): FrameEvents {
  const out: FrameEvents = { n: 0, idAt: [], tsMs: [], tsRun: [], receivedMs: [] };
  let last = Number.NaN;
  let at = b.indexOf(EVENT_MARK);
  while (at >= 0) {
    const id = b.indexOf(ID_MARK, at + EVENT_MARK.length);
    if (id < 0) break;
    const idAt = id + ID_MARK.length;
    const ts = b.indexOf(TS_MARK, idAt + ID_CHARS);
    if (ts < 0) break;
    out.n += 1;
    out.idAt.push(idAt);
    const t = isoMsAt(b, ts + TS_MARK.length);
    if (t === last) out.tsRun[out.tsRun.length - 1]! += 1;
    else {
      out.tsMs.push(t);
      out.tsRun.push(1);
      last = t;
    }
    // the stored event's fields come in a fixed order: receivedAt right after ts
    const rx = b.indexOf(RECEIVED_MARK, ts + TS_MARK.length);
    out.receivedMs.push(rx < 0 ? Number.NaN : isoMsAt(b, rx + RECEIVED_MARK.length));
    at = b.indexOf(EVENT_MARK, rx < 0 ? ts : rx);
  }
  return out;
}

/**
 * `scanEventFrame` remembered for the last `capacity` distinct frames. The K clients receive the
 * same frames (the hub encodes a frame once for all clients with the same rights), each over its
 * own socket into its own buffer: a frame byte-for-byte equal to one already scanned has the same
 * events, so it is compared (memcmp) instead of scanned again. A frame that differs in any byte is
 * scanned on its own.
 */
export class FrameScanCache {
  private readonly frames: Array<{ bytes: Buffer; events: FrameEvents }> = [];
  static readonly MIN_BYTES = 4096;
  private next = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly capacity = 16) {}

  scan(b: Buffer): FrameEvents {
    // a frame of one or a few messages (clients without batch frames) costs less to scan than to look up
    if (b.length < FrameScanCache.MIN_BYTES) return scanEventFrame(b);
    for (const f of this.frames) {
      if (f.bytes.length === b.length && f.bytes.equals(b)) {
        this.hits += 1;
        return f.events;
      }
    }
    this.misses += 1;
    const events = scanEventFrame(b);
    // a copy: the cache never depends on what the socket layer does with its buffers afterwards
    const entry = { bytes: Buffer.from(b), events };
    if (this.frames.length < this.capacity) this.frames.push(entry);
    else this.frames[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    return events;
  }
}

/**
 * Set of fixed-length byte strings (the event ids client 0 keeps to count duplicates), stored in
 * typed arrays: open addressing over an arena of the keys' bytes. A `Set<string>` would hold one
 * string per event (600 000 in a 60 s run), which every full GC has to mark again, and this
 * process runs one every few hundred ms (the frames' buffers count as external memory).
 */
export class ByteKeySet {
  private slots: Int32Array;
  private arena: Uint8Array;
  size = 0;

  constructor(
    private readonly keyBytes: number,
    initialSlots = 1 << 16,
  ) {
    this.slots = new Int32Array(initialSlots);
    this.arena = new Uint8Array(keyBytes * (initialSlots >> 1));
  }

  /** Adds the key `b[at .. at + keyBytes)`; false when it was already there. */
  add(b: Uint8Array, at: number): boolean {
    if ((this.size + 1) * 2 > this.slots.length) this.grow();
    const n = this.keyBytes;
    const mask = this.slots.length - 1;
    for (let i = this.hash(b, at) & mask; ; i = (i + 1) & mask) {
      const slot = this.slots[i]!;
      // a slot holds 1 + the key's index in the arena; 0 is empty
      if (slot === 0) {
        const off = this.size * n;
        if (off + n > this.arena.length) {
          const bigger = new Uint8Array(this.arena.length * 2);
          bigger.set(this.arena);
          this.arena = bigger;
        }
        this.arena.set(b.subarray(at, at + n), off);
        this.size += 1;
        this.slots[i] = this.size;
        return true;
      }
      const off = (slot - 1) * n;
      let k = 0;
      while (k < n && this.arena[off + k] === b[at + k]) k++;
      if (k === n) return false;
    }
  }

  private hash(b: Uint8Array, at: number): number {
    // FNV-1a, 32 bits
    let h = 0x811c9dc5;
    for (let k = 0; k < this.keyBytes; k++) h = Math.imul(h ^ b[at + k]!, 0x01000193);
    return h >>> 0;
  }

  private grow(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let key = 0; key < this.size; key++) {
      let i = this.hash(this.arena, key * this.keyBytes) & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = key + 1;
    }
    this.slots = slots;
  }
}
