import type { ContainerDetail } from '../../adapters/docker/types.js';
import type { ExpectedService } from '../../config/schema.js';
import { explainExitCode } from '../../knowledge/exit-codes.js';
import { type ProbeFailure, probeFailure, probeProgram } from '../../knowledge/health-probe.js';
import type { DeathCause } from '../../knowledge/restart-analysis.js';
import { type StartFailure, startFailure } from '../../knowledge/start-failure.js';

export const SERVICE_STATUSES = [
  'healthy',
  'running',
  'starting',
  'degraded',
  'unhealthy',
  'restarting',
  'paused',
  'created',
  'stopped',
  'exited',
  'dead',
  'missing',
  'absent',
] as const;
export type ServiceStatus = (typeof SERVICE_STATUSES)[number];

/** How bad a status is: 0 fine, 1 settling, 2 attention, 3 failing, 4 down. */
const SEVERITY: Record<ServiceStatus, number> = {
  healthy: 0,
  running: 0,
  absent: 0,
  starting: 1,
  created: 2,
  paused: 2,
  degraded: 2,
  unhealthy: 3,
  restarting: 3,
  stopped: 4,
  exited: 4,
  dead: 4,
  missing: 4,
};

export function severity(status: ServiceStatus): number {
  return SEVERITY[status];
}

/**
 * A service's status once its deep check (config services.<svc>.deepCheck) has run: a failing deep
 * check makes the service unhealthy whatever Docker says (no healthcheck = `running`, a passing
 * one = `healthy`, some replicas down = `degraded`), so the overall verdict follows its
 * criticality (down for a critical service, degraded otherwise). A service still in its start
 * period stays `starting` (not OK either); a worse status is kept.
 */
export function statusWithDeepCheck(status: ServiceStatus, deepCheckOk: boolean | undefined): ServiceStatus {
  if (deepCheckOk !== false || status === 'starting') return status;
  return SEVERITY[status] < SEVERITY.unhealthy ? 'unhealthy' : status;
}

/** health warns when a container uses this share of its pids_limit. */
export const PIDS_WARN_RATIO = 0.9;
/** The window in which processes OOM-killed inside a running container are counted. */
export const PROCESS_OOM_WINDOW_MS = 15 * 60_000;

export interface ContainerHealth {
  name: string;
  id: string;
  number: number;
  status: ServiceStatus;
  state: string;
  health: string | null;
  restartCount: number;
  restartPolicy: string;
  /** on-failure:N used up, so the engine will not start it again. */
  policyExhausted: boolean;
  startedAt: string | null;
  uptimeSeconds: number | null;
  oomKilled: boolean;
  lastExit: {
    code: number | null;
    signal: string | null;
    meaning: string;
    oomKilled: boolean;
    finishedAt: string | null;
  } | null;
  lastHealthOutput: string | null;
  /** Why it is not running although it never started (or, this time, could not start). */
  neverStarted: Pick<StartFailure, 'kind' | 'what' | 'fix' | 'error' | 'ranBefore'> | null;
  /** What the last failing probe's output says: its command cannot run, a refused connection, or a real failure. */
  probe: { failure: ProbeFailure; program: string | null } | null;
  /** Processes OOM-killed inside it while it kept running, in the last 15 minutes (engine oom events). */
  processOomKills: number;
  /** PIDs in use against pids_limit (only for containers that have one); zombies = PIDs no live task holds. */
  pids: { current: number; limit: number; zombies: number | null } | null;
  /** Its latest death as the engine's events tell it (null when they no longer hold it). */
  lastDeath: {
    time: string;
    cause: DeathCause;
    exitCode: number | null;
    stopTimeoutSeconds: number | null;
  } | null;
  /** Clean exits (code 0) in the recent events. */
  cleanExits: number;
}

function policyText(p: ContainerDetail['restartPolicy']): string {
  return p.name === 'on-failure' && p.maximumRetryCount > 0
    ? `on-failure:${p.maximumRetryCount}`
    : p.name || 'no';
}

