import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import { TOUCH_AGENT_SQL } from '../repositories/agent-repository.js';
import { INSERT_EVENT_SQL } from '../repositories/event-repository.js';

/** Values of one event row, in `INSERT_EVENT_SQL`'s parameter order. */
export const EVENT_ROW_FIELDS = 8;
/** Values of one agent touch, in `TOUCH_AGENT_SQL`'s parameter order (receivedAt, site, agent). */
export const TOUCH_FIELDS = 3;

/**
 * One ingest batch's event rows, flattened (`EVENT_ROW_FIELDS` strings per event: id, kind, site,
 * agent, camera, ts, received_at, payload) and the `last_seen` updates of its agents: flat string
 * arrays are the cheapest thing to copy to a worker.
 */
export interface EventWriteBatch {
  rows: string[];
  touches: string[];
}

/** `inserted[i]` is 1 when the i-th event was stored, 0 when its id was already there (a replay). */
export type EventWriteResult = { ok: true; inserted: Uint8Array } | { ok: false; error: string };

export interface EventWriter {
  /** Store a batch in one transaction, in the order batches were given. Never rejects. */
  write(batch: EventWriteBatch): Promise<EventWriteResult>;
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

// Plain JavaScript run by the worker (eval: no loader needed, so it works under tsx, vitest and the
// built server alike, like the WAL checkpointer). The statements are the repositories' own SQL.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.betterSqlite3);
let db;
try {
  db = new Database(workerData.file, { fileMustExist: true });
  db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = ' + workerData.cacheSize);
  // checkpoints belong to the checkpointer worker: a writer that checkpoints stalls its commits
  db.pragma('wal_autocheckpoint = 0');
} catch (err) {
  parentPort.postMessage({ type: 'fatal', error: String((err && err.message) || err) });
  throw err;
}
let insert, touch;
try {
  insert = db.prepare(workerData.insertSql);
  touch = db.prepare(workerData.touchSql);
} catch (err) {
  parentPort.postMessage({ type: 'fatal', error: String((err && err.message) || err) });
  db.close();
  throw err;
}
const R = workerData.rowFields;
const T = workerData.touchFields;
const write = db.transaction((rows, touches, inserted) => {
  for (let i = 0, j = 0; i < rows.length; i += R, j++) {
    inserted[j] = insert.run(rows[i], rows[i + 1], rows[i + 2], rows[i + 3], rows[i + 4], rows[i + 5], rows[i + 6], rows[i + 7]).changes;
  }
  for (let i = 0; i < touches.length; i += T) touch.run(touches[i], touches[i + 1], touches[i + 2]);
});
parentPort.on('message', (m) => {
  if (m.type === 'stop') {
    db.close();
    parentPort.close();
    return;
  }
  const inserted = new Uint8Array(m.rows.length / R);
  try {
    write(m.rows, m.touches, inserted);
    parentPort.postMessage({ type: 'done', seq: m.seq, ok: true, inserted }, [inserted.buffer]);
  } catch (err) {
    // rolled back: nothing of the batch is stored, the caller keeps it for a retry
    parentPort.postMessage({ type: 'done', seq: m.seq, ok: false, error: String((err && err.message) || err) });
  }
});
parentPort.postMessage({ type: 'ready' });
`;

type FromWorker =
  | { type: 'ready' }
  | { type: 'fatal'; error: string }
  | { type: 'done'; seq: number; ok: true; inserted: Uint8Array }
  | { type: 'done'; seq: number; ok: false; error: string };

/**
 * Moves the ingest's SQLite writes (the `events` inserts and the agents' `last_seen`) to a worker
 * thread with its own connection to the same file. Inserting an event into six B-trees is most of
 * the CPU the ingest spends per event (docs/performance.md): on the event loop it delayed every
 * other message, WebSocket push and HTTP answer by the length of each commit. The main thread still
 * parses, validates and fans out; it hands the worker flat rows and learns which ids were new.
 * Commits are as durable as before (WAL + synchronous=NORMAL). Resolves once the worker has prepared
 * its statements; rejects with the worker's error otherwise (no events table, unreadable file).
 */
export async function startEventWriter(opts: EventWriterOptions): Promise<EventWriter> {
  const { db, logger } = opts;
  if (db.memory || db.name === '') throw new Error('the event writer needs a database file (not :memory:)');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      file: db.name,
      betterSqlite3: createRequire(import.meta.url).resolve('better-sqlite3'),
      busyTimeoutMs: Math.max(0, Math.trunc(opts.busyTimeoutMs ?? 5_000)),
      cacheSize: Number(db.pragma('cache_size', { simple: true })),
      insertSql: INSERT_EVENT_SQL,
      touchSql: TOUCH_AGENT_SQL,
      rowFields: EVENT_ROW_FIELDS,
      touchFields: TOUCH_FIELDS,
    },
  });
  const waiting = new Map<number, (r: EventWriteResult) => void>();
  let seq = 0;
  let alive = true;
  let stopping: Promise<void> | null = null;
  let last: Promise<unknown> = Promise.resolve();

  const fail = (why: string): void => {
    if (!alive) return;
    alive = false;
    for (const resolve of waiting.values()) resolve({ ok: false, error: `event writer stopped: ${why}` });
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
    resolve(m.ok ? { ok: true, inserted: m.inserted } : { ok: false, error: m.error });
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
    write(batch) {
      if (!alive || stopping) return Promise.resolve({ ok: false, error: 'event writer stopped' });
      seq += 1;
      const s = seq;
      // held while a batch is out: a process about to exit must not lose it silently
      if (waiting.size === 0) worker.ref();
      const answer = new Promise<EventWriteResult>((resolve) => {
        waiting.set(s, resolve);
        worker.postMessage({ type: 'write', seq: s, rows: batch.rows, touches: batch.touches });
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
