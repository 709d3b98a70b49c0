import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import { deflateRaw as deflateRawCb, gunzip as gunzipCb, gzip as gzipCb } from 'node:zlib';

const gzip = promisify(gzipCb);
const gunzip = promisify(gunzipCb);
const deflateRaw = promisify(deflateRawCb);
const SAMPLE_BYTES = 64 * 1024;
const INCOMPRESSIBLE_RATIO = 0.98;

export interface ParallelGzipOptions {
  level: number;
  /** Uncompressed bytes per gzip member. */
  blockBytes?: number;
  /** Blocks compressed at once (libuv's thread pool runs them); bounds memory to ~2 x this x blockBytes. */
  concurrency?: number;
  /**
   * Inflate each member again (in the thread pool, in parallel) and compare it with its input before
   * emitting it: the archive's gzip layer is proven sound while it is written, not by a re-read.
   */
  selfCheck?: boolean;
}

/**
 * pigz-style gzip: the input is cut into blocks compressed concurrently on the thread pool and
 * written in order as consecutive gzip members. RFC 1952 allows members back to back; gunzip, tar,
 * Node's zlib and the Engine's archive API (Go's multistream reader) read them as one stream. A
 * single zlib stream is bound to one core, which made a 2-core host slower than `tar czf`.
 */
export class ParallelGzip extends Transform {
  private readonly blockBytes: number;
  private readonly concurrency: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly inflight: Promise<Buffer>[] = [];
  private emitted = false;

  constructor(private readonly opts: ParallelGzipOptions) {
    super();
    this.blockBytes = opts.blockBytes ?? 512 * 1024;
    // Two more blocks than cores keep every core busy while the next block fills; libuv's
    // default pool has 4 threads, so more than 4 would only queue (and hold memory).
    this.concurrency = Math.max(1, opts.concurrency ?? Math.min(4, availableParallelism() + 2));
  }

  /**
   * Already-compressed data (DuckDB pages, snapshots, media) costs deflate most of its time and
   * gains nothing, so a block whose sample does not shrink at level 1 is stored (level 0). Its
   * output is as large as deflate's would be; only the CPU time is saved.
   */
  private async levelFor(block: Buffer): Promise<number> {
    if (block.length < 2 * SAMPLE_BYTES) return this.opts.level;
    const sample = block.subarray(0, SAMPLE_BYTES);
    const packed = await deflateRaw(sample, { level: 1 });
    return packed.length > sample.length * INCOMPRESSIBLE_RATIO ? 0 : this.opts.level;
  }

  private async compress(block: Buffer): Promise<Buffer> {
    const out = await gzip(block, { level: await this.levelFor(block) });
    if (this.opts.selfCheck && !(await gunzip(out)).equals(block))
      throw new Error('gzip self-check failed: a compressed block does not inflate to its input');
    return out;
  }

  private cut(): void {
    const block = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    const p = this.compress(block);
    // Rejections are observed when the block's turn comes; avoid an unhandled-rejection crash meanwhile.
    p.catch(() => undefined);
    this.inflight.push(p);
  }

  private async drainTo(limit: number): Promise<void> {
    while (this.inflight.length > limit) {
      this.push(await this.inflight.shift()!);
      this.emitted = true;
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.blockBytes) {
      done();
      return;
    }
    this.cut();
    this.drainTo(this.concurrency - 1).then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    // Empty input still yields one (empty) member, so the file is valid gzip.
    if (this.pendingBytes > 0 || (!this.emitted && this.inflight.length === 0)) this.cut();
    this.drainTo(0).then(() => done(), done);
  }
}
