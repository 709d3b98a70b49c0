import type { EngineEvent } from '../adapters/docker/types.js';
import { explainExitCode } from './exit-codes.js';

/**
 * Why a container's main process ended:
 * - `oom`: the kernel OOM killer took PID 1 (an `oom` event right before `die 137`, no API stop);
 * - `operator`: stopped or restarted through the Docker API (`kill` then `die` then `stop` /
 *   `restart` / `destroy`: docker stop/restart/rm -f, Compose stop/restart/down);
 * - `signal`: killed by a signal from outside without a stop (docker kill, a host `kill -9`);
 * - `app_error` / `clean_exit`: the process exited by itself with a non-zero / zero code;
 * - `unknown`: the death is certain (the container's own state) but what caused it is not kept.
 */
export type DeathCause = 'oom' | 'operator' | 'signal' | 'app_error' | 'clean_exit' | 'unknown';

export interface Death {
  time: string;
  container: string;
  /** The container's id: a recreated service reuses the name, never the id. */
  id: string;
  exitCode: number | null;
  meaning: string;
  cause: DeathCause;
  /** The signal that ended it: delivered through the API (docker kill / stop / restart), or read from the exit code. */
  signal: string | null;
  /** Whether that signal came through the Docker API (a kill event), not from the host or inside the container. */
  viaApi: boolean;
  /** When the run that ended here began (its start event), when known. */
  runStartedAt: string | null;
  /** Where the death is known from: engine (or recorded) events, or only the container's own state. */
  source: 'events' | 'state';
  /**
   * An operator stop that ended in SIGKILL because PID 1 did not exit on the stop signal within the
   * stop timeout (an unclean shutdown): how long it was given.
   */
  stopTimeout: { graceSeconds: number; stopSignal: string } | null;
  /** Processes the OOM killer took inside the container during this run (not its main process). */
  processOomKills: number;
  /** What the evidence cannot say, in words (e.g. "the exit code is reset when it starts again"). */
  note: string | null;
}

/** A process inside a running container killed by the OOM killer while the container survived it. */
export interface ProcessOomKill {
  time: string;
  container: string;
  id: string;
}

/** A stop through the API that ended no run: the container was waiting to be restarted (restart backoff). */
export interface IdleStop {
  time: string;
  container: string;
  id: string;
}

export interface History {
  deaths: Death[];
  processOomKills: ProcessOomKill[];
  /** Stops through the API while the engine waited to restart the container (no kill or die before). */
  idleStops: IdleStop[];
}

/** How close (ms) an oom event must be to the die it caused, and a stop/restart to the die it ends. */
const NEAR_MS = 5000;
/** How far back a kill can start a stop (docker stop waits up to the stop timeout, then SIGKILLs). */
const STOP_WINDOW_MS = 10 * 60_000;

const SIGNAL_NAMES: Record<string, string> = {
  '1': 'SIGHUP',
  '2': 'SIGINT',
  '3': 'SIGQUIT',
  '9': 'SIGKILL',
  '15': 'SIGTERM',
};

function signalName(sig: string | undefined): string | null {
  if (sig === undefined) return null;
  return SIGNAL_NAMES[sig] ?? (/^SIG/.test(sig) ? sig : `signal ${sig}`);
}

const isKill9 = (e: EngineEvent): boolean => e.attributes.signal === '9' || e.attributes.signal === 'SIGKILL';

/**
 * Reads a container's deaths and the OOM kills inside it out of engine events, as Docker writes
 * them. The order of events decides, not closeness in time alone: a `kill` followed by `die` and
 * `stop`/`restart` is an operator stop even when an `oom` event (a child killed during the stop)
 * falls in between; `oom` then `die 137` with no API kill is the main process OOM-killed (as is `die 137` then its
 * `oom` within moments, before the next start: the engine forwards the two separately); an `oom`
 * with no death after it is a process inside killed while the container kept running.
 */
