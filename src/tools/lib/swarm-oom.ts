import { SwarmAdapter } from '../../adapters/swarm/client.js';
import { NodeEngines } from '../../adapters/swarm/nodes.js';
import { ToolError } from '../../errors.js';
import { formatBytes } from '../../util/duration.js';
import type { ToolContext } from '../context.js';
import { memoryPeak } from './memory-peak.js';
import { projectSecrets } from './secrets.js';
import { countOomKills, nodeName, swarmServiceHealth, taskLabel } from './swarm-health.js';

const MIB = 1024 * 1024;
const STEP = 64 * MIB;
const HEADROOM = 1.5;

/**
 * diagnose_oom for a Swarm stack (or one service of it) over [since, until] (unix seconds). The
 * evidence is the manager's task history (each task is one start; Swarm keeps the last few per
 * slot): each failed task that exited 137 is checked on its node's own engine (State.OOMKilled;
 * swarm.nodes); a node without an endpoint, or a container gone from it, leaves those kills
 * unconfirmed, and the evidence says so and names the node. The peak is the largest cgroup
 * max_usage of the running tasks (sampled on their nodes' engines), or the limit itself when a
 * task was killed at it. Processes OOM-killed inside a task that kept running are not seen on
 * Swarm (no node events are read): processOomKills is 0 and the evidence says so.
 * Errors: not_found for an unknown service; the manager's.
 */
export async function swarmDiagnoseOom(ctx: ToolContext, only: string | undefined, since: number) {
  const swarm = new SwarmAdapter(ctx.docker);
  const [all, nodes] = await Promise.all([
    swarm.services(ctx.project, ctx.signal),
    swarm.nodes(ctx.signal),
    projectSecrets(ctx),
  ]);
  const services = only ? all.filter((s) => s.service === only) : all;
  if (only && services.length === 0)
    throw new ToolError('not_found', `stack ${ctx.project} has no service ${only}`, {
      hint: `its services: ${all.map((s) => s.service).join(', ') || 'none'}`,
    });
  const tasks = services.length
    ? await swarm.tasks(
        services.map((s) => s.name),
        ctx.signal,
      )
    : [];
  const engines = new NodeEngines(ctx.config.swarm?.nodes ?? {}, ctx.config.docker.timeout);
  const containerIds = new Map(tasks.map((t) => [t.id, t.containerId]));
  const now = Date.now();
  const result = [];
  for (const svc of services) {
    const h = swarmServiceHealth(svc, tasks, nodes, now);
    const inWindow = h.tasks.filter((t) => Date.parse(t.at) >= since * 1000);
    const rows = await countOomKills(inWindow, containerIds, (n) => engines.get(n), ctx.signal);
    const killed137 = rows.reduce((n, r) => n + r.tasks, 0);
    if (killed137 === 0) continue;
    const confirmed = rows.flatMap((r) => r.oom);
    const unconfirmed = rows.filter((r) => r.tasks > r.oom.length);
    const limit = svc.memoryLimitBytes;
    // A running task's cgroup remembers its peak; one killed at the limit peaked at the limit.
    const running = tasks.filter((t) => t.serviceId === svc.id && t.state === 'running' && t.containerId);
    const sampled = await memoryPeak(
      running.flatMap((t) => {
        const engine = engines.get(nodeName(nodes, t.nodeId));
        return engine ? [{ engine, id: t.containerId! }] : [];
      }),
      'a running task',
      ctx.signal,
    );
    let peak: number | null = sampled?.bytes ?? null;
    let peakSource = sampled?.source ?? 'unknown';
    // SIGKILLs at a memory limit: the kernel's OOM killer is by far the likeliest, confirmed or not.
    const hit = confirmed.length > 0 || (limit !== null && unconfirmed.length > 0);
    if (limit !== null && hit && (peak === null || peak < limit)) {
      peak = limit;
      peakSource = 'reached the limit (the tasks were SIGKILLed at it)';
    }
    const suggested =
      limit === null || !hit ? null : Math.ceil((Math.max(limit, peak ?? 0) * HEADROOM) / STEP) * STEP;
    const notes = [
      `the manager's task history (${killed137} task(s) ended with exit 137 in the window; Swarm keeps the last few tasks of each slot)`,
      ...rows.map((r) =>
        r.unasked && r.oom.length === 0
          ? `${r.unasked}: its ${r.tasks} exit-137 task(s) are not confirmed as OOM kills`
          : `node ${r.node}: ${r.oom.length} of ${r.tasks} confirmed OOM-killed on its engine${r.gone ? ` (${r.gone} container(s) no longer there)` : ''}${r.unasked ? ` (${r.unasked})` : ''}`,
      ),
      'processes OOM-killed inside a task that kept running are not seen on Swarm',
    ];
    const failedTasks = h.tasks.filter((t) => t.state === 'failed' && Date.parse(t.at) >= since * 1000);
    const heap =
      svc.service === 'opensearch' && suggested
        ? ` and keep the JVM heap at half: ES_JAVA_OPTS=-Xms${Math.floor(suggested / 2 / MIB)}m -Xmx${Math.floor(suggested / 2 / MIB)}m`
        : '';
    result.push({
      service: svc.service,
      containers: running.map((t) => taskLabel(svc.name, t, nodes)),
      oomKills: confirmed.length,
      processOomKills: 0,
      oomKilledFlag: false,
      previousContainerOomKills: 0,
      running: running.length > 0,
      evidence: notes.join('; '),
      lastOomAt: [...confirmed].sort().at(-1) ?? null,
      memoryLimitBytes: limit,
      observedPeakBytes: peak,
      peakSource,
      restartCount: failedTasks.length,
      // Swarm restarts a failed task until restart_policy.max_attempts (unlimited by default).
      // Swarm gave up (restart_policy.max_attempts reached): no task is wanted running or ready (a
      // task waiting out the restart delay wants `ready`).
      policyExhausted:
        h.running === 0 &&
        h.desired > 0 &&
        h.tasks.every((t) => t.desiredState !== 'running' && t.desiredState !== 'ready'),
      suggestedLimitBytes: suggested,
      suggestedLimit: suggested === null ? null : `${Math.round(suggested / MIB)}M`,
      reasoning:
        limit === null
          ? 'no memory limit is set: the node ran out of memory; set a limit so one service cannot take the node down'
          : !hit
            ? `${killed137} task(s) were SIGKILLed but none is confirmed as an OOM kill and there is no limit to blame`
            : `peak ${formatBytes(peak)} (${peakSource}) against a limit of ${formatBytes(limit)}${unconfirmed.length && confirmed.length === 0 ? ' (the OOM kills are not confirmed: see evidence)' : ''}; ${HEADROOM}x headroom over the larger, rounded up to 64 MiB, gives ${formatBytes(suggested)}`,
      whereToSet: `services.${svc.service}.deploy.resources.limits.memory in the stack file${heap}, then docker stack deploy (doom-ops up); Swarm replaces the tasks with a rolling update`,
    });
  }
  return result;
}
