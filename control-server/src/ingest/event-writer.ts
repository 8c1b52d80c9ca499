import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import { FAST_CHECK_AJV_OPTIONS, jsonSchemaOf, type EventTopicKey } from '@portail/protocol';
import { TOUCH_AGENT_SQL } from '../repositories/agent-repository.js';
import { CANONICAL_TS, INSERT_EVENT_SQL } from '../repositories/event-repository.js';
import { EVENT_WRITER_WORKER_SOURCE } from './event-writer-worker.js';

/** The event topics the writer accepts, in the order of their codes in `RawEventBatch.kinds`. */
export const WRITTEN_EVENT_KINDS = ['access', 'movement', 'camera'] as const satisfies readonly EventTopicKey[];
export type WrittenEventKind = (typeof WRITTEN_EVENT_KINDS)[number];

/**
 * One ingest batch's event messages as received: their payloads back to back in one buffer, and
 * per message its topic's kind and (site, agent) and its receipt time. Typed arrays and one buffer
 * are moved to the worker, not copied; the main thread neither parses nor serialises an event.
 */
export interface RawEventBatch {
  /** the payloads, back to back */
  bytes: Uint8Array<ArrayBuffer>;
  /** end offset of each payload in `bytes` */
  ends: Uint32Array<ArrayBuffer>;
  /** per message: index in `WRITTEN_EVENT_KINDS` */
  kinds: Uint8Array<ArrayBuffer>;
  /** per message: index of its topic's site and agent in `sites` / `agents` */
  topics: Uint32Array<ArrayBuffer>;
  sites: string[];
  agents: string[];
  /** per message: when the server received it (ms since the epoch): the row's `received_at` */
  receivedMs: Float64Array<ArrayBuffer>;
  /** an event whose edge ts is further ahead / behind than this is counted as clock skew */
  aheadMs: number;
  behindMs: number;
}

/** What became of each message of a `RawEventBatch`. */
export const WRITE_STATUS = { duplicate: 0, stored: 1, notChecked: 2 } as const;

export type RawEventResult =
  | {
      ok: true;
      /**
       * per message: `WRITE_STATUS` (stored; already there; left to the main thread, which decides with
       * zod: bad JSON, refused by the compiled check, topic mismatch)
       */
      status: Uint8Array;
      /** the live JSON of each stored event (a `StoredEvent`), back to back, in message order */
      json: string;
      /** end offset in `json` of each stored event's JSON */
      ends: Uint32Array;
      skewFuture: number;
      skewPast: number;
    }
  | {
      ok: false;
      error: string;
      /**
       * The worker stopped with the batch in hand: it may have committed it before dying. Its events
       * are then neither all stored nor all missing, and none was pushed live.
       */
      maybeStored?: true;
    };

export interface EventWriter {
  /** Check and store a batch in one transaction, in the order batches were given. Never rejects. */
  ingest(batch: RawEventBatch): Promise<RawEventResult>;
  /** false once the worker is gone: the caller writes on its own connection instead */
  readonly alive: boolean;
  /** batches sent and not answered yet */
  readonly pending: number;
  /** Waits for the pending batches, then closes the worker's connection. */
  close(): Promise<void>;
}

export interface EventWriterOptions {
  /** the server's connection: the worker opens the same file with the same page cache */
  db: Database;
  logger: Logger;
  busyTimeoutMs?: number;
}

type FromWorker =
  | { type: 'ready' }
  | { type: 'fatal'; error: string }
  | ({ type: 'done'; seq: number } & Extract<RawEventResult, { ok: true }>)
  | { type: 'done'; seq: number; ok: false; error: string };

/**
 * Moves the ingest's work on event messages (JSON parse, schema check, serialisation and the SQLite
 * writes: the `events` inserts and the agents' `last_seen`) to a worker thread with its own
 * connection to the same file (event-writer-worker.ts). On the event loop this work delayed every
 * other message, WebSocket push and HTTP answer (docs/performance.md). The main thread routes the
 * messages, hands the worker their bytes, and fans out the JSON it gets back.
 * Commits are as durable as before (WAL + synchronous=NORMAL). Resolves once the worker has prepared
 * its statements; rejects with the worker's error otherwise (no events table, unreadable file).
 */