/** One container's status, judged against the service's start period. */
export function containerHealth(
  c: ContainerDetail,
  startPeriodMs: number,
  now: number,
  /** Names other containers of the stack by id (a start error can name one). */
  nameOf?: (id: string) => string | undefined,
): ContainerHealth {
  const started = c.state.startedAt ? Date.parse(c.state.startedAt) : Number.NaN;
  const uptimeMs = c.state.running && !Number.isNaN(started) ? Math.max(0, now - started) : null;
  let status: ServiceStatus;
  switch (c.state.status) {
    case 'running':
      if (!c.health) status = 'running';
      else if (c.health.status === 'healthy') status = 'healthy';
      else if (c.health.status === 'starting') status = 'starting';
      // Docker only marks unhealthy after its own start period; ours may be longer (config).
      else status = uptimeMs !== null && uptimeMs < startPeriodMs ? 'starting' : 'unhealthy';
      break;
    case 'restarting':
      status = 'restarting';
      break;
    case 'exited':
      status = c.state.exitCode === 0 && !c.state.oomKilled ? 'stopped' : 'exited';
      break;
    case 'created':
    case 'paused':
    case 'dead':
      status = c.state.status;
      break;
    default:
      status = 'exited';
  }

  const policy = c.restartPolicy;
  const policyExhausted =
    policy.name === 'on-failure' &&
    policy.maximumRetryCount > 0 &&
    c.restartCount >= policy.maximumRetryCount &&
    !c.state.running &&
    !c.state.restarting &&
    c.state.exitCode !== 0;

  const failure = startFailure(c, nameOf);
  let lastExit: ContainerHealth['lastExit'] = null;
  if (failure) {
    // Never ran (or could not start this time): the exit code is the runtime's, not the app's.
    lastExit = failure.exitCode
      ? { code: failure.exitCode, signal: null, meaning: failure.what, oomKilled: false, finishedAt: null }
      : null;
  } else if (!c.state.running || c.state.restarting) {
    if (c.state.finishedAt) {
      const m = explainExitCode(c.state.exitCode, c.state.oomKilled);
      lastExit = {
        code: m.code,
        signal: m.signal,
        meaning: m.meaning,
        oomKilled: c.state.oomKilled,
        finishedAt: c.state.finishedAt,
      };
    }
  } else if (c.state.finishedAt && c.restartCount > 0) {
    // Running again after a restart: the engine has reset ExitCode. OOMKilled hints but does not
    // prove (Docker 20.10 sets it for any OOM kill inside and keeps it across restarts).
    lastExit = {
      code: null,
      signal: null,
      meaning: c.state.oomKilled
        ? 'probably OOM-killed (OOMKilled=true; the exit code is reset on restart): explain_restarts has the events'
        : 'restarted; the exit code is in the engine events (explain_restarts)',
      oomKilled: c.state.oomKilled,
      finishedAt: c.state.finishedAt,
    };
  }

  const lastProbe = c.health?.log.at(-1);
  const probeKind = lastProbe ? probeFailure(lastProbe, c.health?.log ?? []) : null;
  return {
    name: c.name,
    id: c.id.slice(0, 12),
    number: c.number,
    status,
    state: c.state.status,
    health: c.health?.status ?? null,
    restartCount: c.restartCount,
    restartPolicy: policyText(policy),
    policyExhausted,
    startedAt: c.state.startedAt,
    uptimeSeconds: uptimeMs === null ? null : Math.floor(uptimeMs / 1000),
    oomKilled: c.state.oomKilled,
    lastExit,
    lastHealthOutput: lastProbe && lastProbe.exitCode !== 0 ? lastProbe.output.trim().slice(0, 500) : null,
    neverStarted: failure
      ? {
          kind: failure.kind,
          what: failure.what,
          fix: failure.fix,
          error: failure.error,
          ranBefore: failure.ranBefore,
        }
      : null,
    probe:
      lastProbe && probeKind
        ? { failure: probeKind, program: probeProgram(c.healthcheck?.test ?? [], lastProbe.output) }
        : null,
    processOomKills: 0,
    pids: null,
    lastDeath: null,
    cleanExits: 0,
  };
}

