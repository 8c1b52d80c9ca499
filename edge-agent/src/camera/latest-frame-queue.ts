import type { Frame } from '@portail/vision/types.js';

/**
 * Newest-frame policy: the pipeline always gets the most recent frame; older frames that were not
 * taken in time are dropped and counted, so a slow model never builds up latency.
 */
export class LatestFrameQueue {
  private frames: Frame[] = [];
  private waiter: ((f: Frame | undefined) => void) | undefined;
  private closed = false;
  dropped = 0;
  pushed = 0;

  constructor(private readonly capacity = 1) {
    if (capacity < 1) throw new RangeError('capacity must be at least 1');
  }

  push(frame: Frame): void {
    if (this.closed) return;
    this.pushed++;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(frame);
      return;
    }
    this.frames.push(frame);
    while (this.frames.length > this.capacity) {
      this.frames.shift();
      this.dropped++;
    }
  }

  /** Resolves with the next frame, or undefined once the queue is closed. */
  next(): Promise<Frame | undefined> {
    const f = this.frames.pop();
    if (f) {
      // anything older than the newest frame is stale by now
      this.dropped += this.frames.length;
      this.frames = [];
      return Promise.resolve(f);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  close(): void {
    this.closed = true;
    this.frames = [];
    const w = this.waiter;
    this.waiter = undefined;
    w?.(undefined);
  }
}
