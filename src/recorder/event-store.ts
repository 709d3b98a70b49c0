import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { appendFile, mkdir, open, rename, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { EngineEvent } from '../adapters/docker/types.js';
import { acquireLockFile } from '../util/lock-file.js';
import { processAlive } from '../util/process.js';

/** Attributes worth keeping: identity, image and how it died. Labels like the config hash are dropped. */
const KEEP = [
  'name',
  'image',
  'exitCode',
  'signal',
  'com.docker.compose.project',
  'com.docker.compose.service',
  'com.docker.compose.container-number',
  // A Swarm stack's task states (recorder/swarm-feed.ts) and the manager's service and node events.
  'com.docker.stack.namespace',
  'com.docker.swarm.service.name',
  'service',
  'node',
  'error',
  'container',
  'replicas.new',
  'replicas.old',
  'updatestate.new',
  'state.new',
  'availability.new',
];

export function eventKey(e: EngineEvent): string {
  return `${e.time}|${e.id}|${e.action}`;
}

/**
 * The recorder's history of one project's container events: JSON lines under
 * <stateDir>/events/<project>.jsonl, rotated to .1 past maxBytes (so at most twice that on disk).
 * It outlives the engine's 256-event memory and engine restarts.
 */
export class EventStore {
  constructor(
    readonly file: string,
    readonly maxBytes: number,
  ) {}

  private tailChecked = false;

  private async lineBreakNeeded(): Promise<string> {
    const h = await open(this.file, 'r').catch(() => null);
    if (!h) return '';
    try {
      const { size } = await h.stat();
      if (size === 0) return '';
      const last = Buffer.alloc(1);
      await h.read(last, 0, 1, size - 1);
      return last[0] === 0x0a ? '' : '\n';
    } finally {
      await h.close();
    }
  }

  static forProject(stateDir: string, project: string, maxBytes: number): EventStore {
    const dir = isAbsolute(stateDir) ? stateDir : resolve(stateDir);
    return new EventStore(join(dir, 'events', `${project}.jsonl`), maxBytes);
  }

  async append(events: EngineEvent[]): Promise<void> {
    if (events.length === 0) return;
    await mkdir(dirname(this.file), { recursive: true });
    const lines = events.map((e) => {
      const attributes: Record<string, string> = {};
      for (const k of KEEP) if (e.attributes[k] !== undefined) attributes[k] = e.attributes[k]!;
      return `${JSON.stringify({ ...e, attributes })}\n`;
    });
    // After a crash mid-append the file may end inside a line: start on a fresh one.
    const prefix = this.tailChecked ? '' : await this.lineBreakNeeded();
    this.tailChecked = true;
    await appendFile(this.file, prefix + lines.join(''));
    const size = (await stat(this.file)).size;
    if (size > this.maxBytes) await rename(this.file, `${this.file}.1`);
  }

  /**
   * Every stored event, oldest first, streamed (the files are never read whole). With `sinceMs`, a
   * file last written before it holds nothing newer and is not read at all.
   */
  async *all(sinceMs?: number): AsyncGenerator<EngineEvent> {
    for (const f of [`${this.file}.1`, this.file]) {
      let input: ReturnType<typeof createReadStream>;
      try {
        const st = await stat(f);
        if (sinceMs !== undefined && st.mtimeMs < sinceMs) continue;
        input = createReadStream(f, 'utf8');
      } catch {
        continue;
      }
      for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
        if (!line.trim()) continue;
        try {
          yield JSON.parse(line) as EngineEvent;
        } catch {
          // A line cut short by a crash mid-append: skip it, keep the rest.
        }
      }
    }
  }

  /** Events in [since, until] (unix seconds) for the project's service (or all), with one of `actions`. */
  async query(opts: {
    since: number;
    until: number;
    service?: string;
    actions: string[];
    max: number;
  }): Promise<EngineEvent[]> {
    const out: EngineEvent[] = [];
    // A file last written before the window has nothing in it (5 minutes of slack for an engine
    // whose clock runs ahead of this host's).
    for await (const e of this.all(opts.since * 1000 - 300_000)) {
      const t = Date.parse(e.time) / 1000;
      if (t < opts.since || t > opts.until + 1) continue;
      if (opts.service && e.attributes['com.docker.compose.service'] !== opts.service) continue;
      if (!opts.actions.some((a) => e.action === a || e.action.startsWith(`${a}:`))) continue;
      out.push(e);
      // Keep the newest `max`: drop from the front.
      if (out.length > opts.max) out.shift();
    }
    return out;
  }

  /** The newest stored event's time (ms), and the keys of events in that last second (to skip replays). */
  async tail(): Promise<{ lastMs: number | null; recentKeys: Set<string> }> {
    let lastMs: number | null = null;
    const recent: EngineEvent[] = [];
    for await (const e of this.all()) {
      const t = Date.parse(e.time);
      if (lastMs === null || t >= lastMs) lastMs = t;
      recent.push(e);
      if (recent.length > 200) recent.shift();
    }
    const floor = lastMs === null ? 0 : Math.floor(lastMs / 1000) * 1000;
    return { lastMs, recentKeys: new Set(recent.filter((e) => Date.parse(e.time) >= floor).map(eventKey)) };
  }

  async exists(): Promise<boolean> {
    return (
      (await stat(this.file).catch(() => null)) !== null ||
      (await stat(`${this.file}.1`).catch(() => null)) !== null
    );
  }

  /**
   * One recorder per project: a lock file next to the log (`<file>.lock`, JSON with pid, host,
   * since and a random token), created whole and exclusively (acquireLockFile). A lock whose process
   * is gone is taken over by one process only; an empty or partial one is respected.
   * Returns a release function (it removes the lock only while it is still ours), or the holder's
   * pid (-1 when the file names none) and the lock file's path.
   */
  async lock(): Promise<{ release: () => Promise<void> } | { heldBy: number; file: string }> {
    const file = `${this.file}.lock`;
    await mkdir(dirname(file), { recursive: true });
    const me = { pid: process.pid, host: hostname(), since: new Date().toISOString(), token: randomUUID() };
    const got = acquireLockFile(file, JSON.stringify(me), {
      parse: parseRecorderHolder,
      isStale: (h) => !processAlive(h.pid),
    });
    if (!got.acquired) return { heldBy: got.holder?.pid ?? -1, file };
    return { release: async () => got.release() };
  }
}

/** The recorder lock's holder; older versions wrote the bare pid. */
function parseRecorderHolder(text: string): { pid: number } | undefined {
  if (/^\d+$/.test(text.trim())) return { pid: Number(text.trim()) };
  try {
    const h = JSON.parse(text) as { pid?: unknown };
    if (typeof h?.pid === 'number') return { pid: h.pid };
  } catch {
    // empty or partial: busy, never stale
  }
  return undefined;
}