export async function startEventWriter(opts: EventWriterOptions): Promise<EventWriter> {
  const { db, logger } = opts;
  if (db.memory || db.name === '') throw new Error('the event writer needs a database file (not :memory:)');
  const here = createRequire(import.meta.url);
  const worker = new Worker(EVENT_WRITER_WORKER_SOURCE, {
    eval: true,
    workerData: {
      file: db.name,
      betterSqlite3: here.resolve('better-sqlite3'),
      // the protocol's own ajv (its dependency, not necessarily the one other packages see)
      ajv: createRequire(here.resolve('@portail/protocol')).resolve('ajv/dist/2020.js'),
      ajvOptions: FAST_CHECK_AJV_OPTIONS,
      schemas: WRITTEN_EVENT_KINDS.map((k) => jsonSchemaOf(k)),
      kinds: WRITTEN_EVENT_KINDS,
      canonicalTs: CANONICAL_TS.source,
      busyTimeoutMs: Math.max(0, Math.trunc(opts.busyTimeoutMs ?? 5_000)),
      cacheSize: Number(db.pragma('cache_size', { simple: true })),
      insertSql: INSERT_EVENT_SQL,
      touchSql: TOUCH_AGENT_SQL,
    },
  });
  const waiting = new Map<number, (r: RawEventResult) => void>();
  let seq = 0;
  let alive = true;
  let stopping: Promise<void> | null = null;
  let last: Promise<unknown> = Promise.resolve();

  const fail = (why: string): void => {
    if (!alive) return;
    alive = false;
    for (const resolve of waiting.values())
      resolve({ ok: false, error: `event writer stopped: ${why}`, maybeStored: true });
    waiting.clear();
  };

  await new Promise<void>((resolve, reject) => {
    const onMessage = (m: FromWorker): void => {
      if (m.type === 'ready') {
        worker.off('message', onMessage);
        resolve();
      } else if (m.type === 'fatal') {
        worker.off('message', onMessage);
        alive = false;
        reject(new Error(`event writer could not open ${db.name}: ${m.error}`));
      }
    };
    worker.on('message', onMessage);
    worker.once('error', (err) => {
      alive = false;
      reject(err);
    });
  });

  worker.on('message', (m: FromWorker) => {
    if (m.type !== 'done') return;
    const resolve = waiting.get(m.seq);
    waiting.delete(m.seq);
    if (!resolve) return;
    if (m.ok) {
      const { type: _type, seq: _seq, ...result } = m;
      resolve(result);
    } else resolve({ ok: false, error: m.error });
    if (waiting.size === 0 && !stopping) worker.unref();
  });
  worker.on('error', (err) => {
    logger.error({ err }, 'event writer worker failed: the ingest writes on the main thread');
    fail(err.message);
  });
  worker.on('exit', (code) => {
    if (alive && !stopping) logger.error({ code }, 'event writer worker exited: the ingest writes on the main thread');
    fail(`worker exited with code ${code}`);
  });
  worker.unref();

  return {
    ingest(batch) {
      if (!alive || stopping) return Promise.resolve({ ok: false, error: 'event writer stopped' });
      seq += 1;
      const s = seq;
      // held while a batch is out: a process about to exit must not lose it silently
      if (waiting.size === 0) worker.ref();
      const answer = new Promise<RawEventResult>((resolve) => {
        waiting.set(s, resolve);
        worker.postMessage({ type: 'ingest', seq: s, ...batch }, [
          batch.bytes.buffer,
          batch.ends.buffer,
          batch.kinds.buffer,
          batch.topics.buffer,
          batch.receivedMs.buffer,
        ]);
      });
      last = answer;
      return answer;
    },
    get alive() {
      return alive && !stopping;
    },
    get pending() {
      return waiting.size;
    },
    close() {
      stopping ??= (async () => {
        // the worker answers in order: once the last batch sent is answered, nothing is left
        await last;
        if (!alive) return;
        worker.ref();
        const exited = new Promise<void>((r) => worker.once('exit', () => r()));
        worker.postMessage({ type: 'stop' });
        await exited;
      })();
      return stopping;
    },
  };
}
