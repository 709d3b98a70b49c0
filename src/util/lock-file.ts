import { createHash, randomUUID } from 'node:crypto';
import {
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { processAlive } from './process.js';

/** How a lock file's text is judged. */
export interface LockFileRules<H> {
  /**
   * The holder written in a lock file's text, or undefined when the text is not a whole holder
   * (empty, partial, damaged): such a file is busy, never stale.
   */
  parse(text: string): H | undefined;
  /** Whether a holder may be taken over (its process died on this host, it is too old, …). */
  isStale(holder: H): boolean;
  /**
   * Milliseconds after which a takeover marker whose process cannot be checked (another host) is
   * considered abandoned. Default 30 minutes.
   */
  abandonedAfterMs?: number;
}

export type LockFileResult<H> =
  | { acquired: true; release: () => void }
  /** `holder` undefined: the file exists but holds no readable holder. */
  | { acquired: false; holder: H | undefined };

const ATTEMPTS = 8;
const MARKER_LEVELS = 16;

/**
 * An exclusive lock file at `path` holding `text` (which must be unique to this holder: include a
 * random token). Atomic: `text` goes to a temp file in the same directory, which is then hard-linked
 * to `path`; link fails with EEXIST while another holder has it, so the file is never seen empty or
 * half written, and two callers never both get it.
 *
 * A holder that `rules.isStale` judges stale is removed race-free: the remover first creates (again
 * by link) a marker named after that exact holder's text, so for each holder only one process at a
 * time may remove it, and it removes the file only if it still holds that text. `release()` goes the
 * same way, so it removes the lock only while it is still ours (never a successor's after a takeover).
 *
 * Synchronous; throws the file system's errors other than EEXIST/ENOENT (a read-only directory, a
 * file system without hard links).
 */
export function acquireLockFile<H>(path: string, text: string, rules: LockFileRules<H>): LockFileResult<H> {
  mkdirSync(dirname(path), { recursive: true });
  const abandonedMs = rules.abandonedAfterMs ?? 30 * 60_000;
  const temp = writeTemp(path, text);
  let holder: H | undefined;
  try {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (link(temp, path)) {
        sweep(path, text, abandonedMs);
        let released = false;
        return {
          acquired: true,
          release: () => {
            if (released) return;
            released = true;
            removeIfHolds(path, text, abandonedMs);
          },
        };
      }
      const seen = readText(path);
      if (seen === undefined) continue; // released meanwhile
      holder = rules.parse(seen);
      if (holder === undefined || !rules.isStale(holder)) return { acquired: false, holder };
      // Stale: remove exactly that holder (unless another process is doing so), then try again.
      removeIfHolds(path, seen, abandonedMs);
    }
    return { acquired: false, holder };
  } finally {
    rmSync(temp, { force: true });
  }
}

/** The file's text, or undefined when it does not exist. */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function writeTemp(path: string, text: string): string {
  const temp = `${path}.${randomUUID()}.tmp`;
  writeFileSync(temp, text, { flag: 'wx', mode: 0o600 });
  return temp;
}

/** link(2): true when `to` was created, false when it already existed. */
function link(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** A file created with `text` at once (temp + link): false when it already existed. */
function createWhole(path: string, text: string): boolean {
  const temp = writeTemp(path, text);
  try {
    return link(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
}

const markerPrefix = (path: string, text: string) =>
  `${path}.rm-${createHash('sha256').update(text).digest('hex').slice(0, 24)}-`;

/**
 * Removes `path` if (and only if) it still holds `text`. Whoever removes a given holder first
 * creates its marker; a second process finding the marker leaves it alone. A marker whose process
 * died (this host) or older than `abandonedMs` is passed over to the next level, so a crash while
 * removing cannot keep the lock forever. Returns false when another live process is removing it.
 */
function removeIfHolds(path: string, text: string, abandonedMs: number): boolean {
  const prefix = markerPrefix(path, text);
  const me = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() });
  for (let level = 0; level < MARKER_LEVELS; level++) {
    const marker = `${prefix}${level}`;
    if (!createWhole(marker, me)) {
      if (markerAbandoned(marker, abandonedMs)) continue;
      return false;
    }
    try {
      if (readText(path) === text) unlinkSync(path);
      return true;
    } finally {
      rmSync(marker, { force: true });
    }
  }
  return false;
}

function markerAbandoned(marker: string, abandonedMs: number): boolean {
  let owner: { pid?: unknown; host?: unknown } | undefined;
  try {
    owner = JSON.parse(readFileSync(marker, 'utf8')) as { pid?: unknown; host?: unknown };
  } catch {
    owner = undefined;
  }
  if (owner?.host === hostname() && typeof owner.pid === 'number' && !processAlive(owner.pid)) return true;
  try {
    return Date.now() - statSync(marker).mtimeMs > abandonedMs;
  } catch {
    return true; // gone meanwhile: its remover finished
  }
}

/**
 * Leftovers of crashed processes next to a lock we now hold: markers of earlier holders (they no
 * longer hold the file, so nobody may remove anything by them) and temp files older than `oldMs`.
 */
function sweep(path: string, ours: string, oldMs: number): void {
  const dir = dirname(path);
  const base = `${basename(path)}.`;
  const mine = basename(markerPrefix(path, ours));
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(base)) continue;
    const file = join(dir, name);
    if (name.endsWith('.tmp')) {
      try {
        if (Date.now() - statSync(file).mtimeMs > oldMs) rmSync(file, { force: true });
      } catch {
        // gone meanwhile
      }
    } else if (/^rm-[0-9a-f]{24}-\d+$/.test(name.slice(base.length)) && !name.startsWith(mine)) {
      rmSync(file, { force: true });
    }
  }
}
