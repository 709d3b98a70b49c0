import { SwarmAdapter } from '../../adapters/swarm/client.js';
import { NodeEngines } from '../../adapters/swarm/nodes.js';
import { explainExitCode } from '../../knowledge/exit-codes.js';
import { parseTimePoint } from '../../util/duration.js';
import type { ToolContext } from '../context.js';
import { projectSecrets } from './secrets.js';
import { swarmServiceHealth, type TaskView } from './swarm-health.js';

type Cause = 'oom' | 'operator' | 'signal' | 'app_error' | 'clean_exit' | 'unknown';

/**
 * explain_restarts for a service of a Swarm stack. On Swarm a restart is a new task: the
 * manager's task history for the service (Swarm keeps 5 per slot by default, task-history-limit)
 * is the restart history. Each failed or completed task in the window is a death with its exit
 * code and node; an exit 137 is confirmed as an OOM kill on the node's own engine (State.OOMKilled)
 * where config swarm.nodes names it, and otherwise said to be unconfirmed, naming the node. Tasks
 * no node could take make the verdict never_started with the scheduler's reason. Log lines before
 * each death are not read on Swarm yet (logBefore is empty; say so). Throws not_found when the
 * stack has no such service.
 */
export async function swarmExplainRestarts(ctx: ToolContext, service: string, sinceText: string) {
  const now = Date.now();
  const since = parseTimePoint(sinceText, now)!;
  const swarm = new SwarmAdapter(ctx.docker);
  const [svc, nodes] = await Promise.all([
    swarm.service(ctx.project, service, ctx.signal),
    swarm.nodes(ctx.signal),
  ]);
  const [tasks] = await Promise.all([swarm.tasks([svc.name], ctx.signal), projectSecrets(ctx)]);
  const h = swarmServiceHealth(svc, tasks, nodes, now);
  const inWindow = h.tasks.filter((t) => Date.parse(t.at) >= since * 1000);
  const endpoints = ctx.config.swarm?.nodes ?? {};
  const engines = new NodeEngines(endpoints, ctx.config.docker.timeout);
  const containerOf = new Map(tasks.map((t) => [t.id, t.containerId]));

  const missing: string[] = [];
  const unconfirmedNodes = new Set<string>();
  // A rejected task (no image, a mount that cannot be made…) is a start that failed: a death too.
  const ended = inWindow
    .filter((t) => t.state === 'failed' || t.state === 'complete' || t.state === 'rejected')
    .reverse();
  const deaths = [];
  for (const t of ended) {
    const code = t.exitCode;
    let cause: Cause =
      t.state === 'rejected'
        ? 'app_error'
        : code === 0 && t.state === 'failed'
          ? 'unknown'
          : code === 0
            ? 'clean_exit'
            : code === 137 || code === 143
              ? 'signal'
              : 'app_error';
    let note: string | null =
      t.state === 'rejected'
        ? `rejected: it never started (${t.error ?? t.state})`
        : code === 0 && t.state === 'failed'
          ? `failed although its process exited 0: Swarm ended it (${t.error ?? t.state})`
          : null;
    if (code === 137) {
      const engine = engines.get(t.node);
      const id = containerOf.get(t.id);
      if (!engine) {
        if (t.node) unconfirmedNodes.add(t.node);
        note = `SIGKILL; node ${t.node ?? '?'} has no engine endpoint in swarm.nodes, so an OOM kill cannot be confirmed${
          svc.memoryLimitBytes
            ? ` (its memory limit is ${mib(svc.memoryLimitBytes)}: most likely the OOM killer)`
            : ''
        }`;
      } else if (id) {
        const oom = await engine
          .inspect(id, ctx.signal)
          .then((d) => d.state.oomKilled)
          .catch(() => undefined);
        if (oom === true) {
          cause = 'oom';
          note = `OOMKilled on ${t.node}'s engine`;
        } else if (oom === false) note = `not OOM-killed (State.OOMKilled false on ${t.node}'s engine)`;
        else note = `its container is no longer on ${t.node}, so an OOM kill cannot be confirmed`;
      }
    }
    deaths.push({
      time: t.at,
      container: taskName(svc.name, t),
      exitCode: code,
      meaning: code === null ? (t.error ?? t.state) : explainExitCode(code, cause === 'oom').meaning,
      cause,
      signal: code !== null && code > 128 ? (explainExitCode(code).signal ?? null) : null,
      viaApi: false,
      runStartedAt: null,
      source: 'state' as const,
      stopTimeout: null,
      processOomKills: 0,
      note,
      logBefore: [] as string[],
    });
  }
  for (const node of unconfirmedNodes)
    missing.push(`node ${node} has no engine endpoint in swarm.nodes: OOM kills there cannot be confirmed`);
  // Swarm keeps a few tasks per slot (task-history-limit, 5 by default): a slot whose history is
  // full and starts inside the window has lost older tasks.
  const bySlot = new Map<string, TaskView[]>();
  for (const t of h.tasks)
    bySlot.set(String(t.slot ?? t.node), [...(bySlot.get(String(t.slot ?? t.node)) ?? []), t]);
  const cut = [...bySlot.values()].filter((l) => l.length >= 5 && Date.parse(l.at(-1)!.at) > since * 1000);
  if (cut.length)
    missing.push(
      `the manager keeps only the last tasks of each slot (task-history-limit): ${cut.length} slot(s) lost older tasks in the window, so there were at least ${deaths.length} death(s)`,
    );

  const unplaced = inWindow.filter(
    (t) =>
      t.error &&
      t.desiredState === 'running' &&
      !['running', 'complete', 'failed', 'shutdown'].includes(t.state),
  );
  // No task of the service ever ran a process (in what the manager still holds).
  const neverRan = h.running === 0 && !h.tasks.some((t) => t.exitCode !== null || t.state === 'running');
  const rejected = ended.filter((t) => t.state === 'rejected');
  const failed = deaths.filter((d) => d.cause !== 'clean_exit');
  const oom = failed.filter((d) => d.cause === 'oom').length;
  const sigkill = failed.filter((d) => d.exitCode === 137).length;
  const startFailure = unplaced[0]?.error ?? rejected.at(-1)?.error ?? null;
  const kind =
    neverRan && startFailure
      ? ('never_started' as const)
      : oom > 0
        ? ('oom_killed' as const)
        : sigkill > 0
          ? ('killed_by_signal' as const)
          : failed.length
            ? ('app_error' as const)
            : deaths.length > 1
              ? ('clean_exit_loop' as const)
              : ('no_restarts' as const);
  const where = [...new Set(ended.filter((t) => t.exitCode !== 0).map((t) => t.node ?? 'no node'))].join(
    ', ',
  );
  const summary =
    kind === 'never_started'
      ? `${service} never started: ${unplaced.length ? `no node can take its task(s): ${startFailure}` : `its tasks are rejected: ${startFailure}`}`
      : kind === 'oom_killed'
        ? `${service} was OOM-killed ${oom} time(s) in the window (of ${failed.length} failed task(s), on ${where}); Swarm started a new task each time`
        : kind === 'killed_by_signal'
          ? `${service}'s tasks were SIGKILLed (exit 137) ${sigkill} time(s) on ${where}${
              svc.memoryLimitBytes
                ? `: with a ${mib(svc.memoryLimitBytes)} limit most likely the OOM killer, not confirmed`
                : ''
            }`
          : kind === 'app_error'
            ? `${service}'s tasks failed ${failed.length} time(s): ${failed.at(-1)!.meaning}`
            : kind === 'clean_exit_loop'
              ? `${service}'s tasks exited 0 ${deaths.length} time(s) and Swarm started them again`
              : `${service}: no failed task in the window`;
  const nextSteps =
    kind === 'oom_killed' || (kind === 'killed_by_signal' && svc.memoryLimitBytes)
      ? [
          `raise deploy.resources.limits.memory of ${service} (now ${svc.memoryLimitBytes ? mib(svc.memoryLimitBytes) : 'unlimited'}) or reduce its memory use`,
          ...(unconfirmedNodes.size
            ? [
                `add the nodes' engines to swarm.nodes to confirm OOM kills: ${[...unconfirmedNodes].join(', ')}`,
              ]
            : []),
        ]
      : kind === 'never_started'
        ? unplaced.length
          ? [`lower the service's reservations or placement constraints, or add a node that meets them`]
          : [
              `fix what the rejection says (the image on every node, mounts, secrets), then docker service update --force ${svc.name}`,
            ]
        : kind === 'app_error'
          ? [`read its logs: doom-ops logs ${service}`]
          : [];
  return {
    project: ctx.project,
    service,
    window: {
      since: new Date(since * 1000).toISOString(),
      until: new Date(now).toISOString(),
      fromRecorder: 0,
    },
    containers: [],
    timeline: inWindow
      .slice()
      .reverse()
      .map((t) => ({
        time: t.at,
        container: taskName(svc.name, t),
        action: t.state,
        detail: [t.error, t.exitCode !== null ? `exit ${t.exitCode}` : ''].filter(Boolean).join('; '),
      })),
    deaths,
    previousContainers: [],
    processOomKills: 0,
    logsUnavailable:
      'log lines before each death are not read on a Swarm stack yet (doom-ops logs reads the service logs)',
    evidenceComplete: missing.length === 0,
    missingEvidence: missing,
    verdict: {
      kind,
      policyExhausted: false,
      serviceDown: h.running === 0,
      summary: `${summary}.${missing.length ? ` Evidence is incomplete: ${missing[0]}.` : ''}`,
      evidence: [
        `${h.running} of ${h.desired} task(s) running; ${inWindow.length} task(s) in the window (Swarm's task history)`,
        ...h.problems,
        ...missing.map((m) => `missing evidence: ${m}`),
      ],
      nextSteps,
    },
    tasks: inWindow,
  };
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}

/** `<stack>_<service>.<slot> on <node>`, the way `docker service ps` names a task. */
function taskName(serviceName: string, t: TaskView): string {
  return `${serviceName}.${t.slot ?? t.id.slice(0, 12)}${t.node ? ` on ${t.node}` : ''}`;
}
