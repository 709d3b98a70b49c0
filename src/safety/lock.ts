import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ToolError } from '../errors.js';
import { acquireLockFile } from '../util/lock-file.js';
import { processAlive } from '../util/process.js';

const LOCK_POLL_MS = 250;

interface Holder {
  pid: number;
  host: string;
  operation: string;
  principal: string;
  since: string;
  /** Makes each holder's text unique, so a takeover or release can tell it from a successor's. */
  token?: string;
}

/**
 * One mutating operation per stack at a time, across processes: `<dir>/<project>.lock`, created
 * whole and exclusively (see acquireLockFile: temp file + link). A lock whose process is gone (same
 * host) or older than `staleMs` is taken over, by one process only, so a crash cannot block the
 * stack forever; an empty or partial lock file is busy, never stale. Release removes the lock only
 * while it is still this holder's.
 */
export class StackLock {
  constructor(
    private readonly dir: string,
    private readonly staleMs = 30 * 60_000,
  ) {}

  /**
   * Takes the stack's lock. Held by a live operation: refused as busy at once, or with `waitMs`
   * (milliseconds) retried until it frees up or the wait runs out (how concurrent backups queue
   * behind each other). Resolves to the release function (idempotent; it removes the lock only while
   * it is still this holder's). Rejects with ToolError `busy` naming the holder, or the lock file
   * when it names none; with the abort error when `signal` fires while waiting.
   */
  async acquire(
    project: string,
    operation: string,
    principal: string,
    wait: { waitMs?: number; signal?: AbortSignal; onWait?: (busy: string) => void } = {},
  ): Promise<() => void> {
    const deadline = Date.now() + (wait.waitMs ?? 0);
    let told = false;
    for (;;) {
      try {
        return this.tryAcquire(project, operation, principal);
      } catch (err) {
        if (!(err instanceof ToolError) || err.code !== 'busy' || Date.now() >= deadline) throw err;
        if (!told) wait.onWait?.(err.message);
        told = true;
        await sleep(Math.min(LOCK_POLL_MS, Math.max(0, deadline - Date.now())), undefined, {
          signal: wait.signal,
        });
      }
    }
  }

  private tryAcquire(project: string, operation: string, principal: string): () => void {
    const path = join(this.dir, `${project}.lock`);
    const me: Holder = {
      pid: process.pid,
      host: hostname(),
      operation,
      principal,
      since: new Date().toISOString(),
      token: randomUUID(),
    };
    const got = acquireLockFile(path, JSON.stringify(me), {
      parse: parseHolder,
      isStale: (h) => this.isStale(h),
      abandonedAfterMs: this.staleMs,
    });
    if (got.acquired) return got.release;
    const holder = got.holder;
    if (!holder)
      throw new ToolError(
        'busy',
        `stack ${project} is busy: its lock file ${path} exists but names no holder (it is empty or cut short)`,
        {
          hint: `doom-ops writes lock files whole, so another process (or an older doom-ops) left it: if no doom-ops operation is running on ${project}, remove ${path} and try again`,
        },
      );
    throw new ToolError(
      'busy',
      `stack ${project} is busy: ${holder.operation} by ${holder.principal} is running since ${holder.since}`,
      { hint: 'wait for it to finish and try again' },
    );
  }

  private isStale(h: Holder): boolean {
    if (Date.now() - Date.parse(h.since) > this.staleMs) return true;
    if (h.host !== hostname()) return false;
    return !processAlive(h.pid);
  }
}

/** A whole holder, or undefined (empty, partial or foreign text: busy, never stale). */
function parseHolder(text: string): Holder | undefined {
  let h: Partial<Holder>;
  try {
    h = JSON.parse(text) as Partial<Holder>;
  } catch {
    return undefined;
  }
  if (
    typeof h !== 'object' ||
    h === null ||
    typeof h.pid !== 'number' ||
    typeof h.host !== 'string' ||
    typeof h.operation !== 'string' ||
    typeof h.principal !== 'string' ||
    typeof h.since !== 'string'
  )
    return undefined;
  return h as Holder;
}
