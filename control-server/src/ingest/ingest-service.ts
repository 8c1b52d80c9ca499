import {
  MAX_PAYLOAD_BYTES,
  decodePayload,
  parseSiteTopic,
  parseTopic,
  type DecodeErrorCode,
  type EventTopicKey,
  type ParsedTopic,
  type PayloadOf,
  type SyncState,
  type TopicKey,
} from '@portail/protocol';
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import { ControlServerError } from '../infra/errors.js';
import type { AgentRepository } from '../repositories/agent-repository.js';
import { writtenEvent, type EventRepository, type StoredEvent } from '../repositories/event-repository.js';
import type { LiveBus, LiveMessage } from '../services/live-bus.js';
import {
  WRITE_STATUS,
  WRITTEN_EVENT_KINDS,
  type EventWriter,
  type RawEventBatch,
  type RawEventResult,
} from './event-writer.js';
import { cloneIngestStats, createIngestStats, type IngestStats, type RejectReason } from './ingest-stats.js';

export type IngestOutcome =
  | { kind: 'rejected'; reason: RejectReason }
  | { kind: 'stored'; id: string }
  | { kind: 'duplicate'; id: string }
  | { kind: 'status' }
  | { kind: 'health' }
  | { kind: 'ignored' }
  | { kind: 'store_error' }
  /** valid, waiting for the batch commit (batch `handle` only) */
  | { kind: 'pending' }
  /** pushed to the live view only, never stored (recent anonymous tracks) */
  | { kind: 'live' };

export interface IngestDeps {
  events: EventRepository;
  agents: AgentRepository;
  bus: LiveBus;
  logger: Logger;
  now?: () => Date;
  /** reject logs per reason per window, so a flood of bad messages cannot flood the log */
  rejectLogLimit?: number;
  rejectLogWindowMs?: number;
  /** an agent acknowledged (or refused) a site sync version; called after it is stored */
  onSyncState?: (state: SyncState) => void;
  /**
   * The database behind the repositories: with it, a batch is one SQLite transaction (one commit
   * for hundreds of messages instead of two per event). Without it every statement commits alone.
   */
  db?: Database;
  /**
   * Where the events of `beginAsync` batches are parsed, validated and written: a worker thread with
   * its own connection (event-writer.ts), so that work leaves the event loop; what it does not accept
   * comes back to be decided here with zod. Without it, or once it is gone, they are handled on `db`
   * like the other batches.
   */
  eventWriter?: EventWriter;
  /** sites this instance owns (scale-out); messages of other sites are counted and dropped. All when absent. */
  sites?: readonly string[];
  /** an event whose edge ts is further than this in the future is flagged (default 5 min) */
  maxClockAheadMs?: number;
  /** an event whose edge ts is older than this is flagged (default 8 days: past the agents' outbox age) */
  maxClockBehindMs?: number;
}

/**
 * Messages handled together, committed together. Outcomes returned by `handle` are provisional until
 * `commit`: counters, live pushes and sync callbacks apply only once the transaction is durable, so
 * the console never shows an event that was rolled back.
 */
export interface IngestBatch {
  handle(topic: string, payload: Uint8Array): IngestOutcome;
  /** number of messages handled in this batch */
  readonly size: number;
  /**
   * Commit. `ok: false` means nothing of the batch was stored (counted as store errors): the caller
   * must not acknowledge any of its messages, so the broker delivers them again.
   */
  commit(): { ok: true } | { ok: false; error: string };
}

/** A batch whose events are written by the event writer (when there is one): its commit is asynchronous. */
export interface AsyncIngestBatch {
  handle(topic: string, payload: Uint8Array): IngestOutcome;
  readonly size: number;
  /**
   * As `IngestBatch.commit`; the next batch may be opened (and handled) before this resolves. A
   * failure with `unstored` is partial: the rest of the batch is stored, counted and pushed, and only
   * these messages are to be handled again (a retry of the whole batch would count what the event
   * writer stored as duplicates and push the status and health messages twice).
   */
  commit(): Promise<AsyncCommitted>;
}

