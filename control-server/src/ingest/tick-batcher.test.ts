import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { AsyncIngestBatch, Ingest } from './ingest-service.js';
import { createTickBatcher } from './tick-batcher.js';

/**
 * An ingest that records its batches and fails the commits it is told to. With `hold`, each commit
 * waits until the test releases it (an event writer still busy with the previous batch).
 */
function fakeIngest(failCommits: number, hold = false) {
  const batches: string[][] = [];
  const releases: Array<() => void> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let fails = failCommits;
  const ingest = {
    beginAsync(): AsyncIngestBatch {
      const topics: string[] = [];
      return {
        handle(topic) {
          topics.push(topic);
          return { kind: 'pending' };
        },
        get size() {
          return topics.length;
        },
        async commit() {
          batches.push(topics);
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          if (hold) await new Promise<void>((r) => releases.push(r));
          inFlight -= 1;
          if (fails > 0) {
            fails -= 1;
            return { ok: false, error: 'disk full' };
          }
          return { ok: true };
        },
      };
    },
  } as unknown as Ingest;
  return { ingest, batches, releases, maxInFlight: () => maxInFlight };
}

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));
/**
 * Releases go back on later turns of the event loop (`setImmediate`, chained): a few turns, not a
 * timer, whose order against them is not fixed.
 */
const turns = async (n = 4): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};

