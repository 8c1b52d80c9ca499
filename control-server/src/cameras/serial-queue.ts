/**
 * One call at a time: the vision detectors reuse pooled input buffers, so two requests must not
 * run the same detector concurrently. Calls run in arrival order; a failure does not block the next.
 */
export function createSerialQueue() {
  let tail: Promise<unknown> = Promise.resolve();
  return function run<T>(fn: () => Promise<T>): Promise<T> {
    const next = tail.then(fn, fn);
    // the queue itself never rejects: the caller gets the failure through `next`
    tail = next.catch(() => undefined);
    return next;
  };
}

/** A resource opened on first use and shared; a failed opening is retried at the next use. */
export function lazy<T>(open: () => Promise<T>): { get(): Promise<T>; peek(): Promise<T> | null } {
  let p: Promise<T> | null = null;
  return {
    get() {
      p ??= open().catch((err: unknown) => {
        p = null;
        throw err;
      });
      return p;
    },
    peek: () => p,
  };
}

/** At most `n` calls at a time (ffmpeg grabs: a burst of camera tiles must not start ten decoders at once). */
export function createLimiter(n: number) {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async function run<T>(fn: () => Promise<T>): Promise<T> {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
