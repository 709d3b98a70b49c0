import type { DockerAdapter } from '../../adapters/docker/client.js';
import {
  SwarmAdapter,
  type SwarmNode,
  type SwarmService,
  type SwarmTask,
} from '../../adapters/swarm/client.js';
import { NodeEngines } from '../../adapters/swarm/nodes.js';
import type { DeepCheck } from '../../config/schema.js';
import { explainExitCode } from '../../knowledge/exit-codes.js';
import type { ToolContext } from '../context.js';
import { type DeepCheckResult, runDeepCheck } from './deep-check.js';
import { projectSecrets } from './secrets.js';
import { overallVerdict, type ServiceStatus, statusWithDeepCheck } from './service-status.js';

/** Failed tasks within this window make a service that runs now `restarting` (a crash loop). */
export const SWARM_LOOP_WINDOW_MS = 15 * 60_000;
/** Task states of a task that has not run yet (still being scheduled or set up). */
const NOT_YET = new Set([
  'new',
  'allocated',
  'pending',
  'assigned',
  'accepted',
  'ready',
  'preparing',
  'starting',
]);
const ENDED_BADLY = new Set(['failed', 'rejected', 'orphaned']);

/** One task as health and why report it: where it ran, how it ended, when. */
export interface TaskView {
  id: string;
  slot: number | null;
  node: string | null;
  state: string;
  desiredState: string;
  error: string | null;
  exitCode: number | null;
  exitMeaning: string | null;
  at: string;
}

export interface SwarmServiceHealth {
  service: string;
  status: ServiceStatus;
  ok: boolean;
  mode: 'replicated' | 'global';
  desired: number;
  running: number;
  /** Tasks no node can take now (they wait for a node: constraints, resources). */
  unplaced: number;
  problems: string[];
  update: { state: string; message: string } | null;
  /** The manager's task history for the service, newest first. */
  tasks: TaskView[];
}

/** A node's name for answers: its hostname, or its id when the manager no longer knows it. */
export function nodeName(nodes: SwarmNode[], id: string | null): string | null {
  if (!id) return null;
  return nodes.find((n) => n.id === id)?.hostname ?? `node ${id.slice(0, 12)} (no longer in the swarm)`;
}

/** A task as `docker service ps` would name it, with its node: `<stack>_<service>.<slot>@<node>`. */
export function taskLabel(
  service: string,
  t: { slot: number | null; id: string; nodeId: string | null },
  nodes: SwarmNode[],
): string {
  return `${service}.${t.slot ?? t.id.slice(0, 12)}@${nodeName(nodes, t.nodeId) ?? 'unplaced'}`;
}

export function taskView(t: SwarmTask, nodes: SwarmNode[]): TaskView {
  return {
    id: t.id,
    slot: t.slot,
    node: nodeName(nodes, t.nodeId),
    state: t.state,
    desiredState: t.desiredState,
    error: t.error,
    exitCode: t.exitCode,
    exitMeaning: t.exitCode === null || t.exitCode === 0 ? null : explainExitCode(t.exitCode).meaning,
    at: t.at,
  };
}

/**
 * A Swarm service's health from the manager's own records: desired vs running tasks, tasks that
 * cannot be placed (with the scheduler's reason), tasks that failed, were rejected or orphaned
 * recently (with their exit codes and nodes), and a rolling update paused or rolled back. `now`:
 * ms since the epoch. Pure: no engine calls.
 */
