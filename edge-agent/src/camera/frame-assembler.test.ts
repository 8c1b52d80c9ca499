import { describe, expect, it } from 'vitest';
import { FrameAssembler } from './frame-assembler.js';

describe('FrameAssembler', () => {
  it('cuts frames from chunks that straddle frame boundaries', () => {
    const frames: number[][] = [];
    const a = new FrameAssembler(4, (f) => frames.push([...f]));
    a.push(Uint8Array.from([1, 2, 3]));
    a.push(Uint8Array.from([4, 5]));
    a.push(Uint8Array.from([6, 7, 8, 9, 10, 11, 12, 13]));
    expect(frames).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10, 11, 12],
    ]);
    expect(a.pendingBytes).toBe(1);
  });

  it('hands out a distinct buffer per frame', () => {
    const frames: Uint8Array[] = [];
    const a = new FrameAssembler(2, (f) => frames.push(f));
    a.push(Uint8Array.from([1, 2, 3, 4]));
    expect(frames[0]).not.toBe(frames[1]);
    expect([...frames[0]!]).toEqual([1, 2]);
  });

  it('rejects a nonsensical frame size', () => {
    expect(() => new FrameAssembler(0, () => undefined)).toThrow(RangeError);
  });
});
