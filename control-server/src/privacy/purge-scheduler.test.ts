import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PurgeReport, PurgeTrigger } from './purge.js';
import { createPurgeScheduler } from './purge-scheduler.js';

/** A hand-written fake purge: records its triggers, and can be made to fail once or to wait. */
function fakePurge() {
  const triggers: PurgeTrigger[] = [];
  let failNext = false;
  let gate: Promise<void> | null = null;
  return {
    triggers,
    failOnce: () => {
      failNext = true;
    },
    /** the next run waits until the returned function is called */
    holdNext: (): (() => void) => {
      let open = () => undefined as void;
      gate = new Promise<void>((resolve) => (open = resolve));
      return () => open();
    },
    run(trigger: PurgeTrigger): Promise<PurgeReport> {
      triggers.push(trigger);
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error('database is locked'));
      }
      const g = gate ?? Promise.resolve();
      gate = null;
      return g.then(() => ({ trigger }) as PurgeReport);
    },
  };
}

describe('purge scheduler', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs at startup, then at every interval, until stopped', async () => {
    const purge = fakePurge();
    const s = createPurgeScheduler({ run: (t) => purge.run(t), intervalMs: 60_000, logger: pino({ level: 'silent' }) });
    const first = await s.start();
    expect(first?.trigger).toBe('startup');
    await vi.advanceTimersByTimeAsync(60_000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(purge.triggers).toEqual(['startup', 'schedule', 'schedule']);
    await s.stop();
    await vi.advanceTimersByTimeAsync(180_000);
    expect(purge.triggers).toHaveLength(3);
    expect(s.runs()).toBe(3);
    await s.stop();
    expect(() => s.start()).toThrow(/already started or stopped/);
  });

  it('logs a failed run and tries again at the next tick', async () => {
    const purge = fakePurge();
    const errors: unknown[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => errors.push(JSON.parse(line)) });
    purge.failOnce();
    const s = createPurgeScheduler({ run: (t) => purge.run(t), intervalMs: 1_000, logger });
    expect(await s.start()).toBeNull();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ msg: 'retention purge failed; retried at the next run', trigger: 'startup' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(purge.triggers).toEqual(['startup', 'schedule']);
    await s.stop();
  });

  it('does not start a run while one is still going, and stop waits for it', async () => {
    const purge = fakePurge();
    const release = purge.holdNext();
    const s = createPurgeScheduler({ run: (t) => purge.run(t), intervalMs: 1_000, logger: pino({ level: 'silent' }) });
    const startup = s.start();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(purge.triggers).toEqual(['startup']);
    let stopped = false;
    const stopping = s.stop().then(() => (stopped = true));
    await Promise.resolve();
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect((await startup)?.trigger).toBe('startup');
    expect(purge.triggers).toEqual(['startup']);
  });
});
