import { SwarmAdapter, type SwarmService } from '../../adapters/swarm/client.js';
import { ToolError } from '../../errors.js';
import type { Plan } from '../../safety/approvals.js';
import { canonical } from '../../safety/approver.js';
import { sleep } from '../../util/concurrency.js';
import type { ToolContext } from '../context.js';
import { boundsFor, refuseAboveMax, type ScaleOutput, scaleDownRule } from './scale-bounds.js';

/** How long scaling waits for Swarm to reach the new count before it reports where it stands. */
const CONVERGE_MS = 120_000;

/** The stack's service `service`, replicated; ToolError not_found / invalid_input otherwise. */
async function replicatedService(
  ctx: ToolContext,
  swarm: SwarmAdapter,
  service: string,
): Promise<SwarmService> {
  const svc = await swarm.service(ctx.project, service, ctx.signal);
  if (svc.mode !== 'replicated')
    throw new ToolError(
      'invalid_input',
      `${svc.name} is a global service (one task per eligible node): it has no replica count to set`,
      { hint: 'change which nodes it runs on (placement constraints, node availability) instead' },
    );
  return svc;
}

/**
 * Why a Swarm scale-down needs a human: the same rules as on Compose (to 0, below the minimum, a
 * critical service, named volumes), read from the service spec. Null for a plain write.
 */
export async function swarmScaleDownReason(
  ctx: ToolContext,
  service: string,
  target: number,
): Promise<string | null> {
  const swarm = new SwarmAdapter(ctx.docker);
  const svc = await replicatedService(ctx, swarm, service);
  return scaleDownRule(ctx, service, svc.replicas ?? 0, target, async () => svc.volumes);
}

/** The plan of a Swarm scale: one service update of its replica count. */
export async function swarmScalePlan(
  ctx: ToolContext,
  service: string,
  target: number,
  force: boolean,
): Promise<Plan> {
  const swarm = new SwarmAdapter(ctx.docker);
  const svc = await replicatedService(ctx, swarm, service);
  refuseAboveMax(ctx, service, target);
  refuseDrainOnSwarm(ctx, service, svc.replicas ?? 0, target, force);
  const why = await swarmScaleDownReason(ctx, service, target);
  const current = svc.replicas ?? 0;
  return {
    summary: `scale ${service} in Swarm stack ${ctx.project} from ${current} to ${target}${why ? ` (needs approval: ${why})` : ''}`,
    steps:
      current === target
        ? ['nothing to do']
        : [
            `update service ${svc.name}: replicas ${current} -> ${target} (Swarm starts or stops the tasks itself, following its update_config)`,
            'wait until the running tasks match',
          ],
    dataAtRisk:
      target < current
        ? [`in-flight work of the ${current - target} task(s) Swarm stops (Swarm chooses which)`]
        : [],
    fingerprint: canonical({ target, service: svc.id, replicas: current }),
  };
}

/**
 * A drain hook runs for the replicas being removed, but Swarm chooses which tasks it stops, so the
 * drained ones might not be the stopped ones: refused unless `force` (which needs a human).
 */
function refuseDrainOnSwarm(
  ctx: ToolContext,
  service: string,
  current: number,
  target: number,
  force: boolean,
): void {
  if (target < current && boundsFor(ctx, service).drain && !force)
    throw new ToolError(
      'invalid_input',
      `${service} has a drain hook (scaling.services.${service}.drain), and on Swarm the engine chooses which tasks a scale-down stops, so doom-ops cannot drain the ones that will stop; nothing was changed`,
      {
        hint: 'drain the work by hand, then repeat with force: true (needs a human approval), or scale while the pool is idle',
      },
    );
}

/**
 * scale_agents / scale_service on Swarm: the service's own replica count (one atomic service
 * update; Swarm creates or stops the tasks), then waits, bounded, until that many tasks run.
 * `created` / `removed` name the task slots that appeared or went (`<stack>_<service>.<slot>`).
 */
export async function swarmScale(
  ctx: ToolContext,
  service: string,
  target: number,
  force: boolean,
): Promise<ScaleOutput> {
  const swarm = new SwarmAdapter(ctx.docker);
  const svc = await replicatedService(ctx, swarm, service);
  refuseAboveMax(ctx, service, target);
  const before = svc.replicas ?? 0;
  refuseDrainOnSwarm(ctx, service, before, target, force);
  // Running tasks, whatever the orchestrator wants of them: one being stopped still runs (and
  // `docker service ls` counts it) until its container has exited.
  const runningSlots = async () =>
    (await swarm.tasks([svc.name], ctx.signal))
      .filter((t) => t.state === 'running')
      .map((t) => t.slot ?? 0)
      .sort((a, b) => a - b);
  const had = await runningSlots();
  if (before !== target) {
    await swarm.updateService(
      svc.id,
      `set ${svc.name} replicas to ${target}`,
      (spec) => {
        spec.Mode = { Replicated: { Replicas: target } };
      },
      ctx.signal,
    );
  }
  let now = had;
  const deadline = Date.now() + CONVERGE_MS;
  for (;;) {
    now = await runningSlots();
    ctx.progress({
      progress: now.length,
      total: target,
      message: `${now.length} of ${target} task(s) running`,
    });
    if (now.length === target) break;
    if (Date.now() >= deadline)
      throw new ToolError(
        'timeout',
        `${svc.name} is set to ${target} replicas, but after ${CONVERGE_MS / 1000} s ${now.length} task(s) run`,
        {
          hint: `doom-ops health shows why the others do not (no suitable node, failing tasks); docker service ps ${svc.name}`,
        },
      );
    await sleep(1000, ctx.signal);
  }
  const name = (slot: number) => `${svc.name}.${slot}`;
  return {
    project: ctx.project,
    service,
    before,
    after: now.length,
    created: now.filter((s) => !had.includes(s)).map(name),
    removed: had.filter((s) => !now.includes(s)).map(name),
    drained: [],
    replicas: now.map((s) => ({ name: name(s), number: s, state: 'running' })),
    image: null,
  };
}
