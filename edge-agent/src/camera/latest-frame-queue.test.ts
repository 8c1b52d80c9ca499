import { describe, expect, it } from 'vitest';
import type { Frame } from '@portail/vision/types.js';
import { LatestFrameQueue } from './latest-frame-queue.js';

const frame = (seq: number): Frame => ({ cameraId: 'c', seq, tsMs: seq, width: 1, height: 1, data: new Uint8Array(3) });

describe('LatestFrameQueue', () => {
  it('gives the newest frame and counts the ones skipped', async () => {
    const q = new LatestFrameQueue(1);
    q.push(frame(1));
    q.push(frame(2));
    q.push(frame(3));
    expect((await q.next())?.seq).toBe(3);
    expect(q.dropped).toBe(2);
    expect(q.pushed).toBe(3);
  });

  it('wakes a waiting consumer with the next frame without dropping it', async () => {
    const q = new LatestFrameQueue();
    const p = q.next();
    q.push(frame(7));
    expect((await p)?.seq).toBe(7);
    expect(q.dropped).toBe(0);
  });

  it('resolves undefined for a waiting consumer when closed', async () => {
    const q = new LatestFrameQueue();
    const p = q.next();
    q.close();
    expect(await p).toBeUndefined();
    q.push(frame(1));
    expect(await q.next()).toBeUndefined();
  });
});
