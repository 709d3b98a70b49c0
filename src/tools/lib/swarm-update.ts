import { SwarmAdapter, type SwarmService } from '../../adapters/swarm/client.js';
import { ToolError } from '../../errors.js';
import type { Plan } from '../../safety/approvals.js';
import { canonical } from '../../safety/approver.js';
import { sleep } from '../../util/concurrency.js';
import type { ToolContext } from '../context.js';

/** UpdateStatus states at which a rolling update has ended, one way or the other. */
const ENDED = new Set(['completed', 'rollback_completed', 'paused', 'rollback_paused']);

export async function swarmUpdatePlan(
  ctx: ToolContext,
  input: { service: string; image: string; timeout: number },
): Promise<Plan> {
  const swarm = new SwarmAdapter(ctx.docker);
  const svc = await swarm.service(ctx.project, input.service, ctx.signal);
  const n = svc.replicas ?? 'every';
  return {
    summary: `rolling update of ${svc.name} (${n} task(s)) from ${svc.image} to ${input.image}`,
    steps: [
      `update service ${svc.name}: image ${input.image}, one task at a time (update_config parallelism 1), each watched for ${input.timeout / 1000}s (monitor)`,
      'a task that fails within its watch rolls the whole service back to its previous spec (failure_action: rollback)',
      'wait until the update completes or the rollback does',
    ],
    dataAtRisk: [`each task of ${svc.name} is replaced in turn (Swarm stops the old one as its order says)`],
    fingerprint: canonical({ image: input.image, service: svc.id, from: svc.image, replicas: svc.replicas }),
  };
}

/**
 * update_service on Swarm: a service update to the new image with update_config parallelism 1,
 * monitor = `timeout` and failure_action rollback (rollback_config parallelism 1), then watched
 * (UpdateStatus) until it completes or Swarm has rolled it back, bounded. The image must be on
 * every node that may run a task (doom-ops never pulls; nodes without it fail their task, which
 * rolls the update back). Errors: ToolError timeout when the update neither ends nor rolls back in
 * time (it goes on in Swarm; the answer says where it stands).
 */
export async function swarmUpdate(
  ctx: ToolContext,
  input: { service: string; image: string; timeout: number },
) {
  const swarm = new SwarmAdapter(ctx.docker);
  const svc = await swarm.service(ctx.project, input.service, ctx.signal);
  const monitorNs = input.timeout * 1_000_000;
  const started = Date.now();
  await swarm.updateService(
    svc.id,
    `update ${svc.name} to ${input.image}`,
    (spec) => {
      spec.TaskTemplate.ContainerSpec.Image = input.image;
      spec.UpdateConfig = {
        ...(spec.UpdateConfig ?? {}),
        Parallelism: 1,
        FailureAction: 'rollback',
        Monitor: monitorNs,
        MaxFailureRatio: 0,
      };
      spec.RollbackConfig = { ...(spec.RollbackConfig ?? {}), Parallelism: 1, FailureAction: 'pause' };
    },
    ctx.signal,
  );
  const tasks = Math.max(1, svc.replicas ?? 1);
  // Each task is watched for `timeout`; a rollback replays as many; plus time to start them.
  const deadline = started + tasks * 2 * (input.timeout + 30_000);
  const { state, message } = await waitForUpdate(ctx, swarm, svc, started, deadline, input.image);
  const updated = state === 'completed';
  const rolledBack = state === 'rollback_completed';
  const detail = updated
    ? `${svc.name} runs ${input.image} on every task`
    : rolledBack
      ? `Swarm rolled ${svc.name} back to ${svc.image}: ${message}`
      : `the update stopped (${state}): ${message}; ${svc.name} may run a mix of images, see docker service ps ${svc.name}`;
  return {
    service: input.service,
    image: input.image,
    replicas: [
      {
        replaced: svc.name,
        path: 'swarm-rolling-update' as const,
        result: updated ? ('updated' as const) : ('rolled_back' as const),
        container: svc.name,
        image: updated ? input.image : svc.image,
        detail,
      },
    ],
    ok: updated,
    summary: updated
      ? `${input.service}: every task now on ${input.image} (Swarm rolling update)`
      : rolledBack
        ? `${input.service}: update to ${input.image} failed and was rolled back: ${message}`
        : `${input.service}: update to ${input.image} stopped (${state}): ${message}`,
  };
}

/**
 * Follows a service's rolling update (UpdateStatus) until it has ended (completed, rolled back or
 * paused), with progress. Errors: ToolError timeout past `deadline` (the update goes on in Swarm).
 */
export async function waitForUpdate(
  ctx: ToolContext,
  swarm: SwarmAdapter,
  svc: SwarmService,
  started: number,
  deadline: number,
  to: string,
): Promise<{ state: string; message: string }> {
  for (;;) {
    await sleep(1000, ctx.signal);
    const now = (await swarm.services(ctx.project, ctx.signal)).find((s) => s.id === svc.id);
    const state = now?.update?.state ?? 'updating';
    const message = now?.update?.message ?? '';
    ctx.progress({
      progress: Date.now() - started,
      message: `${svc.name}: ${state}${message ? ` (${message})` : ''}`,
    });
    if (ENDED.has(state)) return { state, message };
    if (Date.now() > deadline)
      throw new ToolError(
        'timeout',
        `the rolling update of ${svc.name} (${to}) is still ${state} after ${Math.round((Date.now() - started) / 1000)} s; Swarm goes on with it`,
        { hint: `follow it with doom-ops health or docker service ps ${svc.name}` },
      );
  }
}