export function swarmServiceHealth(
  svc: SwarmService,
  allTasks: SwarmTask[],
  nodes: SwarmNode[],
  now: number,
): SwarmServiceHealth {
  const tasks = allTasks.filter((t) => t.serviceId === svc.id);
  const current = tasks.filter((t) => t.desiredState === 'running' || t.desiredState === 'ready');
  const running = current.filter((t) => t.state === 'running').length;
  const desired = svc.mode === 'replicated' ? (svc.replicas ?? 0) : current.length;
  const problems: string[] = [];

  // No node could take it (replicated: no node assigned; global: its node lacks the resources).
  const unplaced = current.filter((t) => NOT_YET.has(t.state) && (!t.nodeId || t.error));
  if (unplaced.length) {
    const why = [...new Set(unplaced.map((t) => t.error ?? t.message))].join('; ');
    problems.push(
      `${unplaced.length} of ${desired} task(s) cannot be placed: ${why}${
        svc.constraints.length ? ` (placement constraints: ${svc.constraints.join(', ')})` : ''
      }`,
    );
  }
  const recent = tasks.filter(
    (t) => ENDED_BADLY.has(t.state) && now - Date.parse(t.at) <= SWARM_LOOP_WINDOW_MS,
  );
  if (recent.length) {
    const groups = new Map<string, Map<string, number>>();
    for (const t of recent) {
      const what =
        t.state === 'failed'
          ? `${t.error ?? 'failed'}${t.exitCode !== null ? `: ${explainExitCode(t.exitCode).meaning}` : ''}`
          : `${t.state}: ${t.error ?? t.message}`;
      const byNode = groups.get(what) ?? new Map<string, number>();
      const node = nodeName(nodes, t.nodeId) ?? 'no node';
      byNode.set(node, (byNode.get(node) ?? 0) + 1);
      groups.set(what, byNode);
    }
    for (const [what, byNode] of groups) {
      const n = [...byNode.values()].reduce((a, b) => a + b, 0);
      const where = [...byNode].map(([node, k]) => `${node} ×${k}`).join(', ');
      const oom =
        /exit \(137\)/.test(what) && svc.memoryLimitBytes
          ? ` (memory limit ${Math.round(svc.memoryLimitBytes / 1024 / 1024)} MiB: likely OOM-killed)`
          : '';
      problems.push(`${n} task(s) ended in the last 15 min, ${what}${oom}; on ${where}`);
    }
  }
  for (const t of current)
    if (t.nodeId) {
      const node = nodes.find((n) => n.id === t.nodeId);
      if (node && node.state !== 'ready')
        problems.push(
          `task ${t.slot ?? t.id.slice(0, 12)} is on node ${node.hostname}, which is ${node.state}`,
        );
    }
  if (svc.update && /paused|rollback/.test(svc.update.state))
    problems.push(
      svc.update.state.startsWith('rollback')
        ? `update rolled back (${svc.update.state}): ${svc.update.message}`
        : `update paused: ${svc.update.message}`,
    );

  // Nothing runs and nothing in the window says why: the newest task's end, however old.
  const newest = tasks[0];
  if (desired > 0 && running === 0 && !recent.length && !unplaced.length && newest)
    problems.push(
      `no task runs; the newest (slot ${newest.slot ?? '-'}${newest.nodeId ? ` on ${nodeName(nodes, newest.nodeId)}` : ''}) is ${newest.state} since ${newest.at}${newest.error ? `: ${newest.error}` : ''}${newest.exitCode !== null ? ` (exit ${newest.exitCode})` : ''}`,
    );
  let status: ServiceStatus;
  if (desired === 0) status = 'stopped';
  else if (running === 0)
    status =
      recent.length || (newest && ENDED_BADLY.has(newest.state)) || newest?.state === 'complete'
        ? 'exited'
        : current.some((t) => NOT_YET.has(t.state))
          ? 'created'
          : 'missing';
  else if (running < desired) status = 'degraded';
  else if (recent.some((t) => t.state === 'failed')) status = 'restarting';
  else status = 'running';
  return {
    service: svc.service,
    status,
    ok: status === 'running' && problems.length === 0,
    mode: svc.mode,
    desired,
    running,
    unplaced: unplaced.length,
    problems,
    update: svc.update,
    tasks: tasks.map((t) => taskView(t, nodes)),
  };
}

/** Problems of the swarm itself: nodes down, drained or paused (they take no new tasks). */
export function nodeProblems(nodes: SwarmNode[]): string[] {
  const out: string[] = [];
  for (const n of nodes) {
    if (n.state !== 'ready') out.push(`node ${n.hostname} is ${n.state}`);
    if (n.availability !== 'active')
      out.push(
        `node ${n.hostname} is ${n.availability === 'drain' ? 'drained' : n.availability}: it takes no new tasks`,
      );
  }
  return out;
}

