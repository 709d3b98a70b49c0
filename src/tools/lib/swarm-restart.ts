import { SwarmAdapter } from '../../adapters/swarm/client.js';
import { ToolError } from '../../errors.js';
import type { Plan } from '../../safety/approvals.js';
import { canonical } from '../../safety/approver.js';
import { sleep } from '../../util/concurrency.js';
import type { ToolContext } from '../context.js';
import { taskLabel } from './swarm-health.js';
import { waitForUpdate } from './swarm-update.js';

/** Swarm replaces tasks, it does not restart one: a single replica cannot be chosen. */
function refuseReplica(replica: number | undefined, service: string): void {
  if (replica !== undefined)
    throw new ToolError(
      'invalid_input',
      `on a Swarm stack ${service} is restarted as a whole (a forced service update replaces every task); replica ${replica} cannot be restarted alone`,
      { hint: 'leave out replica, or stop that task’s container on its node (Swarm then starts a new one)' },
    );
}

export async function swarmRestartPlan(
  ctx: ToolContext,
  i: { service: string; replica?: number; waitHealthy: number },
): Promise<Plan> {
  refuseReplica(i.replica, i.service);
  const swarm = new SwarmAdapter(ctx.docker);
  const svc = await swarm.service(ctx.project, i.service, ctx.signal);
  const tasks = (await swarm.tasks([svc.name], ctx.signal)).filter((t) => t.desiredState === 'running');
  return {
    summary: `restart ${svc.name} in Swarm stack ${ctx.project} (a forced update replaces its ${tasks.length} task(s))`,
    steps: [
      `docker service update --force ${svc.name}: Swarm replaces each task as its update_config says`,
      `wait up to ${i.waitHealthy}s after the update for every task to run`,
    ],
    dataAtRisk: [`in-flight work of the ${tasks.length} task(s) of ${svc.name}`],
    // Not the task ids: a crash-looping service replaces them between approval and run.
    fingerprint: canonical({ service: svc.id, image: svc.image, replicas: svc.replicas }),
  };
}

/**
 * restart_service on Swarm: a forced service update (TaskTemplate.ForceUpdate + 1, what
 * `docker service update --force` sends), followed until it has ended, then until every desired
 * task runs (bounded by `waitHealthy` seconds). `restarted` names the new tasks.
 */
export async function swarmRestart(
  ctx: ToolContext,
  i: { service: string; replica?: number; waitHealthy: number },
) {
  refuseReplica(i.replica, i.service);
  const swarm = new SwarmAdapter(ctx.docker);
  const svc = await swarm.service(ctx.project, i.service, ctx.signal);
  const [before, nodes] = await Promise.all([swarm.tasks([svc.name], ctx.signal), swarm.nodes(ctx.signal)]);
  const started = Date.now();
  await swarm.updateService(
    svc.id,
    `force an update of ${svc.name}`,
    (spec) => {
      spec.TaskTemplate.ForceUpdate = (spec.TaskTemplate.ForceUpdate ?? 0) + 1;
    },
    ctx.signal,
  );
  const n = Math.max(1, svc.replicas ?? before.filter((t) => t.desiredState === 'running').length);
  const { state, message } = await waitForUpdate(
    ctx,
    swarm,
    svc,
    started,
    started + n * 120_000 + i.waitHealthy * 1000,
    'forced restart',
  );
  const old = new Set(before.map((t) => t.id));
  let fresh = (await swarm.tasks([svc.name], ctx.signal)).filter(
    (t) => !old.has(t.id) && t.desiredState === 'running',
  );
  const deadline = Date.now() + i.waitHealthy * 1000;
  while (Date.now() < deadline && fresh.some((t) => t.state !== 'running')) {
    await sleep(500, ctx.signal);
    fresh = (await swarm.tasks([svc.name], ctx.signal)).filter(
      (t) => !old.has(t.id) && t.desiredState === 'running',
    );
  }
  const restarted = fresh.map((t) => ({
    name: taskLabel(svc.name, t, nodes),
    state: t.state,
    health: null,
    restartedInMs: Date.parse(t.at) - started,
  }));
  if (state !== 'completed')
    throw new ToolError('failed', `the forced update of ${svc.name} ended ${state}: ${message}`, {
      hint: `doom-ops why ${i.service} shows what its new tasks did`,
    });
  return {
    project: ctx.project,
    service: i.service,
    restarted,
    healthy: restarted.length > 0 && restarted.every((r) => r.state === 'running'),
  };
}
