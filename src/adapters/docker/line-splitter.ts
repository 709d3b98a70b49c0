/**
 * Turns chunks into complete lines without holding more than one line. A line longer than
 * `maxLine` bytes is cut there and flagged, so one runaway line cannot grow memory.
 */
export class LineSplitter {
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private skipping = false;

  constructor(private readonly maxLine = 16_384) {}

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.append(chunk.subarray(start, nl));
      lines.push(this.take());
      start = nl + 1;
    }
    if (start < chunk.length) this.append(chunk.subarray(start));
    return lines;
  }

  /** The last line when the stream ends without a newline. */
  flush(): string[] {
    return this.partialBytes > 0 || this.skipping ? [this.take()] : [];
  }

  private append(piece: Buffer): void {
    if (this.skipping) return;
    const room = this.maxLine - this.partialBytes;
    if (piece.length > room) {
      this.partial.push(piece.subarray(0, room));
      this.partialBytes += room;
      this.skipping = true;
      return;
    }
    this.partial.push(piece);
    this.partialBytes += piece.length;
  }

  private take(): string {
    let line = Buffer.concat(this.partial, this.partialBytes).toString('utf8');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (this.skipping) line += ' …[line truncated]';
    this.partial = [];
    this.partialBytes = 0;
    this.skipping = false;
    return line;
  }
}

/** Splits the Engine's `timestamps=true` prefix ("2026-01-02T03:04:05.123456789Z text"). */
export function splitTimestamp(line: string): { time: string | undefined; text: string } {
  const space = line.indexOf(' ');
  if (space > 19 && /^\d{4}-\d{2}-\d{2}T/.test(line)) {
    return { time: line.slice(0, space), text: line.slice(space + 1) };
  }
  return { time: undefined, text: line };
}
