import { Transform, type TransformCallback } from 'node:stream';
import { type Extract, extract } from 'tar-stream';

/**
 * Passes a tar stream through unchanged while parsing it, so a truncated or malformed archive
 * from the engine fails the backup as it is written. `entries` counts what was parsed.
 */
export class TarCheck extends Transform {
  entries = 0;
  /** Sum of the regular files' sizes (what `du --apparent-size` and `docker system df` count). */
  fileBytes = 0;
  private readonly ex: Extract = extract();
  private failure: Error | undefined;

  constructor() {
    super();
    this.ex.on('entry', (h, stream, next) => {
      this.entries++;
      if (h.type === 'file' || h.type === 'contiguous-file') this.fileBytes += h.size ?? 0;
      stream.on('end', next);
      // A cut archive errors the entry too; the extractor's own error reports it.
      stream.on('error', () => undefined);
      stream.resume();
    });
    this.ex.on('error', (err) => {
      this.failure = err;
    });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.failure) {
      done(new Error(`tar stream is malformed: ${this.failure.message}`));
      return;
    }
    // The parser's back-pressure paces us (streamx writables take no write callback).
    if (this.ex.write(chunk)) {
      done(null, chunk);
      return;
    }
    const settle = (err?: Error) => {
      this.ex.off('drain', settle);
      this.ex.off('error', settle);
      if (err) done(new Error(`tar stream is malformed: ${err.message}`));
      else done(null, chunk);
    };
    this.ex.on('drain', settle);
    this.ex.on('error', settle);
  }

  override _flush(done: TransformCallback): void {
    if (this.failure) {
      done(new Error(`tar stream is malformed: ${this.failure.message}`));
      return;
    }
    this.ex.once('finish', () => done(this.failure ?? null));
    this.ex.once('error', (err) => done(new Error(`tar stream is malformed: ${err.message}`)));
    this.ex.end(undefined as unknown as Buffer);
  }
}