export interface ServiceHealth {
  status: ServiceStatus;
  ok: boolean;
  running: number;
  problems: string[];
}

/** What the service's own containers cannot tell: the dependencies a created container waits for. */
export interface ServiceContext {
  service?: string;
  /** Unmet dependencies, described ("db (service_healthy) is unhealthy: …"). */
  blockedBy?: string[];
}

/** The problem lines of one container (prefixed with its name when the service has several). */
function containerProblems(c: ContainerHealth, who: string, service: string, blockedBy: string[]): string[] {
  const out: string[] = [];
  if (c.neverStarted) {
    const f = c.neverStarted;
    if (f.kind === 'not_started')
      out.push(
        `${who}created but never started${blockedBy.length ? `: waits for ${blockedBy.join('; ')}` : ` (${f.fix})`}`,
      );
    else
      out.push(
        `${who}${f.ranBefore ? 'could not be started again' : 'never started'}: ${f.what}${f.error && !f.what.includes(f.error) ? ` (${f.error})` : ''}; fix: ${f.fix}`,
      );
    return out;
  }
  // Docker 20.10 keeps OOMKilled after a process inside was OOM-killed, and exit 137 is also a
  // docker kill or a stop that outlived its timeout: the events decide when they still hold the death.
  const down = c.status === 'exited' || c.status === 'stopped' || c.status === 'dead';
  const death =
    c.lastDeath &&
    c.lastExit?.finishedAt &&
    Math.abs(Date.parse(c.lastDeath.time) - Date.parse(c.lastExit.finishedAt)) < 5000
      ? c.lastDeath
      : null;
  const diedOfOom = c.lastExit?.code === 137 && (death ? death.cause === 'oom' : c.oomKilled);
  if (diedOfOom)
    out.push(
      death
        ? `${who}OOM-killed at its memory limit (last exit 137)`
        : `${who}probably OOM-killed at its memory limit (OOMKilled=true, last exit 137; the events that would confirm it are no longer kept, and Docker sets the flag for any process OOM-killed inside: why ${service})`,
    );
  else if (down && death?.cause === 'operator')
    out.push(
      `${who}stopped by an operator or API call at ${death.time}${death.stopTimeoutSeconds !== null ? ` (killed with SIGKILL after the ${death.stopTimeoutSeconds} s stop timeout: PID 1 did not exit on SIGTERM)` : ''}`,
    );
  else if (down && death?.cause === 'signal')
    out.push(
      `${who}killed by a signal from outside at ${death.time} (docker kill, or a kill on the host; last exit ${death.exitCode ?? '?'})`,
    );
  if (c.policyExhausted)
    out.push(
      `${who}restart policy ${c.restartPolicy} exhausted after ${c.restartCount} restarts; the engine will not restart it`,
    );
  else if ((c.state === 'restarting' && c.lastExit?.code === 0) || (c.cleanExits >= 2 && c.restartCount >= 2))
    out.push(
      `${who}restart loop of clean exits: it ends with exit 0 and the engine starts it again (${c.restartCount} restarts so far); a program that exits at once with 0 often waits on a closed stdin or daemonised itself, a job that finishes should not run under restart always (why ${service})`,
    );
  else if (c.restartCount > 0)
    out.push(
      `${who}restarted ${c.restartCount} time(s)${c.lastExit?.code === null && c.oomKilled ? ', the last probably an OOM kill (OOMKilled=true)' : ''}`,
    );
  if (
    c.lastExit &&
    c.lastExit.code !== null &&
    c.lastExit.code !== 0 &&
    !diedOfOom &&
    !(death && (death.cause === 'operator' || death.cause === 'signal')) &&
    c.status !== 'healthy' &&
    c.status !== 'running'
  )
    out.push(`${who}exited with ${c.lastExit.code}: ${c.lastExit.meaning}`);
  if (c.status === 'paused')
    out.push(
      `${who}paused (docker pause): its processes are frozen and serve nothing; docker unpause resumes it`,
    );
  if (c.status === 'unhealthy') {
    if (c.probe?.failure === 'broken')
      out.push(
        `${who}health probe cannot run: ${c.lastHealthOutput ?? 'no output'}: its command${c.probe.program ? ` "${c.probe.program}"` : ''} is not in the image (or not executable). Fix the healthcheck test in the Compose file (use a program the image has); the app itself may be fine`,
      );
    else out.push(`${who}health check failing${c.lastHealthOutput ? `: ${c.lastHealthOutput}` : ''}`);
  }
  if (c.processOomKills > 0 && c.status !== 'exited' && c.status !== 'stopped')
    out.push(
      `${who}${c.processOomKills} process${c.processOomKills === 1 ? '' : 'es'} OOM-killed inside ${service} in the last 15 min; the container kept running (a worker or child went past the memory limit: oom ${service})`,
    );
  if (c.pids && c.pids.current >= c.pids.limit * PIDS_WARN_RATIO) {
    const { current, limit, zombies } = c.pids;
    out.push(
      `${who}PIDs ${current}/${limit} (${Math.round((current / limit) * 100)}% of pids_limit): new processes fail to start ("can't fork")${
        zombies
          ? `; ${zombies} of them are zombie processes that PID 1 never reaped: set init: true on the service (an init reaps them) or make PID 1 wait for its children`
          : '; raise pids_limit or find what spawns them (zombies are the usual cause: init: true reaps them)'
      }`,
    );
  }
  return out;
}