describe('tick batcher', () => {
  it('commits the messages of one turn together, then the next turn separately', async () => {
    const { ingest, batches } = fakeIngest(0);
    const seen: string[] = [];
    const b = createTickBatcher({
      ingest,
      logger: pino({ level: 'silent' }),
      observe: (t) => seen.push(t),
      minCommitIntervalMs: 0,
    });
    b.handle('t1', Buffer.from('{}'));
    b.handle('t2', Buffer.from('{}'));
    expect(batches).toEqual([]);
    await turns();
    b.handle('t3', Buffer.from('{}'));
    await turns();
    expect(batches).toEqual([['t1', 't2'], ['t3']]);
    expect(seen).toEqual(['t1', 't2', 't3']);
    await b.close();
  });

  it('keeps a batch whose commit failed and handles it again, once', async () => {
    const { ingest, batches } = fakeIngest(1);
    const seen: string[] = [];
    const b = createTickBatcher({
      ingest,
      logger: pino({ level: 'silent' }),
      observe: (t) => seen.push(t),
      retryMs: 20,
      minCommitIntervalMs: 0,
    });
    b.handle('a', Buffer.from('{}'));
    b.handle('b', Buffer.from('{}'));
    await turns();
    expect(b.retained).toBe(2);
    await tick(60);
    // the retry timer and this one may fire in the same timers phase: the flush is a later turn
    await turns();
    expect(batches).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
    expect(b.retained).toBe(0);
    // observers saw each message once: a retry is not a new message
    expect(seen).toEqual(['a', 'b']);
    await b.close();
  });

  it('after a partial failure keeps and handles again only the messages the commit names', async () => {
    const batches: string[][] = [];
    let first = true;
    const ingest = {
      beginAsync(): AsyncIngestBatch {
        const got: Array<[string, Uint8Array]> = [];
        return {
          handle(topic, payload) {
            got.push([topic, payload]);
            return { kind: 'pending' };
          },
          get size() {
            return got.length;
          },
          async commit() {
            batches.push(got.map(([t]) => t));
            if (!first) return { ok: true };
            first = false;
            return { ok: false, error: 'disk full', unstored: got.filter(([t]) => t === 'b') };
          },
        };
      },
    } as unknown as Ingest;
    const b = createTickBatcher({ ingest, logger: pino({ level: 'silent' }), retryMs: 20, minCommitIntervalMs: 0 });
    for (const t of ['a', 'b', 'c']) b.handle(t, Buffer.from(t));
    await turns();
    expect(b.retained).toBe(1);
    await tick(60);
    // the retry timer and this one may fire in the same timers phase: the flush is a later turn
    await turns();
    expect(batches).toEqual([['a', 'b', 'c'], ['b']]);
    expect(b.retained).toBe(0);
    await b.close();
  });

  it('commits one batch at a time: the next gathers while one is in flight, then goes at once', async () => {
    const { ingest, batches, releases, maxInFlight } = fakeIngest(0, true);
    const b = createTickBatcher({ ingest, logger: pino({ level: 'silent' }), minCommitIntervalMs: 0 });
    b.handle('a', Buffer.from('{}'));
    await turns();
    expect(batches).toEqual([['a']]);
    // the writer is still busy with [a]: these wait, together, however many turns pass
    b.handle('b', Buffer.from('{}'));
    await turns();
    b.handle('c', Buffer.from('{}'));
    await tick(5);
    expect(batches).toEqual([['a']]);
    releases.shift()!();
    await turns();
    expect(batches).toEqual([['a'], ['b', 'c']]);
    releases.shift()!();
    await turns();
    expect(maxInFlight()).toBe(1);
    await b.close();
  });

  it('above the high-water mark, releases a message to the broker only once its batch is committed (or kept for a retry)', async () => {
    const { ingest, releases } = fakeIngest(1, true);
    const b = createTickBatcher({
      ingest,
      logger: pino({ level: 'silent' }),
      minCommitIntervalMs: 0,
      retryMs: 60_000,
      highWaterMessages: 0,
    });
    const acked: string[] = [];
    b.handle('a', Buffer.from('{}'), () => acked.push('a'));
    await turns();
    b.handle('b', Buffer.from('{}'), () => acked.push('b'));
    await turns();
    expect(acked).toEqual([]);
    // the first commit fails: [a] is kept in memory for a retry, and acknowledged
    releases.shift()!();
    await turns();
    expect(acked).toEqual(['a']);
    expect(b.retained).toBe(1);
    expect(acked).not.toContain('b');
    releases.shift()!();
    await turns();
    expect(acked).toEqual(['a', 'b']);
    await b.close();
  });

  it('below the high-water mark, releases each message on a later turn without waiting for its commit', async () => {
    const { ingest, batches, releases } = fakeIngest(0, true);
    const b = createTickBatcher({
      ingest,
      logger: pino({ level: 'silent' }),
      minCommitIntervalMs: 0,
      highWaterMessages: 3,
    });
    const acked: string[] = [];
    b.handle('a', Buffer.from('{}'), () => acked.push('a'));
    b.handle('b', Buffer.from('{}'), () => acked.push('b'));
    // never from inside handle: the broker is still delivering the message
    expect(acked).toEqual([]);
    await turns();
    expect(batches).toEqual([['a', 'b']]);
    expect(acked).toEqual(['a', 'b']);
    // [a, b] in flight, [c] gathering: 3 not committed, at the mark; [d] goes past it and is held
    b.handle('c', Buffer.from('{}'), () => acked.push('c'));
    b.handle('d', Buffer.from('{}'), () => acked.push('d'));
    await turns();
    expect(acked).toEqual(['a', 'b', 'c']);
    releases.shift()!();
    await turns();
    await turns();
    expect(batches).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    releases.shift()!();
    await turns();
    expect(acked).toEqual(['a', 'b', 'c', 'd']);
    await b.close();
  });

  it('commits what is pending when closed, after the commit in flight, and then accepts nothing', async () => {
    const { ingest, batches, releases } = fakeIngest(0, true);
    const b = createTickBatcher({ ingest, logger: pino({ level: 'silent' }), minCommitIntervalMs: 0 });
    b.handle('x', Buffer.from('{}'));
    await turns();
    b.handle('y', Buffer.from('{}'));
    let closed = false;
    const closing = b.close().then(() => {
      closed = true;
    });
    b.handle('z', Buffer.from('{}'));
    await turns();
    expect(closed).toBe(false);
    releases.shift()!();
    await turns();
    expect(batches).toEqual([['x'], ['y']]);
    releases.shift()!();
    await closing;
    expect(batches).toEqual([['x'], ['y']]);
  });
});
