import type { Logger } from 'pino';
import type { AsyncCommitted, AsyncIngestBatch, Ingest } from './ingest-service.js';

export interface TickBatcherOptions {
  ingest: Ingest;
  logger: Logger;
  /** also called for every message (the agent-config observer) */
  observe?: (topic: string, payload: Buffer) => void;
  /** a batch whose commit failed is handled again after this delay; default 1 s */
  retryMs?: number;
  /** messages kept for a retry at most; beyond, the oldest failed batch is dropped (logged) */
  maxRetainedMessages?: number;
  /**
   * Commits at most this often (default 15 ms): under load a batch gathers ~15 ms of messages, so the
   * fixed cost of a commit is shared by ~150 events at 10 000 events/s; when idle the first message
   * commits at once. The fixed cost is mostly the WAL pages a commit rewrites (one leaf per site and
   * kind in each per-site index, whatever the batch size): ~4–8 µs less per event at 200 than at 50.
   */
  minCommitIntervalMs?: number;
  /**
   * Messages not committed yet (gathering plus in flight) below which each is released to the broker
   * at once (default 4 000: ~0.4 s at 10 000 events/s). Above, releases wait for the commit of their
   * batch: the database is behind, and the agents' outboxes hold what comes next.
   */
  highWaterMessages?: number;
}

export interface TickBatcher {
  /**
   * `release` gives the message back to the broker, which reads nothing more from the publishing agent
   * until then. It is called on a later turn of the event loop, and while the messages not committed
   * yet stay below `highWaterMessages`, without waiting for the commit; above, once the message's batch
   * is committed (or kept for a retry after a failed commit). So when the database falls behind, the
   * agents' outboxes hold the next messages instead of this process's memory.
   */
  handle(topic: string, payload: Buffer, release?: () => void): void;
  /** messages waiting for a retry after a failed commit */
  readonly retained: number;
  /** Commits what is pending, waits for the commit in flight, then stops. */
  close(): Promise<void>;
}

/**
 * Groups the messages that arrive close together into one ingest batch (one transaction), committed
 * at the next `setImmediate`, or at most every `minCommitIntervalMs` under load. Used by the in-process path from the embedded broker, where
 * there is no PUBACK to hold back: a batch that could not be stored is kept in memory and handled
 * again, since the broker will not deliver it twice. The MQTT subscriber does the same per socket
 * read and, instead of keeping the batch, withholds the PUBACKs so the broker delivers it again.
 */
export function createTickBatcher(opts: TickBatcherOptions): TickBatcher {
  const log = opts.logger;
  const retryMs = opts.retryMs ?? 1_000;
  const maxRetained = opts.maxRetainedMessages ?? 100_000;
  let open: { batch: AsyncIngestBatch; raw: Array<[string, Buffer]>; releases: Array<() => void> } | null = null;
  const failed: Array<Array<[string, Buffer]>> = [];
  let retained = 0;
  let retryTimer: NodeJS.Timeout | null = null;
  let closed = false;
  const minIntervalMs = opts.minCommitIntervalMs ?? 15;
  let lastFlush = 0;
  // One commit at a time (the event writer answers in order anyway): while one is in flight the next
  // batch keeps gathering messages and is committed as soon as it returns. A writer that falls behind
  // thus gets fewer, larger batches instead of a growing queue of small ones.
  let inFlight: Promise<void> | null = null;
  let inFlightMessages = 0;
  let flushWanted = false;
  const highWater = opts.highWaterMessages ?? 4_000;

  // Releases are given back a few at a time, one group per turn of the event loop. A release lets the
  // broker read and handle all that the agent's socket buffered meanwhile, synchronously: given back
  // all at once after a commit (every agent's, ~16 KiB each), they made one task of ~2 000 messages
  // (~80 ms) during which the writer's answer, the WebSocket pushes and the timers all waited.
  const toRelease: Array<() => void> = [];
  let releasing = false;
  const RELEASES_PER_TURN = 32;
  function releaseSoon(releases: ReadonlyArray<() => void>): void {
    for (const r of releases) toRelease.push(r);
    if (!releasing && toRelease.length > 0) {
      releasing = true;
      setImmediate(releaseSome);
    }
  }
  function releaseSome(): void {
    const some = toRelease.splice(0, RELEASES_PER_TURN);
    for (const release of some) {
      try {
        release();
      } catch (err) {
        // the broker's own callback: a client gone meanwhile is not the batch's problem
        log.debug({ err }, 'broker release callback failed');
      }
    }
    if (toRelease.length > 0) setImmediate(releaseSome);
    else releasing = false;
  }

  function flush(): void {
    if (inFlight) {
      flushWanted = true;
      return;
    }
    const o = open;
    open = null;
    lastFlush = Date.now();
    if (!o) return;
    inFlightMessages = o.raw.length;
    inFlight = o.batch.commit().then(
      (done) => settle(o.raw, o.releases, done),
      (err: unknown) =>
        settle(o.raw, o.releases, { ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
  }

  function settle(raw: Array<[string, Buffer]>, releases: Array<() => void>, done: AsyncCommitted): void {
    inFlight = null;
    inFlightMessages = 0;
    releaseSoon(releases);
    // the batch object may outlive this in the old generation: it must not keep its messages alive
    // (see releaseStaged in ingest-service.ts)
    releases.length = 0;
    if (done.ok) raw.length = 0;
    if (!done.ok) {
      // a partial failure names what was not stored: the rest is stored and must not come again
      if (done.unstored)
        raw = done.unstored.map(([topic, payload]) => [
          topic,
          Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
        ]);
      failed.push(raw);
      retained += raw.length;
      while (retained > maxRetained && failed.length > 1) {
        const dropped = failed.shift()!;
        retained -= dropped.length;
        log.error({ messages: dropped.length }, 'ingest retry queue full: the oldest failed batch is dropped');
      }
      log.error(
        { messages: raw.length, error: done.error, retryMs },
        'ingest batch not stored: it will be handled again',
      );
      if (!closed) retryTimer ??= setTimeout(retry, retryMs);
    }
    if (flushWanted) {
      flushWanted = false;
      flush();
    }
  }

  function retry(): void {
    retryTimer = null;
    if (closed) return;
    const batches = failed.splice(0);
    retained = 0;
    for (const raw of batches) for (const [topic, payload] of raw) add(topic, payload, false);
  }

  function add(topic: string, payload: Buffer, observe: boolean, release?: () => void): void {
    if (closed) {
      // stopping: not stored; never released either, the connection is about to close
      return;
    }
    if (!open) {
      open = { batch: opts.ingest.beginAsync(), raw: [], releases: [] };
      const waitMs = lastFlush + minIntervalMs - Date.now();
      if (waitMs > 0) setTimeout(flush, waitMs);
      else setImmediate(flush);
    }
    open.raw.push([topic, payload]);
    if (release) {
      if (open.raw.length + inFlightMessages <= highWater) releaseSoon([release]);
      else open.releases.push(release);
    }
    try {
      open.batch.handle(topic, payload);
      if (observe) opts.observe?.(topic, payload);
    } catch (err) {
      // handle is meant never to throw (bad input is a counted reject); keep the others of the batch
      log.error({ err, topic: topic.slice(0, 256) }, 'ingest handler threw');
    }
  }

  return {
    handle: (topic, payload, release) => add(topic, payload, true, release),
    get retained() {
      return retained;
    },
    async close() {
      if (closed) return;
      // what is open now is committed after the one in flight; nothing new is accepted
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      while (inFlight || open) {
        if (inFlight) await inFlight;
        else flush();
      }
    },
  };
}