export function readHistory(events: EngineEvent[]): History {
  const sorted = [...events].sort((a, b) => a.time.localeCompare(b.time));
  const byId = new Map<string, EngineEvent[]>();
  for (const e of sorted) byId.set(e.id, [...(byId.get(e.id) ?? []), e]);
  const deaths: Death[] = [];
  const processOomKills: ProcessOomKill[] = [];
  const idleStops: IdleStop[] = [];
  for (const list of byId.values()) {
    let runStart: string | null = null;
    let kills: EngineEvent[] = [];
    let ooms: EngineEvent[] = [];
    // oom events already counted for the death just before them (stamped after their die).
    const consumed = new Set<EngineEvent>();
    for (const [i, e] of list.entries()) {
      const name = e.name ?? e.id.slice(0, 12);
      if (consumed.has(e)) continue;
      if (e.action === 'start') {
        runStart = e.time;
        kills = [];
      } else if (e.action === 'stop') {
        // An operator stop of a running container is kill → die → stop. A stop with no kill since the
        // run began found it already dead (waiting in the restart backoff): it ended no run.
        const runBegan = list.slice(0, i).findLastIndex((p) => p.action === 'start');
        const killed = list.slice(runBegan + 1, i).some((p) => p.action === 'kill');
        if (!killed) idleStops.push({ time: e.time, container: name, id: e.id });
      } else if (e.action === 'kill') kills.push(e);
      else if (e.action === 'oom') ooms.push(e);
      else if (e.action === 'die') {
        const t = Date.parse(e.time);
        const code = e.attributes.exitCode === undefined ? null : Number(e.attributes.exitCode);
        const recentKills = kills.filter((k) => t - Date.parse(k.time) <= STOP_WINDOW_MS);
        const after = list.slice(i + 1).filter((n) => Date.parse(n.time) - t <= NEAR_MS);
        const stopped = after.some(
          (n) => n.action === 'stop' || n.action === 'restart' || n.action === 'destroy',
        );
        // The engine forwards containerd's OOM and exit events separately: the oom of the kill that
        // ended this run can be stamped just after its die. It belongs to this death when it comes
        // before the container starts again.
        const nextStart = list.findIndex((n, j) => j > i && n.action === 'start');
        const lateOom =
          code === 137
            ? list
                .slice(i + 1, nextStart < 0 ? undefined : nextStart)
                .find((n) => n.action === 'oom' && Date.parse(n.time) - t <= NEAR_MS)
            : undefined;
        const nearOom = [...ooms].reverse().find((o) => t - Date.parse(o.time) <= NEAR_MS) ?? lateOom;
        let cause: DeathCause;
        let stopTimeout: Death['stopTimeout'] = null;
        let signal: string | null = null;
        let viaApi = false;
        if (recentKills.length && stopped) {
          cause = 'operator';
          viaApi = true;
          // docker stop: the stop signal, then SIGKILL when the timeout ran out (PID 1 did not exit).
          // The stop signal is the last one before that SIGKILL: an earlier kill (a HUP to reload)
          // is not part of the stop.
          const kill9 = recentKills.findLast(isKill9);
          const before = kill9 ? recentKills.slice(0, recentKills.indexOf(kill9)) : recentKills;
          const stopKill = before.findLast((k) => !isKill9(k)) ?? kill9 ?? recentKills.at(-1)!;
          signal = signalName(stopKill.attributes.signal);
          if (kill9 && code === 137 && stopKill !== kill9)
            stopTimeout = {
              graceSeconds: Math.round((Date.parse(kill9.time) - Date.parse(stopKill.time)) / 1000),
              stopSignal: signalName(stopKill.attributes.signal) ?? 'SIGTERM',
            };
        } else if (recentKills.some((k) => t - Date.parse(k.time) <= NEAR_MS)) {
          cause = 'signal';
          viaApi = true;
          signal = signalName(recentKills.at(-1)!.attributes.signal);
        } else if (nearOom && code === 137) {
          cause = 'oom';
          if (nearOom === lateOom) consumed.add(lateOom);
        }
        // 128+n with no API kill: a signal from the host or from inside the container (SIGKILL is
        // never self-inflicted; an OOM kill whose event was lost also looks like this).
        else if (code !== null && code > 128 && code < 160) {
          cause = 'signal';
          signal = signalName(String(code - 128));
        } else cause = code === 0 ? 'clean_exit' : 'app_error';
        // Every oom of this run that did not kill the main process killed a process inside it; the
        // kernel can report one kill more than once within moments, so the causing one is dropped.
        const inside = cause === 'oom' ? ooms.filter((o) => t - Date.parse(o.time) > NEAR_MS) : ooms;
        for (const o of inside) processOomKills.push({ time: o.time, container: name, id: e.id });
        deaths.push({
          time: e.time,
          container: name,
          id: e.id,
          exitCode: code,
          meaning:
            code === null
              ? 'unknown exit code'
              : stopTimeout
                ? `SIGKILL from the stop: PID 1 did not exit on ${stopTimeout.stopSignal} within the ${stopTimeout.graceSeconds} s stop timeout`
                : cause === 'operator' && code === 137
                  ? 'SIGKILL sent by the stop or restart through the API'
                  : cause === 'signal'
                    ? viaApi
                      ? `${signal ?? 'a signal'} sent through the Docker API (docker kill)`
                      : `${signal ?? 'a signal'} that did not come through the Docker API (from the host, or from inside the container)`
                    : explainExitCode(code, cause === 'oom').meaning,
          cause,
          signal,
          viaApi,
          runStartedAt: runStart,
          source: 'events',
          stopTimeout,
          processOomKills: inside.length,
          note: null,
        });
        kills = [];
        ooms = [];
      }
    }
    for (const o of ooms)
      processOomKills.push({ time: o.time, container: o.name ?? o.id.slice(0, 12), id: o.id });
  }
  deaths.sort((a, b) => a.time.localeCompare(b.time));
  processOomKills.sort((a, b) => a.time.localeCompare(b.time));
  return { deaths, processOomKills, idleStops };
}

