import { atLeast, type Level, parseLevel } from '../../knowledge/log-levels.js';

export interface LogFilter {
  level?: Level | undefined;
  grep?: string | undefined;
}

export interface FilteredLine {
  level: Level | null;
  matches: boolean;
}

/** Level is parsed once per line; grep is a case-insensitive substring (no regex: input is untrusted). */
export function lineMatcher(filter: LogFilter): (text: string) => FilteredLine {
  const needle = filter.grep?.toLowerCase();
  return (text) => {
    const level = parseLevel(text);
    let matches = true;
    if (filter.level && !atLeast(level, filter.level)) matches = false;
    if (matches && needle && !text.toLowerCase().includes(needle)) matches = false;
    return { level, matches };
  };
}

/** Keeps only the newest `size` items pushed: memory stays bounded whatever the log size. */
export class Ring<T> {
  private items: T[] = [];
  private start = 0;
  constructor(private readonly size: number) {}

  push(item: T): void {
    if (this.items.length < this.size) this.items.push(item);
    else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.size;
    }
  }

  toArray(): T[] {
    return [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
  }
}

/** Drops the oldest lines until the text fits `maxBytes`; says whether anything was dropped. */
export function capBytes<T extends { text: string }>(
  lines: T[],
  maxBytes: number,
): { lines: T[]; dropped: number } {
  let total = 0;
  let keepFrom = lines.length;
  while (keepFrom > 0) {
    const size = Buffer.byteLength(lines[keepFrom - 1]!.text) + 1;
    if (total + size > maxBytes) break;
    total += size;
    keepFrom--;
  }
  return { lines: lines.slice(keepFrom), dropped: keepFrom };
}
