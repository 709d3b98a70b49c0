import { SwarmAdapter, type SwarmService } from '../../adapters/swarm/client.js';
import { placesOn } from '../../backup/swarm-places.js';
import { ToolError } from '../../errors.js';
import { sleep } from '../../util/concurrency.js';
import type { ToolContext } from '../context.js';
import { redactForProject } from './secrets.js';
import { nodeName, swarmServiceHealth, taskLabel } from './swarm-health.js';

/**
 * The service label stack_down sets, in the same service update that scales a service to 0, to
 * the replica count it had: stack_up scales it back to that count.
 */
export const DOWN_LABEL = 'doom-ops.down.replicas';

/** How long each service's tasks get to stop after its scale to 0, on top of its stop grace period. */
const STOP_SLACK_MS = 30_000;

/**
 * A running container of the stack wherever it runs: on Compose the container on the one engine;
 * on Swarm a running task's container, reached through its node's engine (`ctx.docker` is that
 * engine) or, for a node with no endpoint, unreachable with the reason.
 */
export interface RunningUnit {
  service: string;
  /** The container's name (Compose) or the task's `<stack>_<service>.<slot>@<node>`. */
  name: string;
  id: string;
  /** The context whose engine holds the container; null when it cannot be reached. */
  ctx: ToolContext | null;
  unreachable?: string;
  /** Compose: the container's labels (depends_on). */
  labels?: Record<string, string>;
}

/**
 * Runs `argv` in a running unit's container (on Swarm through its node's engine) and returns its
 * stdout. A ToolError when the unit's engine cannot be reached or the command exits non-zero
 * (naming the command, the container and the exit code, with its output masked and cut).
 */
export async function execInUnit(
  ctx: ToolContext,
  unit: RunningUnit,
  argv: string[],
  timeoutMs: number,
): Promise<string> {
  if (!unit.ctx) throw new ToolError('failed', `cannot exec in ${unit.name}: ${unit.unreachable}`);
  const r = await unit.ctx.docker.exec(unit.id, argv, { signal: ctx.signal, timeoutMs });
  if (r.exitCode !== 0)
    throw new ToolError(
      'failed',
      `${argv.join(' ')} in ${unit.name} exited ${r.exitCode}: ${(await redactForProject(ctx, (r.stderr || r.stdout).trim())).slice(0, 200)}`,
    );
  return r.stdout;
}

/** The Swarm stack's services and their running tasks as RunningUnits (through swarm.nodes). Errors: the manager's. */
export async function swarmRunningUnits(
  ctx: ToolContext,
): Promise<{ services: SwarmService[]; units: RunningUnit[] }> {
  const { services, nodes, tasks } = await new SwarmAdapter(ctx.docker).stack(ctx.project, ctx.signal);
  const hostnames = [...new Set(tasks.map((t) => nodeName(nodes, t.nodeId)).filter((n): n is string => !!n))];
  const at = placesOn(ctx, hostnames);
  const units: RunningUnit[] = [];
  for (const t of tasks) {
    const svc = services.find((s) => s.id === t.serviceId);
    if (!svc || t.state !== 'running' || !t.containerId) continue;
    const node = nodeName(nodes, t.nodeId) ?? '';
    const place = at.places.find((p) => p.node === node);
    const cut = at.unreachable.find((u) => u.node === node);
    units.push({
      service: svc.service,
      name: taskLabel(svc.name, t, nodes),
      id: t.containerId,
      ctx: place?.ctx ?? null,
      ...(place ? {} : { unreachable: cut?.why ?? `node ${node} is not known` }),
    });
  }
  units.sort((a, b) => a.service.localeCompare(b.service) || a.name.localeCompare(b.name));
  return { services, units };
}

/**
 * Scales one replicated Swarm service to 0, recording its count in DOWN_LABEL in the same update,
 * then waits (bounded: its stop grace period plus 30 s) until none of its tasks runs. Returns the
 * tasks that were running. Errors: ToolError timeout naming what still runs; the manager's.
 */
export async function scaleToZero(
  ctx: ToolContext,
  svc: SwarmService,
  stopGraceMs: number,
): Promise<string[]> {
  const swarm = new SwarmAdapter(ctx.docker);
  const nodes = await swarm.nodes(ctx.signal);
  const runningTasks = async () =>
    (await swarm.tasks([svc.name], ctx.signal)).filter((t) => t.state === 'running');
  const before = (await runningTasks()).map((t) => taskLabel(svc.name, t, nodes));
  await swarm.updateService(
    svc.id,
    `scale ${svc.name} to 0`,
    (spec) => {
      const replicas = Number(spec.Mode?.Replicated?.Replicas ?? 0);
      // A second stack_down keeps the count of the first (the service is at 0 by now).
      if (replicas > 0 || !spec.Labels?.[DOWN_LABEL])
        spec.Labels = { ...(spec.Labels ?? {}), [DOWN_LABEL]: String(replicas) };
      spec.Mode = { Replicated: { Replicas: 0 } };
    },
    ctx.signal,
  );
  const deadline = Date.now() + stopGraceMs + STOP_SLACK_MS;
  for (;;) {
    const still = await runningTasks();
    if (still.length === 0) return before;
    if (Date.now() >= deadline)
      throw new ToolError(
        'timeout',
        `${svc.name} is scaled to 0, but ${still.map((t) => taskLabel(svc.name, t, nodes)).join(', ')} still run(s) after ${Math.round((stopGraceMs + STOP_SLACK_MS) / 1000)} s`,
        { hint: `docker service ps ${svc.name} shows why; stack_up scales it back` },
      );
    await sleep(500, ctx.signal);
  }
}