/** What the nodes' engines say of a service's exit-137 tasks: per node, how many were OOM-killed. */
export interface OomConfirmation {
  node: string;
  /** Exit-137 tasks that failed on the node. */
  tasks: number;
  /** Confirmed OOM-killed (State.OOMKilled on the node's engine), with when each ended. */
  oom: string[];
  /** Their containers are no longer on the node. */
  gone: number;
  /** Why the node could not be asked: no endpoint in swarm.nodes, or its engine's error. */
  unasked: string | null;
}

/**
 * For the failed exit-137 tasks among `tasks` (a SIGKILL after a stop's grace period ends in state
 * shutdown and is no incident), asks each node's own engine (engineOf; undefined = no endpoint)
 * whether the task's container was OOM-killed (State.OOMKilled). One row per node.
 */
export async function countOomKills(
  tasks: TaskView[],
  containerIds: Map<string, string | null>,
  engineOf: (node: string | null) => DockerAdapter | undefined,
  signal: AbortSignal,
): Promise<OomConfirmation[]> {
  const byNode = new Map<string, TaskView[]>();
  for (const t of tasks)
    if (t.exitCode === 137 && t.state === 'failed' && t.node)
      byNode.set(t.node, [...(byNode.get(t.node) ?? []), t]);
  const out: OomConfirmation[] = [];
  for (const [node, list] of byNode) {
    const engine = engineOf(node);
    const row: OomConfirmation = { node, tasks: list.length, oom: [], gone: 0, unasked: null };
    out.push(row);
    if (!engine) {
      row.unasked = `node ${node} has no engine endpoint in swarm.nodes`;
      continue;
    }
    for (const t of list) {
      const id = containerIds.get(t.id);
      if (!id) {
        row.gone++;
        continue;
      }
      try {
        if ((await engine.inspect(id, signal)).state.oomKilled) row.oom.push(t.at);
      } catch (err) {
        if ((err as { code?: string }).code === 'not_found') row.gone++;
        else row.unasked ||= `its engine could not be asked: ${(err as Error).message}`;
      }
    }
  }
  return out;
}

/** countOomKills in words for stack_health: one note per node. */
export async function confirmOomKills(
  tasks: TaskView[],
  containerIds: Map<string, string | null>,
  engineOf: (node: string | null) => DockerAdapter | undefined,
  signal: AbortSignal,
): Promise<string[]> {
  return (await countOomKills(tasks, containerIds, engineOf, signal)).map((r) =>
    r.unasked && r.oom.length === 0 && !engineOf(r.node)
      ? `${r.unasked}: whether its ${r.tasks} exit-137 task(s) were OOM-killed cannot be confirmed there`
      : `node ${r.node}: ${r.oom.length} of ${r.tasks} exit-137 task(s) OOM-killed (State.OOMKilled on its engine)${r.gone ? `; ${r.gone} container(s) no longer on it` : ''}${r.unasked ? `; ${r.unasked}` : ''}`,
  );
}

/**
 * A service's deep check on Swarm: http, ollama and mongodb run from doom-ops as on Compose; exec
 * runs in a running task's container through its node's engine (swarm.nodes), failing with the
 * reason when no running task sits on a node with an endpoint.
 */
async function swarmDeepCheck(
  ctx: ToolContext,
  check: DeepCheck,
  serviceId: string,
  tasks: SwarmTask[],
  nodes: SwarmNode[],
  engines: NodeEngines,
  secrets: string[],
): Promise<DeepCheckResult> {
  if (!check.exec) return runDeepCheck(ctx, check, undefined, secrets);
  const running = tasks.filter((t) => t.serviceId === serviceId && t.state === 'running' && t.containerId);
  for (const t of running) {
    const engine = engines.get(nodeName(nodes, t.nodeId));
    if (engine) return runDeepCheck({ ...ctx, docker: engine }, check, t.containerId!, secrets);
  }
  return {
    kind: 'exec',
    ok: false,
    detail: `no running task on a node with an endpoint in swarm.nodes to run ${check.exec.join(' ')} in (running on: ${[...new Set(running.map((t) => nodeName(nodes, t.nodeId)))].join(', ') || 'no node'})`,
    durationMs: 0,
  };
}

