import { Worker } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';

export interface WalCheckpointerOptions {
  /** the server's connection: its automatic checkpoints are turned off */
  db: Database;
  logger: Logger;
  /** how often the worker checkpoints (default 250 ms) */
  intervalMs?: number;
  /**
   * WAL size (pages) past which the worker forces a restart of the WAL (default 16 384, ~64 MiB).
   * Under sustained writes a PASSIVE checkpoint is rarely complete when the next commit starts, and
   * only a complete one lets the writer start the WAL over: without this it grows without bound
   * (275 MB for 60 000 events in a test). The forced one briefly holds back the writer.
   */
  maxWalPages?: number;
  /** how long a forced restart waits for readers before giving up until the next tick (default 100 ms) */
  restartBusyMs?: number;
}

export interface WalCheckpointer {
  close(): Promise<void>;
}

// Plain JavaScript run by the worker (eval: no loader needed, so it works under tsx, vitest and the
// built server alike). Its own connection copies the WAL into the database file with PASSIVE
// checkpoints, which never block the writer; a checkpoint that finds readers on old frames copies
// what it can and the next one continues.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.betterSqlite3);
const db = new Database(workerData.file);
// PASSIVE never waits; this bounds how long a RESTART waits for readers, during which it holds back
// the writers (the event writer waits for it up to its own busy timeout): one that cannot finish
// quickly gives up and the next tick tries again, rather than stalling the ingest for seconds
db.pragma('busy_timeout = ' + workerData.restartBusyMs);
db.pragma('synchronous = NORMAL');
let busy = false;
const tick = () => {
  if (busy) return;
  busy = true;
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    // most frames are in the file now: the restart only copies the rest, then the writer starts over
    if (r && r.log >= workerData.maxWalPages) db.pragma('wal_checkpoint(RESTART)');
  } catch (err) {
    parentPort.postMessage({ type: 'error', message: String(err && err.message || err) });
  } finally {
    busy = false;
  }
};
const timer = setInterval(tick, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m === 'stop') {
    clearInterval(timer);
    tick();
    db.close();
    parentPort.close();
  }
});
`;

/**
 * Moves SQLite's WAL checkpoints off the event loop. With the default automatic checkpoint, the
 * commit that crosses 1 000 WAL pages copies them into the database file and fsyncs it on the
 * calling thread: under ~10 000 events/s that blocked the server's only thread for about as long
 * as all its CPU work (event loop 99 % busy at 58 % CPU). A worker thread with its own connection
 * checkpoints instead; the writer only appends to the WAL. Durability is unchanged: a commit is as
 * durable as before (WAL + synchronous=NORMAL); only where the copy into the main file happens moves.
 */
export async function startWalCheckpointer(opts: WalCheckpointerOptions): Promise<WalCheckpointer> {
  const { db, logger } = opts;
  const file = db.name;
  if (db.memory || file === '' || db.pragma('journal_mode', { simple: true }) !== 'wal') {
    // nothing to move: no WAL
    return { close: async () => undefined };
  }
  const { createRequire } = await import('node:module');
  const betterSqlite3 = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      file,
      betterSqlite3,
      intervalMs: opts.intervalMs ?? 250,
      maxWalPages: opts.maxWalPages ?? 16_384,
      restartBusyMs: opts.restartBusyMs ?? 100,
    },
  });
  worker.unref();
  let failed = false;
  const fallback = (why: string): void => {
    if (failed) return;
    failed = true;
    // the checkpoints come back to this connection rather than letting the WAL grow without bound
    db.pragma('wal_autocheckpoint = 1000');
    logger.error({ why }, 'WAL checkpoint worker failed: checkpoints are back on the main thread');
  };
  worker.on('message', (m: { type: string; message?: string }) => {
    if (m.type === 'error') logger.warn({ err: m.message }, 'WAL checkpoint failed; the next one retries');
  });
  worker.on('error', (err) => fallback(err.message));
  worker.on('exit', (code) => {
    if (code !== 0) fallback(`worker exited with code ${code}`);
  });
  db.pragma('wal_autocheckpoint = 0');
  // when the writer starts the WAL over, the file shrinks back to this (bytes) instead of staying at its peak
  const pageBytes = Number(db.pragma('page_size', { simple: true }));
  db.pragma(`journal_size_limit = ${(opts.maxWalPages ?? 16_384) * pageBytes}`);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        if (failed) return resolve();
        failed = true;
        // held until the worker has checkpointed and closed its connection
        worker.ref();
        worker.once('exit', () => resolve());
        worker.postMessage('stop');
      }),
  };
}