/** Stop grace period of a service (Spec.TaskTemplate.ContainerSpec.StopGracePeriod, ns), in ms; `fallback` when unset. */
export async function stopGraceMs(ctx: ToolContext, svc: SwarmService, fallback: number): Promise<number> {
  const spec = (await ctx.docker.call(`inspect service ${svc.name}`, ctx.signal, (s) =>
    ctx.docker.docker.getService(svc.id).inspect({ abortSignal: s } as object),
  )) as { Spec?: { TaskTemplate?: { ContainerSpec?: { StopGracePeriod?: number } } } };
  const ns = spec.Spec?.TaskTemplate?.ContainerSpec?.StopGracePeriod;
  return typeof ns === 'number' && ns > 0 ? Math.ceil(ns / 1e6) : fallback;
}

/**
 * The counts stack_down recorded (DOWN_LABEL) on the stack's services, by full service name. Read
 * before a deploy: `docker stack deploy` replaces the services' labels. Errors: the manager's.
 */
export async function downCounts(ctx: ToolContext): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const swarm = new SwarmAdapter(ctx.docker);
  for (const svc of await swarm.services(ctx.project, ctx.signal)) {
    const n = Number(svc.labels[DOWN_LABEL]);
    if (svc.labels[DOWN_LABEL] !== undefined && Number.isInteger(n) && n >= 0) out.set(svc.name, n);
  }
  return out;
}

/**
 * Scales each service in `counts` (from downCounts) back to its count, removing DOWN_LABEL in the
 * same update (`keepLabel`: setting it again, after a deploy that failed and replaced it, so the
 * next stack_up still knows the count). Returns "<service> a → n" lines. Errors: the manager's.
 */
export async function scaleBackUp(
  ctx: ToolContext,
  counts: Map<string, number>,
  opts: { keepLabel?: boolean } = {},
): Promise<string[]> {
  const swarm = new SwarmAdapter(ctx.docker);
  const done: string[] = [];
  for (const svc of await swarm.services(ctx.project, ctx.signal)) {
    const n = counts.get(svc.name);
    if (n === undefined || svc.mode !== 'replicated') continue;
    await swarm.updateService(
      svc.id,
      `scale ${svc.name} back to ${n}`,
      (spec) => {
        const labels = { ...(spec.Labels ?? {}) };
        if (opts.keepLabel) labels[DOWN_LABEL] = String(n);
        else delete labels[DOWN_LABEL];
        spec.Labels = labels;
        spec.Mode = { Replicated: { Replicas: n } };
      },
      ctx.signal,
    );
    done.push(`${svc.name} → ${n}`);
  }
  return done;
}

/** How long a task must have run before stack_up counts it ready (a crash loop is up between deaths). */
const SETTLED_MS = 5000;
/** States of a task no node has taken yet. */
const NOT_PLACED = new Set(['new', 'pending']);
/** How long stack_up lets the scheduler place a new task before calling it unplaceable. */
const UNPLACED_MS = 15_000;

/** Task states of a task that ended badly (Swarm will start another). */
const ENDED_BADLY = new Set(['failed', 'rejected', 'orphaned']);

/**
 * Each service's state after a Swarm deploy started at `since` (ms since the epoch), from the
 * manager: ready when as many tasks have run for 5 s as it wants and none ended badly since; failed when one
 * ended badly since, or a task cannot be placed (Swarm keeps trying either way; stack_up stops
 * waiting). `problems`: stack_health's words for the service.
 */
export async function swarmServiceStates(
  ctx: ToolContext,
  since: number,
): Promise<
  Array<{
    service: string;
    state: string;
    health: string | null;
    ready: boolean;
    failed: boolean;
    problems: string[];
  }>
> {
  const { services, nodes, tasks } = await new SwarmAdapter(ctx.docker).stack(ctx.project, ctx.signal);
  const now = Date.now();
  return services.map((svc) => {
    const h = swarmServiceHealth(svc, tasks, nodes, now);
    const died = h.tasks.some((t) => ENDED_BADLY.has(t.state) && Date.parse(t.at) >= since);
    // Running for a while, not just at this instant: a crash loop is up between its deaths.
    const settled = h.tasks.filter(
      (t) => t.state === 'running' && t.desiredState === 'running' && now - Date.parse(t.at) >= SETTLED_MS,
    ).length;
    const ready = settled >= h.desired && !died;
    // A task just created waits for the scheduler a moment; one still waiting after UNPLACED_MS, or
    // with the scheduler's reason (no suitable node), is not going to be placed.
    const stuck = h.tasks.some(
      (t) =>
        t.desiredState === 'running' &&
        NOT_PLACED.has(t.state) &&
        (t.error !== null || (t.node === null && now - Date.parse(t.at) > UNPLACED_MS)),
    );
    return {
      service: svc.service,
      state: `${h.running}/${h.desired} task(s) running`,
      health: null,
      ready,
      failed: !ready && (died || stuck),
      problems: h.problems,
    };
  });
}
