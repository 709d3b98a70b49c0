import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ToolError } from '../errors.js';
import { processAlive } from '../util/process.js';

const LOCK_POLL_MS = 250;

interface Holder {
  pid: number;
  host: string;
  operation: string;
  principal: string;
  since: string;
}

/**
 * One mutating operation per stack at a time, across processes: a lock file created with O_EXCL.
 * A lock whose process is gone (same host) or older than `staleMs` is taken over, so a crash
 * cannot block the stack forever.
 */
export class StackLock {
  constructor(
    private readonly dir: string,
    private readonly staleMs = 30 * 60_000,
  ) {}

  /**
   * Takes the stack's lock. Held by a live operation: refused as busy at once, or with `waitMs`
   * retried until it frees up or the wait runs out (how concurrent backups queue behind each other).
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
    mkdirSync(this.dir, { recursive: true });
    const path = join(this.dir, `${project}.lock`);
    const me: Holder = {
      pid: process.pid,
      host: hostname(),
      operation,
      principal,
      since: new Date().toISOString(),
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, JSON.stringify(me));
        closeSync(fd);
        let released = false;
        return () => {
          if (released) return;
          released = true;
          rmSync(path, { force: true });
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = readHolder(path);
        if (holder && !this.isStale(holder)) {
          throw new ToolError(
            'busy',
            `stack ${project} is busy: ${holder.operation} by ${holder.principal} is running since ${holder.since}`,
            {
              hint: 'wait for it to finish and try again',
            },
          );
        }
        rmSync(path, { force: true }); // stale or unreadable: take it over
      }
    }
    throw new ToolError('busy', `stack ${project} is busy (lock ${path} keeps reappearing)`);
  }

  private isStale(h: Holder): boolean {
    if (Date.now() - Date.parse(h.since) > this.staleMs) return true;
    if (h.host !== hostname()) return false;
    return !processAlive(h.pid);
  }
}

function readHolder(path: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Holder;
  } catch {
    return undefined;
  }
}
