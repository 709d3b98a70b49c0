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
      `update service ${svc.name}: image ${input.image}, one task at a time (update_config parallelism 1; each node pulls the image if it does not have it), each watched for ${input.timeout / 1000}s (monitor)`,
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
  if (svc.image === input.image.replace(/@sha256:[0-9a-f]+$/, ''))
    return outcome(input, svc.name, {
      result: 'kept',
      image: svc.image,
      detail: `${svc.name} already runs ${svc.image}: nothing to update`,
      ok: true,
      summary: `${input.service}: already on ${input.image}, nothing was changed`,
    });
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
  // Global services: as many tasks as run now.
  const tasks = Math.max(
    1,
    svc.replicas ??
      (await swarm.tasks([svc.name], ctx.signal)).filter((t) => t.desiredState === 'running').length,
  );
  // Each task is watched for `timeout`; a rollback replays as many; plus time to start them.
  const deadline = started + tasks * 2 * (input.timeout + 30_000);
  const { state, message } = await waitForUpdate(ctx, swarm, svc, started, deadline, input.image);
  const updated = state === 'completed';
  const rolledBack = state === 'rollback_completed';
  const paused = !updated && !rolledBack;
  const detail = updated
    ? `${svc.name} runs ${input.image} on every task`
    : rolledBack
      ? `Swarm rolled ${svc.name} back to ${svc.image}: ${message}`
      : `the update stopped (${state}): ${message}; ${svc.name} may run a mix of images, see docker service ps ${svc.name}`;
  return outcome(input, svc.name, {
    result: updated ? 'updated' : paused ? 'paused' : 'rolled_back',
    image: updated ? input.image : svc.image,
    detail,
    ok: updated,
    summary: updated
      ? `${input.service}: every task now on ${input.image} (Swarm rolling update)`
      : rolledBack
        ? `${input.service}: update to ${input.image} failed and was rolled back: ${message}`
        : `${input.service}: update to ${input.image} stopped (${state}): ${message}`,
  });
}

/** update_service's answer for a Swarm service: one outcome for the service as a whole. */
function outcome(
  input: { service: string; image: string },
  name: string,
  o: {
    result: 'updated' | 'rolled_back' | 'kept' | 'paused';
    image: string;
    detail: string;
    ok: boolean;
    summary: string;
  },
) {
  return {
    service: input.service,
    image: input.image,
    replicas: [
      {
        replaced: name,
        path: 'swarm-rolling-update' as const,
        result: o.result,
        container: name,
        image: o.image,
        detail: o.detail,
      },
    ],
    ok: o.ok,
    summary: o.summary,
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
    // The engine clears UpdateStatus on a spec change and sets it once a rolling update starts; a
    // change that replaces no task starts none.
    if (!now?.update && Date.now() - started > 10_000)
      return { state: 'completed', message: 'no task needed replacing' };
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
