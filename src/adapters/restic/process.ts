import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

/** How a restic process ended. */
export interface ResticExit {
  /** Exit code; null when it was ended by a signal or could not be started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last `STDERR_KEEP` bytes of its stderr (restic's messages; never the data). */
  stderr: string;
  /** Set when the binary could not be started (ENOENT: not installed, EACCES: not executable). */
  spawnError?: NodeJS.ErrnoException;
  /** Whether interrupt() was called before it ended. */
  interrupted: boolean;
}

export interface ResticProcess {
  child: ChildProcess;
  stdout: Readable;
  /** Resolves (never rejects) once the process has ended and its stdout and stderr are closed. */
  done: Promise<ResticExit>;
  /**
   * Stops restic the way it cleans up after itself: SIGINT (restic 0.14 removes its repository lock
   * on SIGINT, not on SIGTERM, and saves no snapshot), then SIGKILL after `killAfterMs` if it is
   * still running (a SIGKILLed restic leaves a stale lock that `restic unlock` removes).
   */
  interrupt(): void;
  /** Whether the process has ended. */
  readonly ended: boolean;
}

/** Bytes of stderr kept per process (the tail), so a chatty failure cannot grow memory. */
export const STDERR_KEEP = 64 * 1024;

/**
 * Starts `binary args…` (argument array, no shell) with exactly `env` as its environment. stdin is a
 * pipe when `stdin` is 'pipe', /dev/null otherwise (restic then never waits for a password prompt).
 * stdout is returned unread: the caller consumes it (or it is paused and restic blocks).
 */
export function startRestic(
  binary: string,
  args: string[],
  env: Record<string, string>,
  options: { stdin: 'pipe' | 'ignore'; killAfterMs?: number; cwd?: string },
): ResticProcess {
  const child = spawn(binary, args, {
    env,
    stdio: [options.stdin, 'pipe', 'pipe'],
    shell: false,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  let stderrChunks: Buffer[] = [];
  let stderrBytes = 0;
  child.stderr!.on('data', (chunk: Buffer) => {
    stderrChunks.push(chunk);
    stderrBytes += chunk.length;
    if (stderrBytes > 2 * STDERR_KEEP) {
      const all = Buffer.concat(stderrChunks, stderrBytes).subarray(-STDERR_KEEP);
      stderrChunks = [all];
      stderrBytes = all.length;
    }
  });
  let interrupted = false;
  let ended = false;
  let killTimer: NodeJS.Timeout | undefined;
  const done = new Promise<ResticExit>((resolve) => {
    const finish = (
      code: number | null,
      signal: NodeJS.Signals | null,
      spawnError?: NodeJS.ErrnoException,
    ) => {
      if (ended) return;
      ended = true;
      if (killTimer) clearTimeout(killTimer);
      const stderr = Buffer.concat(stderrChunks, stderrBytes).subarray(-STDERR_KEEP).toString('utf8');
      resolve({ code, signal, stderr, interrupted, ...(spawnError ? { spawnError } : {}) });
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      // A failed spawn never emits 'exit'; an error after a successful spawn (a failed kill) is
      // followed by 'close' as usual.
      if (child.pid === undefined) finish(null, null, err);
    });
    child.once('close', (code, signal) => finish(code, signal));
  });
  return {
    child,
    stdout: child.stdout!,
    done,
    get ended() {
      return ended;
    },
    interrupt() {
      if (ended || interrupted) return;
      interrupted = true;
      child.kill('SIGINT');
      killTimer = setTimeout(() => {
        if (!ended) child.kill('SIGKILL');
      }, options.killAfterMs ?? 10_000);
      killTimer.unref();
    },
  };
}
