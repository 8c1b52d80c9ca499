import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Ingest, IngestBatch } from './ingest-service.js';
import { createTickBatcher } from './tick-batcher.js';

/** An ingest that records its batches and fails the commits it is told to. */
function fakeIngest(failCommits: number): { ingest: Ingest; batches: string[][] } {
  const batches: string[][] = [];
  let fails = failCommits;
  const ingest = {
    begin(): IngestBatch {
      const topics: string[] = [];
      return {
        handle(topic) {
          topics.push(topic);
          return { kind: 'pending' };
        },
        get size() {
          return topics.length;
        },
        commit() {
          batches.push(topics);
          if (fails > 0) {
            fails -= 1;
            return { ok: false, error: 'disk full' };
          }
          return { ok: true };
        },
      };
    },
  } as unknown as Ingest;
  return { ingest, batches };
}

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('tick batcher', () => {
  it('commits the messages of one turn together, then the next turn separately', async () => {
    const { ingest, batches } = fakeIngest(0);
    const seen: string[] = [];
    const b = createTickBatcher({ ingest, logger: pino({ level: 'silent' }), observe: (t) => seen.push(t), minCommitIntervalMs: 0 });
    b.handle('t1', Buffer.from('{}'));
    b.handle('t2', Buffer.from('{}'));
    expect(batches).toEqual([]);
    await tick();
    b.handle('t3', Buffer.from('{}'));
    await tick();
    expect(batches).toEqual([['t1', 't2'], ['t3']]);
    expect(seen).toEqual(['t1', 't2', 't3']);
    b.close();
  });

  it('keeps a batch whose commit failed and handles it again, once', async () => {
    const { ingest, batches } = fakeIngest(1);
    const seen: string[] = [];
    const b = createTickBatcher({ ingest, logger: pino({ level: 'silent' }), observe: (t) => seen.push(t), retryMs: 20, minCommitIntervalMs: 0 });
    b.handle('a', Buffer.from('{}'));
    b.handle('b', Buffer.from('{}'));
    await tick();
    expect(b.retained).toBe(2);
    await tick(60);
    expect(batches).toEqual([['a', 'b'], ['a', 'b']]);
    expect(b.retained).toBe(0);
    // observers saw each message once: a retry is not a new message
    expect(seen).toEqual(['a', 'b']);
    b.close();
  });

  it('commits what is pending when closed', () => {
    const { ingest, batches } = fakeIngest(0);
    const b = createTickBatcher({ ingest, logger: pino({ level: 'silent' }) });
    b.handle('x', Buffer.from('{}'));
    b.close();
    expect(batches).toEqual([['x']]);
  });
});