/** A service's status from its replicas: all fine, some failing ("degraded"), or the worst one. */
export function serviceHealth(
  expected: ExpectedService | undefined,
  containers: ContainerHealth[],
  context: ServiceContext = {},
): ServiceHealth {
  if (containers.length === 0) {
    const status: ServiceStatus = expected?.optional ? 'absent' : 'missing';
    return {
      status,
      ok: status === 'absent',
      running: 0,
      problems: status === 'missing' ? ['expected but no container exists (never created, or removed)'] : [],
    };
  }
  const problems = containers.flatMap((c) =>
    containerProblems(
      c,
      containers.length > 1 ? `${c.name}: ` : '',
      context.service ?? 'the service',
      context.blockedBy ?? [],
    ),
  );
  const running = containers.filter((c) => severity(c.status) <= 1).length;
  const worst = containers.reduce(
    (w, c) => (severity(c.status) > severity(w) ? c.status : w),
    containers[0]!.status,
  );
  // Some replicas fine and some not: the service still serves, but degraded. Running replicas with
  // processes OOM-killed inside or PIDs near the limit serve too, but not well.
  const strained = containers.some(
    (c) =>
      (c.processOomKills > 0 && severity(c.status) <= 1) ||
      (c.pids !== null && c.pids.current >= c.pids.limit * PIDS_WARN_RATIO) ||
      // Caught between two clean exits of a loop, it looks running: the loop is still the state.
      (c.cleanExits >= 2 && c.restartCount >= 2),
  );
  const status: ServiceStatus =
    severity(worst) >= 3 && running > 0 ? 'degraded' : strained && severity(worst) === 0 ? 'degraded' : worst;
  return { status, ok: severity(status) === 0, running, problems };
}

export type Verdict = 'healthy' | 'starting' | 'degraded' | 'down';

/** Down when a critical service serves nothing (no replica running, or failing); degraded for any other problem. */
export function overallVerdict(
  services: Array<{
    status: ServiceStatus;
    critical: boolean;
    expected: boolean;
    replicas?: { running: number; total: number };
  }>,
): Verdict {
  let verdict: Verdict = 'healthy';
  for (const s of services) {
    const sev = severity(s.status);
    if (s.critical && s.status !== 'degraded' && s.status !== 'absent') {
      if (sev >= 3) return 'down';
      // A critical service whose containers exist but none runs (created, never started; paused).
      if (s.replicas && s.replicas.total > 0 && s.replicas.running === 0 && sev >= 2) return 'down';
    }
    if (sev >= 2) verdict = 'degraded';
    else if (sev === 1 && verdict === 'healthy') verdict = 'starting';
  }
  return verdict;
}
