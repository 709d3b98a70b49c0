import { createHash } from 'node:crypto';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { type Extract, extract } from 'tar-stream';

/**
 * Passes a tar stream through unchanged while parsing it, so a truncated or malformed archive
 * from the engine fails the backup as it is written. `entries` counts what was parsed.
 */
export class TarCheck extends Transform {
  entries = 0;
  /** Sum of the regular files' sizes (what `du --apparent-size` and `docker system df` count). */
  fileBytes = 0;
  /** Regular files seen. */
  files = 0;
  /**
   * With `sums`: one line per regular file, `<sha256>  <path>\n` (sha256sum's format; a path with a
   * newline or backslash is escaped the way sha256sum does, with a leading backslash), ended when
   * the archive ends and destroyed with its error.
   */
  readonly sums: PassThrough | undefined;
  private readonly ex: Extract = extract();
  private failure: Error | undefined;

  constructor(opts: { sums?: boolean } = {}) {
    super();
    this.sums = opts.sums ? new PassThrough() : undefined;
    // restic cannot store an empty stdin stream: a volume without regular files still has this line.
    this.sums?.write('# sha256 of every regular file (sha256sum format)\n');
    this.ex.on('entry', (h, stream, next) => {
      this.entries++;
      const file = h.type === 'file' || h.type === 'contiguous-file';
      if (file) {
        this.fileBytes += h.size ?? 0;
        this.files++;
      }
      if (file && this.sums) {
        const hash = createHash('sha256');
        stream.on('data', (c: unknown) => hash.update(c as Buffer));
        stream.on('end', () => this.sums?.write(sumLine(hash.digest('hex'), h.name)));
      }
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

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    if (this.sums && !this.sums.writableFinished)
      this.sums.destroy(err ?? new Error('archive stream ended early'));
    done(err);
  }

  override _flush(done: TransformCallback): void {
    if (this.failure) {
      done(new Error(`tar stream is malformed: ${this.failure.message}`));
      return;
    }
    this.ex.once('finish', () => {
      if (!this.failure) this.sums?.end();
      done(this.failure ?? null);
    });
    this.ex.once('error', (err) => done(new Error(`tar stream is malformed: ${err.message}`)));
    this.ex.end(undefined as unknown as Buffer);
  }
}

/** sha256sum's line: `<hex>  <name>`, with a leading backslash and \\ / \n escapes for names that need them. */
export function sumLine(hex: string, name: string): string {
  const clean = name.replace(/^\.?\/+/, '');
  if (!/[\\\n]/.test(clean)) return `${hex}  ${clean}\n`;
  return `\\${hex}  ${clean.replaceAll('\\', '\\\\').replaceAll('\n', '\\n')}\n`;
}

/** Parses one sumLine back into [name, hex]; undefined for a line that is not one. */
export function parseSumLine(line: string): [string, string] | undefined {
  const m = /^(\\?)([0-9a-f]{64}) {2}(.*)$/.exec(line);
  if (!m) return undefined;
  const name = m[1] ? m[3]!.replace(/\\(\\|n)/g, (_x, c: string) => (c === 'n' ? '\n' : '\\')) : m[3]!;
  return [name, m[2]!];
}
