/**
 * Splits the Engine's multiplexed attach/logs stream (non-TTY containers) into frames. Each frame
 * is an 8-byte header [stream, 0, 0, 0, size(uint32 BE)] followed by `size` bytes. Incremental:
 * feed chunks as they arrive; a frame split across chunks is kept until complete.
 */
export type StreamName = 'stdin' | 'stdout' | 'stderr';

export interface Frame {
  stream: StreamName;
  data: Buffer;
}

const NAMES: Record<number, StreamName> = { 0: 'stdin', 1: 'stdout', 2: 'stderr' };

export class Demuxer {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: Frame[] = [];
    let offset = 0;
    while (this.pending.length - offset >= 8) {
      const type = this.pending[offset]!;
      const size = this.pending.readUInt32BE(offset + 4);
      if (this.pending.length - offset - 8 < size) break;
      const stream = NAMES[type] ?? 'stdout';
      frames.push({ stream, data: this.pending.subarray(offset + 8, offset + 8 + size) });
      offset += 8 + size;
    }
    this.pending = offset === this.pending.length ? Buffer.alloc(0) : this.pending.subarray(offset);
    return frames;
  }

  /** Bytes of an incomplete frame left when the stream ended. */
  get leftover(): number {
    return this.pending.length;
  }
}