/** The container state the analysis reads (a subset of ContainerDetail). */
export interface ContainerState {
  id: string;
  name: string;
  createdAt: string;
  restartCount: number;
  restartPolicy: { name: string; maximumRetryCount?: number };
  state: {
    status: string;
    running: boolean;
    restarting: boolean;
    exitCode: number;
    oomKilled: boolean;
    error: string;
    startedAt: string | null;
    finishedAt: string | null;
  };
}

/** Restart policies under which the engine restarts any exit, so an exited container was stopped by hand. */
const ALWAYS = new Set(['always', 'unless-stopped']);

/**
 * The last death of a container as its own state records it (FinishedAt, ExitCode, OOMKilled), for
 * when the engine's small event buffer (256 events; health checks fill it fast) no longer holds
 * the `die` events. Null when the container has not died in the window or an event already shows it.
 *
 * What the state can prove: an exited (or restarting) container's ExitCode belongs to its last
 * death; a running one's ExitCode is reset to 0 when it starts again, so its last exit code is
 * unknown. A running container with RestartCount 0 that has a FinishedAt was started again through
 * the API (the engine's own restarts count up; an API start resets the count). OOMKilled alone is
 * no proof: Docker 20.10 sets it for any OOM kill inside the container and keeps it after a restart.
 */
export function deathFromState(c: ContainerState, known: Death[], sinceMs: number): Death | null {
  const at = c.state.finishedAt ? Date.parse(c.state.finishedAt) : Number.NaN;
  if (!Number.isFinite(at) || at < sinceMs || at <= 0) return null;
  if (c.state.startedAt === null) return null;
  if (known.some((d) => d.id === c.id && Math.abs(Date.parse(d.time) - at) < NEAR_MS)) return null;
  const base = {
    time: new Date(at).toISOString(),
    container: c.name,
    id: c.id,
    viaApi: false,
    runStartedAt: null,
    source: 'state' as const,
    stopTimeout: null,
    processOomKills: 0,
  };
  const up = c.state.running && !c.state.restarting;
  const flag =
    'OOMKilled=true says a process in it was OOM-killed during that run, maybe its main process (Docker sets the flag for any OOM kill inside and keeps it)';
  if (up) {
    if (c.restartCount === 0)
      return {
        ...base,
        exitCode: null,
        meaning: 'exit code not kept (the engine resets it when the container starts again)',
        cause: 'operator',
        signal: null,
        note: `restarted by an operator or API call at ${c.state.startedAt} (RestartCount 0; the event is no longer kept). Its previous run ended at ${new Date(at).toISOString()}: whether by that restart or by a failure before it, the engine no longer says${c.state.oomKilled ? `; ${flag}` : ''}`,
      };
    return {
      ...base,
      exitCode: null,
      meaning: 'exit code not kept (the engine resets it when the container starts again)',
      cause: 'unknown',
      signal: null,
      note: `the engine restarted it by its restart policy; why it died is no longer kept (exit code reset, events gone)${c.state.oomKilled ? `; ${flag}` : ''}`,
    };
  }
  const code = c.state.exitCode;
  let cause: DeathCause;
  let note: string | null = null;
  if (!c.state.restarting && ALWAYS.has(c.restartPolicy.name)) {
    // Under always / unless-stopped the engine restarts every exit: staying down means a stop by hand.
    cause = 'operator';
    note = `stopped through the API (its restart policy ${c.restartPolicy.name} would otherwise have started it again); the stop event is no longer kept${c.state.oomKilled ? `; ${flag}` : ''}`;
  } else if (c.state.oomKilled && code === 137) {
    cause = 'oom';
    note =
      'probably OOM-killed: the container state says OOMKilled=true with exit 137, but the oom event is no longer kept to prove it was the main process (Docker also sets the flag when a process inside is OOM-killed, and a docker kill also exits 137)';
  } else if (code > 128 && code < 160) cause = 'signal';
  else {
    cause = code === 0 ? 'clean_exit' : 'app_error';
    if (c.state.oomKilled) note = flag;
  }
  return {
    ...base,
    exitCode: code,
    meaning: explainExitCode(code, cause === 'oom').meaning,
    cause,
    signal: cause === 'signal' ? (explainExitCode(code).signal ?? null) : null,
    note,
  };
}