export type AsyncCommitted =
  { ok: true } | { ok: false; error: string; unstored?: ReadonlyArray<readonly [topic: string, payload: Uint8Array]> };

export interface Ingest {
  /** Handle one MQTT message synchronously: when it returns, a valid message is in SQLite. */
  handle(topic: string, payload: Uint8Array): IngestOutcome;
  /** Open a batch (one at a time): the MQTT subscriber opens one per socket read and commits it before acknowledging. */
  begin(): IngestBatch;
  /**
   * Open a batch whose events go to the event writer (the embedded broker's tick batcher). Opening
   * the next one is allowed as soon as this one's `commit()` was called; commits resolve in order.
   */
  beginAsync(): AsyncIngestBatch;
  stats(): IngestStats;
}

const DECODE_REASON: Record<DecodeErrorCode, RejectReason> = {
  TOO_LARGE: 'too_large',
  INVALID_JSON: 'invalid_json',
  INVALID_SCHEMA: 'invalid_schema',
  TOPIC_MISMATCH: 'topic_mismatch',
};

const MAX_LOGGED_MESSAGES = 3;
const MAX_CACHED_ROUTES = 4_096;
const DEFAULT_MAX_CLOCK_AHEAD_MS = 5 * 60_000;
const DEFAULT_MAX_CLOCK_BEHIND_MS = 8 * 86_400_000;

/** Effects of a batch that wait for its commit. */
interface Staged {
  size: number;
  /** valid messages handled: the store errors to count if the commit fails */
  valid: number;
  failed: unknown;
  /** the database work of the valid messages, run in one transaction at commit */
  writes: Array<() => IngestOutcome>;
  /** outcome of each write, in order (for the single-message `handle`) */
  results: IngestOutcome[];
  stored: number;
  duplicates: number;
  statusUpdates: number;
  healthUpdates: number;
  stateUpdates: number;
  skewFuture: number;
  skewPast: number;
  live: LiveMessage[];
  syncStates: SyncState[];
  logs: Array<() => void>;
  /** last receipt per agent: one UPDATE per agent per batch instead of one per event */
  touches: Map<string, { site: string; agent: string; at: string }>;
  /** the events are checked and written by the event writer (`beginAsync`) */
  offload: boolean;
  /** offloaded event messages, as received: for the event writer, or for this thread if it is gone */
  raw: RawQueue;
}

/** A topic the server takes messages on (not its own config publications). */
type InboundTopic = ParsedTopic & { key: Exclude<TopicKey, 'config'> };

/** Event messages of an offloaded batch, not parsed yet (`RawEventBatch` once packed). */
interface RawQueue {
  topics: string[];
  parsed: InboundTopic[];
  payloads: Uint8Array[];
  kinds: number[];
  receivedMs: number[];
  bytes: number;
  /** index of each (site, agent) topic of the batch in `sites` / `agents` */
  agentIndex: Map<InboundTopic, number>;
  agentOf: number[];
  sites: string[];
  agents: string[];
}

/**
 * A batch done with (stored, or failed and left to the caller's retry) lets go of its messages and
 * their values at once, rather than when the batch itself is collected. A batch is often alive at a
 * scavenge (it is open or in flight), so V8 moves it to the old generation, where it is reclaimed
 * only by a full collection; until then every scavenge keeps alive, and in turn promotes, whatever
 * it still points to. At 10 000 events/s that promoted ~9 MB/s of per-event objects and made a
 * mark-compact on the event loop every ~12 s (docs/performance.md, session 5). `results` stays: the
 * single-message `handle` reads it after the commit.
 */
function releaseStaged(st: Staged): void {
  st.writes.length = 0;
  st.live.length = 0;
  st.logs.length = 0;
  st.syncStates.length = 0;
  st.touches.clear();
  const q = st.raw;
  q.topics.length = 0;
  q.parsed.length = 0;
  q.payloads.length = 0;
  q.kinds.length = 0;
  q.receivedMs.length = 0;
  q.agentIndex.clear();
  q.agentOf.length = 0;
  q.sites.length = 0;
  q.agents.length = 0;
}