/**
 * stack_health for a Swarm stack, from the manager: every service of the stack (and every
 * configured one, `missing` when the stack has no such service) judged by swarmServiceHealth, the
 * nodes, and exit-137 tasks checked for OOM on their node's engine where swarm.nodes names one.
 * Deep checks run as on Compose; an exec check in a running task through its node's engine.
 */
export async function swarmStackHealth(
  ctx: ToolContext,
  only: string | undefined,
  deep: boolean,
  now: number,
) {
  const swarm = new SwarmAdapter(ctx.docker);
  const [services, nodes, secrets] = await Promise.all([
    swarm.services(ctx.project, ctx.signal),
    swarm.nodes(ctx.signal),
    // The stack's secrets (service specs included), so the final masking pass knows them.
    projectSecrets(ctx),
  ]);
  const tasks = await swarm.tasks(
    services.map((s) => s.name),
    ctx.signal,
  );
  const endpoints = ctx.config.swarm?.nodes ?? {};
  const engines = new NodeEngines(endpoints, ctx.config.docker.timeout);
  const containerIds = new Map(tasks.map((t) => [t.id, t.containerId]));
  const names = new Set([...Object.keys(ctx.config.services), ...services.map((s) => s.service)]);
  const wanted = [...names].filter((n) => !only || n === only);
  const notes: string[] = [];
  const out = await Promise.all(
    wanted.map(async (name) => {
      const expected = ctx.config.services[name];
      const svc = services.find((s) => s.service === name);
      const base = {
        service: name,
        expected: Boolean(expected),
        critical: expected?.critical ?? false,
        deepCheck: null,
        containers: [],
      };
      if (!svc)
        return {
          ...base,
          status: 'missing' as const,
          ok: false,
          replicas: { running: 0, total: 0 },
          problems: [`stack ${ctx.project} has no service ${name}`],
        };
      const h = swarmServiceHealth(svc, tasks, nodes, now);
      const recent = h.tasks.filter((t) => now - Date.parse(t.at) <= SWARM_LOOP_WINDOW_MS);
      const oom = await confirmOomKills(recent, containerIds, (n) => engines.get(n), ctx.signal);
      const deepCheck =
        deep && expected?.deepCheck && h.running > 0
          ? await swarmDeepCheck(ctx, expected.deepCheck, svc.id, tasks, nodes, engines, secrets)
          : null;
      return {
        ...base,
        deepCheck,
        status: statusWithDeepCheck(h.status, deepCheck?.ok),
        ok: h.ok && (deepCheck?.ok ?? true),
        replicas: { running: h.running, total: h.desired },
        problems: [
          ...h.problems,
          ...oom,
          ...(deepCheck && !deepCheck.ok ? [`deep check failed: ${deepCheck.detail}`] : []),
        ],
        swarm: { mode: h.mode, desired: h.desired, update: h.update, tasks: h.tasks },
      };
    }),
  );
  const verdict = overallVerdict(out);
  const bad = out.filter((s) => !s.ok);
  const problems = nodeProblems(nodes);
  return {
    verdict,
    summary:
      bad.length === 0
        ? `${out.length} Swarm services OK`
        : `${verdict}: ${bad.map((s) => `${s.service} ${s.status}`).join(', ')} (${out.length - bad.length}/${out.length} OK)`,
    services: out,
    swarm: {
      nodes: nodes.map((n) => ({
        hostname: n.hostname,
        role: n.role,
        state: n.state,
        availability: n.availability,
        endpoint: Boolean(endpoints[n.hostname]),
      })),
      problems,
      notes,
    },
  };
}