/**
 * The fewest deaths the container's own state proves since it was last started through the API:
 * each restart by policy follows a death (RestartCount), plus the final one when it is down now.
 */
export function minimumDeaths(c: ContainerState): number {
  const downNow =
    !c.state.running && !c.state.restarting && c.state.finishedAt !== null && c.state.startedAt !== null;
  // The final death adds one only when the policy would not have restarted it (then RestartCount
  // did not count it); a stop during the restart backoff leaves a count with no death of its own.
  const policy = c.restartPolicy.name;
  const max = c.restartPolicy.maximumRetryCount ?? 0;
  const finalUncounted =
    downNow &&
    (policy === 'no' ||
      policy === '' ||
      (policy === 'on-failure' && (c.state.exitCode === 0 || (max > 0 && c.restartCount >= max))));
  return c.restartCount + (finalUncounted ? 1 : 0);
}

export type VerdictKind =
  | 'paused'
  | 'removed'
  | 'never_started'
  | 'oom_killed'
  | 'app_error'
  | 'operator_restart'
  | 'killed_by_signal'
  | 'clean_exit_loop'
  | 'unexplained_restarts'
  | 'broken_probe'
  | 'unhealthy'
  | 'clean_exit'
  | 'no_restarts';

/** Runs shorter than this that end in exit 0 under a restart-always policy make a loop. */
const SHORT_RUN_MS = 60_000;

/**
 * The verdict follows the latest death: it is why the service is in the state it is in now (an
 * operator stop after earlier crashes is a stop; a job that succeeded on a retry completed). Earlier
 * failures are reported beside it. A run of clean exits under a policy that restarts every exit is
 * a loop, not a success.
 */
export function verdictKind(
  deaths: Death[],
  opts: {
    unhealthy: boolean;
    brokenProbe?: boolean;
    neverStarted?: boolean;
    /** The service has no container now (removed). */
    removed?: boolean;
    /** A container of the service is paused (docker pause). */
    paused?: boolean;
    /** The state shows a clean-exit restart loop (restarting with exit 0 and restarts). */
    cleanLoopState?: boolean;
    /** The restart policy restarts every exit (always, unless-stopped): two clean exits make a loop. */
    restartsEveryExit?: boolean;
  },
): VerdictKind {
  if (opts.removed) return 'removed';
  if (opts.paused) return 'paused';
  if (opts.neverStarted && deaths.length === 0) return 'never_started';
  const clean = deaths.filter((d) => d.cause === 'clean_exit');
  const quick = clean.filter(
    (d) => d.runStartedAt === null || Date.parse(d.time) - Date.parse(d.runStartedAt) < SHORT_RUN_MS,
  );
  const last = deaths.at(-1);
  if (
    (last === undefined || last.cause === 'clean_exit') &&
    (opts.cleanLoopState || quick.length >= 3 || (opts.restartsEveryExit && clean.length >= 2))
  )
    return 'clean_exit_loop';
  switch (last?.cause) {
    case 'oom':
      return 'oom_killed';
    case 'app_error':
      return 'app_error';
    case 'signal':
      return 'killed_by_signal';
    case 'unknown':
      return 'unexplained_restarts';
    case 'operator':
      return 'operator_restart';
    case 'clean_exit':
      return 'clean_exit';
  }
  if (opts.brokenProbe) return 'broken_probe';
  if (opts.unhealthy) return 'unhealthy';
  if (opts.neverStarted) return 'never_started';
  return 'no_restarts';
}
