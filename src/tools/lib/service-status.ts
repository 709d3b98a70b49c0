import type { ContainerDetail } from '../../adapters/docker/types.js';
import type { ExpectedService } from '../../config/schema.js';
import { explainExitCode } from '../../knowledge/exit-codes.js';

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
}

function policyText(p: ContainerDetail['restartPolicy']): string {
  return p.name === 'on-failure' && p.maximumRetryCount > 0
    ? `on-failure:${p.maximumRetryCount}`
    : p.name || 'no';
}

/** One container's status, judged against the service's start period. */
export function containerHealth(c: ContainerDetail, startPeriodMs: number, now: number): ContainerHealth {
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

  let lastExit: ContainerHealth['lastExit'] = null;
  if (!c.state.running || c.state.restarting) {
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
    // Running again after a restart: the engine has reset ExitCode, but OOMKilled still tells.
    lastExit = c.state.oomKilled
      ? { code: 137, ...pick(explainExitCode(137, true)), oomKilled: true, finishedAt: c.state.finishedAt }
      : {
          code: null,
          signal: null,
          meaning: 'restarted; the exit code is in the engine events (explain_restarts)',
          oomKilled: false,
          finishedAt: c.state.finishedAt,
        };
  }

  const lastProbe = c.health?.log.at(-1);
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
  };
}

function pick(m: { signal: string | null; meaning: string }): { signal: string | null; meaning: string } {
  return { signal: m.signal, meaning: m.meaning };
}

export interface ServiceHealth {
  status: ServiceStatus;
  ok: boolean;
  running: number;
  problems: string[];
}

/** A service's status from its replicas: all fine, some failing ("degraded"), or the worst one. */
export function serviceHealth(
  expected: ExpectedService | undefined,
  containers: ContainerHealth[],
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
  const problems: string[] = [];
  for (const c of containers) {
    const who = containers.length > 1 ? `${c.name}: ` : '';
    if (c.oomKilled) problems.push(`${who}OOM-killed at its memory limit (last exit 137)`);
    if (c.policyExhausted)
      problems.push(
        `${who}restart policy ${c.restartPolicy} exhausted after ${c.restartCount} restarts; the engine will not restart it`,
      );
    else if (c.restartCount > 0) problems.push(`${who}restarted ${c.restartCount} time(s)`);
    if (
      c.lastExit &&
      c.lastExit.code !== null &&
      c.lastExit.code !== 0 &&
      !c.oomKilled &&
      c.status !== 'healthy' &&
      c.status !== 'running'
    )
      problems.push(`${who}exited with ${c.lastExit.code}: ${c.lastExit.meaning}`);
    if (c.status === 'unhealthy')
      problems.push(`${who}health check failing${c.lastHealthOutput ? `: ${c.lastHealthOutput}` : ''}`);
  }
  const running = containers.filter((c) => severity(c.status) <= 1).length;
  const worst = containers.reduce(
    (w, c) => (severity(c.status) > severity(w) ? c.status : w),
    containers[0]!.status,
  );
  // Some replicas fine and some not: the service still serves, but degraded.
  const status: ServiceStatus = severity(worst) >= 3 && running > 0 ? 'degraded' : worst;
  return { status, ok: severity(status) === 0, running, problems };
}

export type Verdict = 'healthy' | 'starting' | 'degraded' | 'down';

/** Down when a critical service serves nothing; degraded for any other problem. */
export function overallVerdict(
  services: Array<{ status: ServiceStatus; critical: boolean; expected: boolean }>,
): Verdict {
  let verdict: Verdict = 'healthy';
  for (const s of services) {
    const sev = severity(s.status);
    if (sev >= 3 && s.critical && s.status !== 'degraded') return 'down';
    if (sev >= 2) verdict = 'degraded';
    else if (sev === 1 && verdict === 'healthy') verdict = 'starting';
  }
  return verdict;
}