function newRawQueue(): RawQueue {
  return {
    topics: [],
    parsed: [],
    payloads: [],
    kinds: [],
    receivedMs: [],
    bytes: 0,
    agentIndex: new Map(),
    agentOf: [],
    sites: [],
    agents: [],
  };
}

/** The event topics the writer takes, by topic key: their code in `RawEventBatch.kinds`. */
const WRITTEN_KIND_CODE = new Map<TopicKey, number>(WRITTEN_EVENT_KINDS.map((k, i) => [k, i]));

function newStaged(offload: boolean): Staged {
  return {
    offload,
    raw: newRawQueue(),
    size: 0,
    valid: 0,
    failed: null,
    writes: [],
    results: [],
    stored: 0,
    duplicates: 0,
    statusUpdates: 0,
    healthUpdates: 0,
    stateUpdates: 0,
    skewFuture: 0,
    skewPast: 0,
    live: [],
    syncStates: [],
    logs: [],
    touches: new Map(),
  };
}
const MAX_LOGGED_TOPIC_CHARS = 256;

export function createIngest(deps: IngestDeps): Ingest {
  const { events, agents, bus } = deps;
  const log = deps.logger;
  const now = deps.now ?? (() => new Date());
  const limit = deps.rejectLogLimit ?? 20;
  const windowMs = deps.rejectLogWindowMs ?? 60_000;
  const stats = createIngestStats();
  const throttle = new Map<RejectReason, { start: number; logged: number; suppressed: number }>();

  function reject(reason: RejectReason, topic: string, bytes: number, messages: string[]): IngestOutcome {
    stats.rejected[reason] += 1;
    const t = now().getTime();
    let w = throttle.get(reason);
    if (!w || t - w.start >= windowMs) {
      if (w && w.suppressed > 0)
        log.warn({ reason, suppressed: w.suppressed }, 'ingest rejects not logged in the last window');
      w = { start: t, logged: 0, suppressed: 0 };
      throttle.set(reason, w);
    }
    if (w.logged < limit) {
      w.logged += 1;
      // the payload itself is never logged: it may be large, hostile, or carry what should not be in a log
      log.warn(
        {
          topic: topic.slice(0, MAX_LOGGED_TOPIC_CHARS),
          reason,
          bytes,
          messages: messages.slice(0, MAX_LOGGED_MESSAGES),
        },
        'ingest rejected a message',
      );
    } else {
      w.suppressed += 1;
    }
    return { kind: 'rejected', reason };
  }

  function mismatch(parsed: ParsedTopic, payload: { site: string; agent: string }): string[] | null {
    const out: string[] = [];
    if (payload.site !== parsed.site) out.push(`site: topic says ${parsed.site}, payload says ${payload.site}`);
    if (payload.agent !== parsed.agent) out.push(`agent: topic says ${parsed.agent}, payload says ${payload.agent}`);
    return out.length ? out : null;
  }

  const owned = deps.sites ? new Set(deps.sites) : null;
  const aheadMs = deps.maxClockAheadMs ?? DEFAULT_MAX_CLOCK_AHEAD_MS;
  const behindMs = deps.maxClockBehindMs ?? DEFAULT_MAX_CLOCK_BEHIND_MS;
  const db = deps.db;

  function storeEvent<K extends EventTopicKey>(
    st: Staged,
    key: K,
    value: PayloadOf<K>,
    receivedAt: string,
    nowMs: number,
  ): IngestOutcome {
    const { inserted, event } = events.insert(key, value, receivedAt);
    touchLater(st, value.site, value.agent, receivedAt);
    if (!inserted) {
      const lostAt = maybeStored.get(value.id);
      if (lostAt !== undefined) maybeStored.delete(value.id);
      if (lostAt === event.receivedAt && event.kind === key) {
        // stored by the event writer that died before answering: counted and pushed now, once
        stored(st, key, event, nowMs);
        return { kind: 'stored', id: value.id };
      }
      st.duplicates += 1;
      return { kind: 'duplicate', id: value.id };
    }
    if (maybeStored.size > 0) maybeStored.delete(value.id);
    stored(st, key, event, nowMs);
    return { kind: 'stored', id: value.id };
  }

  function touchLater(st: Staged, site: string, agent: string, at: string): void {
    const k = `${site}/${agent}`;
    const t = st.touches.get(k);
    if (t) t.at = at;
    else st.touches.set(k, { site, agent, at });
  }

  function stored(st: Staged, key: EventTopicKey, event: StoredEvent, nowMs: number): void {
    st.stored += 1;
    const skew = Date.parse(event.ts) - nowMs;
    if (skew > aheadMs) st.skewFuture += 1;
    else if (-skew > behindMs) st.skewPast += 1;
    st.live.push({ type: 'event', kind: key, event });
  }

  /** An event message of an offloaded batch, kept as received for the event writer. */
  function queueRaw(
    st: Staged,
    code: number,
    parsed: InboundTopic,
    topic: string,
    payload: Uint8Array,
    nowMs: number,
  ): void {
    const q = st.raw;
    let a = q.agentIndex.get(parsed);
    if (a === undefined) {
      a = q.sites.length;
      q.agentIndex.set(parsed, a);
      q.sites.push(parsed.site);
      q.agents.push(parsed.agent);
    }
    q.topics.push(topic);
    q.parsed.push(parsed);
    q.payloads.push(payload);
    q.kinds.push(code);
    q.receivedMs.push(nowMs);
    q.agentOf.push(a);
    q.bytes += payload.byteLength;
  }

  /**
   * The events of batches the event writer died with (`maybeStored`), by id: the receipt time it
   * would have stored (bounded). When such an event comes again (the retry of its batch) and is
   * found stored with that very receipt time, it is the writer's unanswered commit, not a replay
   * (a replay's row has the first copy's receipt time): counted as stored and pushed live now, as
   * nothing did yet.
   */
  const maybeStored = new Map<string, string>();
  const MAX_MAYBE_STORED = 100_000;
  function rememberMaybeStored(q: RawQueue): void {
    for (let i = 0; i < q.payloads.length; i++) {
      const payload = q.payloads[i]!;
      let id: unknown;
      try {
        id = (
          JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8')) as {
            id?: unknown;
          }
        ).id;
      } catch {
        // not JSON: refused when handled again, nothing to remember
        continue;
      }
      // the first copy in the batch is the one the writer would have stored
      if (typeof id !== 'string' || maybeStored.has(id)) continue;
      maybeStored.set(id, new Date(q.receivedMs[i]!).toISOString());
      if (maybeStored.size > MAX_MAYBE_STORED) maybeStored.delete(maybeStored.keys().next().value!);
    }
  }

  /** The queue in the shape the worker takes: typed arrays and one buffer, moved rather than copied. */
  function pack(q: RawQueue): RawEventBatch {
    const n = q.payloads.length;
    const bytes = new Uint8Array(q.bytes);
    const ends = new Uint32Array(n);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const p = q.payloads[i]!;
      bytes.set(p, at);
      at += p.byteLength;
      ends[i] = at;
    }
    return {
      bytes,
      ends,
      kinds: Uint8Array.from(q.kinds),
      topics: Uint32Array.from(q.agentOf),
      sites: q.sites,
      agents: q.agents,
      receivedMs: Float64Array.from(q.receivedMs),
      aheadMs,
      behindMs,
    };
  }

  // Topics are few (a handful per agent) and each message parsed two of them with split + regexes:
  // the verdict is kept per topic string. Bounded, so a client inventing topics cannot grow it.
  const routes = new Map<string, ParsedTopic | 'site' | null>();
  function route(topic: string): ParsedTopic | 'site' | null {
    let r = routes.get(topic);
    if (r === undefined) {
      r = parseSiteTopic(topic) ? 'site' : parseTopic(topic);
      if (routes.size >= MAX_CACHED_ROUTES) routes.clear();
      routes.set(topic, r);
    }
    return r;
  }
  // one ISO string per clock millisecond: at 10 000 messages/s most share it with their neighbours
  let isoMs = Number.NaN;
  let isoAt = '';

  /** Count, route and validate one message; a valid one queues its database work in `st`. */
  function handleIn(st: Staged, topic: string, payload: Uint8Array): IngestOutcome {
    stats.received += 1;
    st.size += 1;
    const nowDate = now();
    const nowMs = nowDate.getTime();
    if (nowMs !== isoMs) {
      isoMs = nowMs;
      isoAt = nowDate.toISOString();
    }
    const receivedAt = isoAt;
    stats.lastMessageAt = receivedAt;
    const routed = route(topic);
    // the server's own site sync publications come back through the wildcard subscription
    if (routed === 'site') {
      stats.ignored += 1;
      return { kind: 'ignored' };
    }
    if (!routed) return reject('unknown_topic', topic, payload.byteLength, ['topic is not part of the protocol']);
    // the server's own publications come back through the wildcard subscription
    if (routed.key === 'config') {
      stats.ignored += 1;
      return { kind: 'ignored' };
    }
    const parsed = routed as InboundTopic;
    // another instance's site (a subscription broader than the sites owned): not ours to store
    if (owned && !owned.has(parsed.site)) {
      stats.foreignSite += 1;
      return { kind: 'ignored' };
    }
    if (st.offload) {
      const code = WRITTEN_KIND_CODE.get(parsed.key);
      // an event for the writer thread, which parses and checks it; too large: refused here at once
      if (code !== undefined && payload.byteLength <= MAX_PAYLOAD_BYTES) {
        st.valid += 1;
        queueRaw(st, code, parsed, topic, payload, nowMs);
        return { kind: 'pending' };
      }
    }
    return validateIn(st, parsed, topic, payload, receivedAt, nowMs);
  }

  /** Decode and check one routed message; a valid one queues its database work in `st`. */
  function validateIn(
    st: Staged,
    parsed: InboundTopic,
    topic: string,
    payload: Uint8Array,
    receivedAt: string,
    nowMs: number,
  ): IngestOutcome {
    const decoded = decodePayload(parsed.key, payload);
    if (!decoded.ok)
      return reject(DECODE_REASON[decoded.error.code], topic, payload.byteLength, decoded.error.messages);
    const value = decoded.value as PayloadOf<Exclude<typeof parsed.key, 'config'>>;
    const wrong = mismatch(parsed, value);
    if (wrong) return reject('topic_mismatch', topic, payload.byteLength, wrong);
    st.valid += 1;
    const key = parsed.key;
    st.writes.push(() => write(st, key, value, receivedAt, nowMs));
    return { kind: 'pending' };
  }

  /** The database work of one valid message; runs inside the batch transaction. */
  function write(
    st: Staged,
    key: Exclude<TopicKey, 'config'>,
    value: unknown,
    receivedAt: string,
    nowMs: number,
  ): IngestOutcome {
    switch (key) {
      case 'status': {
        const v = value as PayloadOf<'status'>;
        const before = agents.get(v.site, v.agent);
        const agent = agents.applyStatus(v, receivedAt);
        st.statusUpdates += 1;
        if (before?.state !== agent.state) {
          st.logs.push(() =>
            log.info({ site: v.site, agent: v.agent, state: agent.state, reason: v.reason }, 'agent state changed'),
          );
        }
        st.live.push({ type: 'agent', agent });
        return { kind: 'status' };
      }
      case 'health': {
        const v = value as PayloadOf<'health'>;
        const { agent, created } = agents.applyHealth(v, receivedAt);
        st.healthUpdates += 1;
        if (created) st.live.push({ type: 'agent', agent });
        st.live.push({ type: 'health', site: v.site, agent: v.agent, health: v });
        return { kind: 'health' };
      }
      case 'access':
        return storeEvent(st, 'access', value as PayloadOf<'access'>, receivedAt, nowMs);
      case 'movement':
        return storeEvent(st, 'movement', value as PayloadOf<'movement'>, receivedAt, nowMs);
      case 'camera':
        return storeEvent(st, 'camera', value as PayloadOf<'camera'>, receivedAt, nowMs);
      case 'configState': {
        const v = value as PayloadOf<'configState'>;
        const agent = agents.applyConfigState(v, receivedAt);
        st.stateUpdates += 1;
        if (v.result === 'rejected')
          st.logs.push(() =>
            log.warn(
              { site: v.site, agent: v.agent, version: v.receivedVersion, errors: v.errors },
              'agent rejected its configuration',
            ),
          );
        st.live.push({ type: 'agent', agent });
        return { kind: 'status' };
      }
      case 'syncState': {
        const v = value as PayloadOf<'syncState'>;
        const agent = agents.applySyncState(v, receivedAt);
        st.stateUpdates += 1;
        if (v.result === 'rejected')
          st.logs.push(() =>
            log.warn(
              { site: v.site, agent: v.agent, version: v.receivedVersion, held: v.appliedVersion, errors: v.errors },
              'agent rejected a site sync version',
            ),
          );
        st.live.push({ type: 'agent', agent });
        st.syncStates.push(v);
        return { kind: 'status' };
      }
      case 'tracks':
        // recent anonymous trajectories for the supervisors' camera tiles: pushed, never stored
        st.live.push({ type: 'tracks', tracks: value as PayloadOf<'tracks'> });
        return { kind: 'live' };
    }
  }

  let open: Staged | null = null;
  // one transaction for the whole batch, opened and committed synchronously: no other database user
  // (an HTTP handler) can interleave with it, and a failure takes back the batch and nothing else
  const runWrites = (st: Staged): void => {
    for (const w of st.writes) st.results.push(w());
    // an offloaded batch's touches go with its events
    if (!st.offload) for (const t of st.touches.values()) agents.touch(t.site, t.agent, t.at);
  };
  const writeTx = db ? db.transaction(runWrites) : runWrites;
  type Committed = { ok: true } | { ok: false; error: string };

  function failed(st: Staged, err: unknown): Committed {
    // a database failure is ours, not the sender's: nothing of the batch is stored or acknowledged
    log.error({ err, messages: st.valid }, 'ingest could not store a batch of valid messages');
    stats.storeErrors += st.valid;
    st.results = st.writes.map(() => ({ kind: 'store_error' }));
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }

  /** The batch's writes on this connection (status, health…, and inline events): null when stored. */
  function writeHere(st: Staged): Committed | null {
    if (st.writes.length === 0) return null;
    try {
      writeTx(st);
      return null;
    } catch (err) {
      return failed(st, err);
    }
  }

  function commit(st: Staged): Committed {
    const done = writeHere(st) ?? published(st);
    releaseStaged(st);
    return done;
  }

  /**
   * The commit of an offloaded batch: its other writes (status, health…) here, its event messages
   * checked and stored by the event writer. If the events fail after the other writes succeeded, the
   * batch is reported failed and handled again: status and health are upserts of the same values,
   * events are idempotent. The messages the writer left alone (or all of them, without a writer) are
   * decided here as any other message, and their events written on this connection.
   */
  async function commitOffloaded(st: Staged): Promise<AsyncCommitted> {
    try {
      return await commitOffloadedIn(st);
    } finally {
      releaseStaged(st);
    }
  }

  async function commitOffloadedIn(st: Staged): Promise<AsyncCommitted> {
    const q = st.raw;
    if (q.payloads.length === 0) return commit(st);
    const refused = writeHere(st);
    if (refused) return refused;
    const writer = deps.eventWriter;
    let result: RawEventResult | null = null;
    if (writer?.alive) {
      result = await writer.ingest(pack(q));
      if (!result.ok) {
        if (result.maybeStored) rememberMaybeStored(q);
        return failed(st, new Error(result.error));
      }
      st.skewFuture += result.skewFuture;
      st.skewPast += result.skewPast;
    }
    const here = newStaged(false);
    /** the messages `here` writes, by index in `q`: all that a failure of its commit loses */
    const hereIndexes: number[] = [];
    let j = 0;
    for (let i = 0; i < q.payloads.length; i++) {
      const status = result ? result.status[i] : WRITE_STATUS.notChecked;
      if (status === WRITE_STATUS.stored) {
        const kind = WRITTEN_EVENT_KINDS[q.kinds[i]!]!;
        const json = result!.json.slice(j === 0 ? 0 : result!.ends[j - 1], result!.ends[j]);
        j += 1;
        st.stored += 1;
        st.live.push({ type: 'event', kind, event: writtenEvent(kind, q.parsed[i]!.site, json) });
      } else if (status === WRITE_STATUS.duplicate) {
        st.duplicates += 1;
      } else {
        st.valid -= 1;
        const writes = here.writes.length;
        try {
          validateIn(
            here,
            q.parsed[i]!,
            q.topics[i]!,
            q.payloads[i]!,
            new Date(q.receivedMs[i]!).toISOString(),
            q.receivedMs[i]!,
          );
        } catch (err) {
          log.error({ err, topic: q.topics[i]!.slice(0, MAX_LOGGED_TOPIC_CHARS) }, 'ingest handler threw');
        }
        if (here.writes.length > writes) hereIndexes.push(i);
      }
    }
    // what the writer stored is pushed now, whatever becomes of the rest
    published(st);
    if (here.writes.length === 0) return { ok: true };
    const done = commit(here);
    if (done.ok) return done;
    // only the messages decided here are lost with this transaction
    return { ...done, unstored: hereIndexes.map((i) => [q.topics[i]!, q.payloads[i]!] as const) };
  }

  /** Counters, logs and live pushes of a stored batch. */
  function published(st: Staged): Committed {
    stats.stored += st.stored;
    stats.duplicates += st.duplicates;
    stats.statusUpdates += st.statusUpdates;
    stats.healthUpdates += st.healthUpdates;
    stats.stateUpdates += st.stateUpdates;
    stats.clockSkew.future += st.skewFuture;
    stats.clockSkew.past += st.skewPast;
    if (st.skewFuture + st.skewPast > 0) logSkew(st.skewFuture, st.skewPast);
    if (st.duplicates > 0) log.debug({ duplicates: st.duplicates }, 'duplicate events ignored');
    for (const l of st.logs) l();
    // pushed only now: the console never shows what a rollback took back
    for (const m of st.live) bus.publish(m);
    for (const s of st.syncStates) deps.onSyncState?.(s);
    return { ok: true };
  }

  let skewLogAt = -Infinity;
  function logSkew(future: number, past: number): void {
    const t = now().getTime();
    if (t - skewLogAt < windowMs) return;
    skewLogAt = t;
    log.warn(
      { future, past, totals: stats.clockSkew, maxAheadMs: aheadMs, maxBehindMs: behindMs },
      "events with an edge clock far from server time (retention deletes by edge time): check the agents' clocks",
    );
  }

  function openStaged(offload: boolean): Staged {
    if (open) throw new ControlServerError('SERVER_ERR_INGEST_BATCH_OPEN', 'an ingest batch is already open');
    open = newStaged(offload);
    return open;
  }

  /** The batch stops accepting messages; the next one may open. */
  function close(st: Staged): void {
    if (open === st) open = null;
  }

  /** The caller's view of a staged batch; `commit` closes it first, so the next one may open. */
  function batchOf<C>(st: Staged, commitStaged: (st: Staged) => C) {
    return {
      handle: (topic: string, payload: Uint8Array) => handleIn(st, topic, payload),
      get size() {
        return st.size;
      },
      commit: (): C => {
        close(st);
        return commitStaged(st);
      },
    };
  }

  const begin = (): IngestBatch => batchOf(openStaged(false), commit);
  const beginAsync = (): AsyncIngestBatch => batchOf(openStaged(deps.eventWriter !== undefined), commitOffloaded);

  function handle(topic: string, payload: Uint8Array): IngestOutcome {
    const st = openStaged(false);
    const outcome = handleIn(st, topic, payload);
    close(st);
    commit(st);
    return outcome.kind === 'pending' ? (st.results[0] ?? { kind: 'store_error' }) : outcome;
  }

  return { handle, begin, beginAsync, stats: () => cloneIngestStats(stats) };
}
