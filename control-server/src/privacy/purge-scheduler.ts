import type { Logger } from 'pino';
import type { PurgeReport, PurgeTrigger } from './purge.js';

/**
 * Runs the retention purge once at startup and then every `intervalMs`. The timer is unref'd (it
 * never keeps the process alive) and a run that fails is logged and retried at the next tick: the
 * purge is idempotent, what was not deleted this time is deleted the next.
 */
export interface PurgeSchedulerDeps {
  run(trigger: PurgeTrigger): Promise<PurgeReport>;
  intervalMs: number;
  logger: Logger;
}

export interface PurgeScheduler {
  /** Starts the timer and resolves with the startup run (or null when it failed, already logged). */
  start(): Promise<PurgeReport | null>;
  /** Stops the timer and waits for a run in progress. Safe to call twice. */
  stop(): Promise<void>;
  /** Runs so far (startup included), for tests and stats. */
  runs(): number;
}

export const DEFAULT_PURGE_INTERVAL_MS = 60 * 60_000;

export function createPurgeScheduler(deps: PurgeSchedulerDeps): PurgeScheduler {
  let timer: NodeJS.Timeout | null = null;
  let current: Promise<PurgeReport | null> | null = null;
  let count = 0;
  let stopped = false;

  const tick = (trigger: PurgeTrigger): Promise<PurgeReport | null> => {
    // a tick while a run is still going (a very large purge) waits for the next one
    if (current) return current;
    count += 1;
    current = deps
      .run(trigger)
      .catch((err: unknown) => {
        deps.logger.error({ err, trigger }, 'retention purge failed; retried at the next run');
        return null;
      })
      .finally(() => {
        current = null;
      });
    return current;
  };

  return {
    start() {
      if (timer || stopped) throw new Error('purge scheduler already started or stopped');
      timer = setInterval(() => void tick('schedule'), deps.intervalMs);
      timer.unref();
      return tick('startup');
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
      await current;
    },
    runs: () => count,
  };
}
