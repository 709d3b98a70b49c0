import type { EngineEvent } from '../adapters/docker/types.js';
import { explainExitCode } from './exit-codes.js';

export type DeathCause = 'oom' | 'operator' | 'signal' | 'app_error' | 'clean_exit';

export interface Death {
  time: string;
  container: string;
  exitCode: number | null;
  meaning: string;
  cause: DeathCause;
  /** Signal the API delivered before the death (docker kill / stop / restart). */
  signal: string | null;
}

/** How close (ms) an oom or kill event must be to the die it explains. */
const NEAR_MS = 5000;

const SIGNAL_NAMES: Record<string, string> = {
  '9': 'SIGKILL',
  '15': 'SIGTERM',
  '2': 'SIGINT',
  '1': 'SIGHUP',
};

/**
 * Reads deaths out of engine events, as Docker records them: an OOM kill is `oom` then
 * `die 137`; an operator or API stop/restart is `kill <signal>` then `die` (then `stop`, and for
 * `docker restart` a `restart`); a death with neither is the process exiting on its own.
 */
export function classifyDeaths(events: EngineEvent[]): Death[] {
  const sorted = [...events].sort((a, b) => a.time.localeCompare(b.time));
  const deaths: Death[] = [];
  for (const [i, e] of sorted.entries()) {
    if (e.action !== 'die') continue;
    const t = Date.parse(e.time);
    const before = sorted.slice(0, i).filter((p) => p.id === e.id && t - Date.parse(p.time) <= NEAR_MS);
    const code = e.attributes.exitCode === undefined ? null : Number(e.attributes.exitCode);
    const oom = before.some((p) => p.action === 'oom');
    const kill = [...before].reverse().find((p) => p.action === 'kill');
    const later = sorted.slice(i + 1).filter((n) => n.id === e.id && Date.parse(n.time) - t <= NEAR_MS);
    const byOperator = Boolean(kill) && later.some((n) => n.action === 'stop' || n.action === 'restart');
    let cause: DeathCause;
    if (oom) cause = 'oom';
    else if (byOperator) cause = 'operator';
    else if (kill) cause = 'signal';
    // SIGKILL is never self-inflicted: with no oom event (the engine may have dropped it) and no API
    // kill, it came from outside Docker's API (the kernel or a host `kill -9`), not from the app.
    else if (code === 137) cause = 'signal';
    else cause = code === 0 ? 'clean_exit' : 'app_error';
    const signalNum = kill?.attributes.signal ?? (cause === 'signal' && code === 137 ? '9' : undefined);
    deaths.push({
      time: e.time,
      container: e.name ?? e.id.slice(0, 12),
      exitCode: code,
      meaning: code === null ? 'unknown exit code' : explainExitCode(code, oom).meaning,
      cause,
      signal: signalNum ? (SIGNAL_NAMES[signalNum] ?? `signal ${signalNum}`) : null,
    });
  }
  return deaths;
}

/**
 * The last death of a container as its own state records it (FinishedAt, ExitCode, OOMKilled), for
 * when the engine's small event buffer (256 events; health checks fill it fast) no longer holds
 * the `die` events. Null when the container has not died in the window or an event already shows it.
 */
export function deathFromState(
  c: {
    name: string;
    restartCount: number;
    state: { running: boolean; exitCode: number; oomKilled: boolean; finishedAt: string | null };
  },
  known: Death[],
  sinceMs: number,
): Death | null {
  const at = c.state.finishedAt ? Date.parse(c.state.finishedAt) : Number.NaN;
  if (!Number.isFinite(at) || at < sinceMs || at <= 0) return null;
  if (c.state.running && c.restartCount === 0) return null;
  if (known.some((d) => d.container === c.name && Math.abs(Date.parse(d.time) - at) < NEAR_MS)) return null;
  const code = c.state.exitCode;
  const cause: DeathCause = c.state.oomKilled
    ? 'oom'
    : code === 137
      ? 'signal'
      : code === 0
        ? 'clean_exit'
        : 'app_error';
  return {
    time: new Date(at).toISOString(),
    container: c.name,
    exitCode: code,
    meaning: explainExitCode(code, c.state.oomKilled).meaning,
    cause,
    signal: cause === 'signal' ? 'SIGKILL' : null,
  };
}

export type VerdictKind =
  | 'oom_killed'
  | 'app_error'
  | 'operator_restart'
  | 'killed_by_signal'
  | 'unhealthy'
  | 'clean_exit'
  | 'no_restarts';

/** The dominant cause among deaths: the most recent failure wins over older ones and over operator actions. */
export function verdictKind(deaths: Death[], unhealthy: boolean): VerdictKind {
  const failures = deaths.filter((d) => d.cause === 'oom' || d.cause === 'app_error' || d.cause === 'signal');
  const last = failures.at(-1);
  if (last)
    return last.cause === 'oom'
      ? 'oom_killed'
      : last.cause === 'app_error'
        ? 'app_error'
        : 'killed_by_signal';
  if (unhealthy) return 'unhealthy';
  if (deaths.some((d) => d.cause === 'operator')) return 'operator_restart';
  if (deaths.length) return 'clean_exit';
  return 'no_restarts';
}
