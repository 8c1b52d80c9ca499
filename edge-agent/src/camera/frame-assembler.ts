/**
 * Cuts a byte stream of packed frames into whole frames. ffmpeg writes to the pipe in chunks that
 * do not align with frame boundaries, so bytes are copied into a frame buffer until it is full.
 */
export class FrameAssembler {
  private current: Uint8Array;
  private filled = 0;

  constructor(
    readonly frameBytes: number,
    private readonly onFrame: (data: Uint8Array) => void,
  ) {
    if (!Number.isInteger(frameBytes) || frameBytes <= 0) throw new RangeError(`invalid frame size ${frameBytes}`);
    this.current = new Uint8Array(frameBytes);
  }

  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(this.frameBytes - this.filled, chunk.length - offset);
      this.current.set(chunk.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === this.frameBytes) {
        const done = this.current;
        // a fresh buffer per frame: the consumer may still hold the previous one
        this.current = new Uint8Array(this.frameBytes);
        this.filled = 0;
        this.onFrame(done);
      }
    }
  }

  /** bytes of an incomplete frame waiting for more data */
  get pendingBytes(): number {
    return this.filled;
  }
}
