import { cloneReplica, stopAndRemove } from '../../adapters/docker/replicas.js';
import type { StackContainer } from '../../adapters/docker/types.js';
import type { ExecStep, ScaledService } from '../../config/schema.js';
import { isToolError, ToolError } from '../../errors.js';
import type { Plan } from '../../safety/approvals.js';
import { canonical } from '../../safety/approver.js';
import { mapLimit, sleep } from '../../util/concurrency.js';
import type { ToolContext } from '../context.js';
import { imageOverride } from './image-overrides.js';
import { boundsFor, refuseAboveMax, type ScaleOutput, scaleDownRule } from './scale-bounds.js';
import { redactForProject } from './secrets.js';
import { stackReplicas } from './stack.js';
import { stackKind } from './stack-kind.js';
import { swarmScale, swarmScaleDownReason, swarmScalePlan } from './swarm-scale.js';

export { boundsFor, type ScaleOutput, scaleOutput } from './scale-bounds.js';

const PARALLEL = 5;

/** A named volume (Compose's), not an anonymous one (64 hex characters). */
const isNamedVolume = (m: { type: string; name: string | null }) =>
  m.type === 'volume' && m.name !== null && !/^[0-9a-f]{64}$/.test(m.name);

/**
 * Why a scale-down needs a human (design.md §6), or null when it is a plain write: going to 0,
 * below the configured minimum, removing replicas of a critical service or of one that keeps data
 * in named volumes, or forcing past a failed drain.
 */
export async function scaleDownReason(
  ctx: ToolContext,
  service: string,
  target: number,
  force: boolean,
): Promise<string | null> {
  if (force) return 'force removes replicas even if their drain fails';
  if ((await stackKind(ctx)) === 'swarm') return swarmScaleDownReason(ctx, service, target);
  const current = await replicasOf(ctx, service);
  return scaleDownRule(ctx, service, current.length, target, async () => {
    const details = await ctx.docker.inspectMany(
      current.map((c) => c.id),
      ctx.signal,
    );
    return [...new Set(details.flatMap((d) => d.mounts.filter(isNamedVolume).map((m) => m.name!)))];
  });
}

/** write, or destructive when scaleDownReason gives a reason. */
export async function scaleRisk(
  ctx: ToolContext,
  service: string,
  target: number,
  force: boolean,
): Promise<'write' | 'destructive'> {
  return (await scaleDownReason(ctx, service, target, force)) ? 'destructive' : 'write';
}

async function replicasOf(ctx: ToolContext, service: string): Promise<StackContainer[]> {
  return (await stackReplicas(ctx)).filter((c) => c.service === service).sort((a, b) => a.number - b.number);
}

/**
 * Compose's own rules for more than one replica, checked before anything is created: a service
 * with a fixed container_name cannot have two containers (names are unique), and a service that
 * publishes a fixed host port cannot start a second replica (the port is taken by the first).
 */
export async function refuseUnscalable(
  ctx: ToolContext,
  service: string,
  current: StackContainer[],
  target: number,
): Promise<void> {
  if (target <= Math.max(1, current.length) || current.length === 0) return;
  const template = await ctx.docker.inspect(current[0]!.id, ctx.signal);
  const compose = new RegExp(`^${escapeRegExp(ctx.project)}[_-]${escapeRegExp(service)}[_-]\\d+$`);
  if (!compose.test(template.name))
    throw new ToolError(
      'invalid_input',
      `cannot scale ${service} to ${target}: it has a fixed container_name ("${template.name}"), and container names are unique, so a second replica cannot exist (Compose refuses too); nothing was created`,
      {
        hint: `remove container_name from ${service} in the Compose file and recreate it (docker compose up -d ${service}), then scale`,
      },
    );
  if (template.networkMode === 'host' || /^(container|service):/.test(template.networkMode))
    throw new ToolError(
      'invalid_input',
      `cannot scale ${service} to ${target}: it uses network_mode ${template.networkMode}, so every replica would share one network stack and bind the same ports; nothing was created`,
      {
        hint: `give ${service} its own network (remove network_mode and publish ports) before running more than one replica`,
      },
    );
  const tight = template.portRanges.find((r) => r.to - r.from + 1 < target);
  if (tight)
    throw new ToolError(
      'invalid_input',
      `cannot scale ${service} to ${target}: it publishes the host port range ${tight.hostIp}:${tight.from}-${tight.to}->${tight.containerPort}, which has room for ${tight.to - tight.from + 1} replica(s) (each takes one port of it); nothing was created`,
      {
        hint: `widen the range in ports: of ${service}, or publish only the container port so the engine picks a free one`,
      },
    );
  const fixed = template.portBindings.filter((p) => p.hostPort > 0);
  if (fixed.length)
    throw new ToolError(
      'invalid_input',
      `cannot scale ${service} to ${target}: it publishes fixed host port(s) ${fixed.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}`).join(', ')}, and a second replica cannot bind a port the first one holds; nothing was created`,
      {
        hint: `in the Compose file, publish only the container port (ports: ["${fixed[0]!.containerPort.split('/')[0]}"]) or a host port range so each replica gets its own, or put a load balancer in front; then recreate ${service}`,
      },
    );
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Exactly which containers would be created or drained and removed. */
export async function scalePlan(
  ctx: ToolContext,
  service: string,
  target: number,
  force: boolean,
): Promise<Plan> {
  if ((await stackKind(ctx)) === 'swarm') return swarmScalePlan(ctx, service, target, force);
  const current = await replicasOf(ctx, service);
  await refuseUnscalable(ctx, service, current, target);
  refuseAboveMax(ctx, service, target);
  const why = await scaleDownReason(ctx, service, target, force);
  const override = imageOverride(ctx, service);
  const removing = current.slice(target).reverse();
  const next = Math.max(0, ...current.map((c) => c.number)) + 1;
  const creating = Array.from({ length: Math.max(0, target - current.length) }, (_, i) => next + i);
  const steps = [
    ...creating.map(
      (n) =>
        `create and start ${service} replica ${n} from ${current[0]?.name ?? '(no replica)'}${override ? ` on ${override.image}` : ''}`,
    ),
    ...removing.map(
      (c) =>
        `${force ? 'drain (removed even if the drain fails)' : 'drain'}, stop gracefully and remove ${c.name} with its anonymous volumes (named volumes are kept)`,
    ),
  ];
  return {
    summary: `scale ${service} in ${ctx.project} from ${current.length} to ${target}${why ? ` (needs approval: ${why})` : ''}`,
    steps: steps.length ? steps : ['nothing to do'],
    dataAtRisk: removing.map(
      (c) =>
        `in-flight work of ${c.name}${force ? ' (not waited for if its drain fails)' : ''} and data in its anonymous volumes`,
    ),
    fingerprint: canonical({ target, containers: current.map((c) => c.id).sort() }),
  };
}

function fill(argv: string[], c: StackContainer, project: string): string[] {
  return argv.map((a) =>
    a
      .replaceAll('{container}', c.name)
      .replaceAll('{service}', c.service)
      .replaceAll('{number}', String(c.number))
      .replaceAll('{project}', project),
  );
}

async function execIn(
  ctx: ToolContext,
  step: ExecStep,
  target: StackContainer,
  all: StackContainer[],
): Promise<{ exitCode: number | null; output: string }> {
  const host = all.find((c) => c.service === step.service && c.state === 'running');
  if (!host)
    throw new ToolError('conflict', `drain hook needs a running ${step.service} replica and there is none`);
  const r = await ctx.docker.exec(host.id, fill(step.command, target, ctx.project), {
    signal: ctx.signal,
    timeoutMs: 30_000,
  });
  return {
    exitCode: r.exitCode,
    output: (await redactForProject(ctx, (r.stdout + r.stderr).trim())).slice(0, 300),
  };
}

/** The configured drain: tell the orchestrator, then poll until the replica's work is done. */
async function drain(
  ctx: ToolContext,
  cfg: NonNullable<ScaledService['drain']>,
  c: StackContainer,
  all: StackContainer[],
): Promise<{ ok: boolean; detail: string }> {
  try {
    const told = await execIn(ctx, cfg.exec, c, all);
    if (told.exitCode !== 0)
      return {
        ok: false,
        detail: `drain command exited ${told.exitCode}${told.output ? `: ${told.output}` : ''}`,
      };
    if (!cfg.wait) return { ok: true, detail: 'drain command succeeded' };
    const deadline = Date.now() + cfg.timeout;
    for (;;) {
      const w = await execIn(ctx, cfg.wait, c, all);
      if (w.exitCode === 0) return { ok: true, detail: 'drained: in-flight work finished' };
      if (Date.now() >= deadline)
        return {
          ok: false,
          detail: `drain timed out after ${cfg.timeout} ms (wait check still exits ${w.exitCode})`,
        };
      await sleep(cfg.pollEvery, ctx.signal);
    }
  } catch (err) {
    if (!isToolError(err)) throw err;
    return { ok: false, detail: err.message };
  }
}

export async function scale(
  ctx: ToolContext,
  service: string,
  target: number,
  force: boolean,
): Promise<ScaleOutput> {
  if ((await stackKind(ctx)) === 'swarm') return swarmScale(ctx, service, target, force);
  const bounds = boundsFor(ctx, service);
  refuseAboveMax(ctx, service, target);
  const all = await stackReplicas(ctx);
  const current = all.filter((c) => c.service === service).sort((a, b) => a.number - b.number);
  if (current.length === 0) {
    throw new ToolError('not_found', `service "${service}" has no replica in ${ctx.project} to scale from`, {
      hint: 'create the first one with Compose (docker compose up -d SERVICE), which knows its configuration',
    });
  }
  await refuseUnscalable(ctx, service, current, target);
  // After an agent image update (update_service), new replicas start on the new image.
  const image = imageOverride(ctx, service)?.image ?? null;
  const created: string[] = [];
  const removed: string[] = [];
  const drained: ScaleOutput['drained'] = [];
  let done = 0;

  if (target > current.length) {
    const template = current.find((c) => c.state === 'running') ?? current[0]!;
    const first = Math.max(...current.map((c) => c.number)) + 1;
    const numbers = Array.from({ length: target - current.length }, (_, i) => first + i);
    // In parallel, as Compose does; bounded so a 2-core engine is not flooded.
    const made = await mapLimit(numbers, PARALLEL, async (n) => {
      try {
        const c = await cloneReplica(ctx.docker, template.id, n, ctx.signal, image ? { image } : {});
        ctx.progress({ progress: ++done, total: numbers.length, message: `created ${c.name}` });
        return { name: c.name, error: null };
      } catch (err) {
        if (!isToolError(err)) throw err;
        return { name: null, error: err };
      }
    });
    created.push(...made.flatMap((m) => (m.name ? [m.name] : [])));
    const failed = made.flatMap((m) => (m.error ? [m.error] : []));
    if (failed.length) {
      // Say what exists now: the replicas that did start stay (they are healthy copies).
      const now = (await stackReplicas(ctx)).filter((c) => c.service === service).length;
      throw new ToolError(
        failed[0]!.code,
        `scaling ${service} to ${target} stopped part way: ${created.length} of ${numbers.length} new replica(s) started${created.length ? ` (${created.join(', ')})` : ''}, ${failed.length} failed: ${failed[0]!.message}. ${service} now has ${now} replica(s)`,
        { hint: failed[0]!.hint ?? `fix the cause, then scale again (or scale back to ${current.length})` },
      );
    }
  } else if (target < current.length) {
    const removing = current.slice(target).reverse(); // highest numbers first, as Compose does
    const cfg = bounds.drain;
    if (cfg) {
      for (const c of removing) {
        const started = Date.now();
        ctx.progress({ progress: drained.length, total: removing.length, message: `draining ${c.name}` });
        const r = await drain(ctx, cfg, c, all);
        drained.push({ container: c.name, ...r, seconds: Math.round((Date.now() - started) / 100) / 10 });
      }
      const failed = drained.filter((d) => !d.ok);
      if (failed.length && !force) {
        throw new ToolError(
          'conflict',
          `drain failed for ${failed.map((d) => `${d.container} (${d.detail})`).join(', ')}; nothing was removed`,
          {
            hint: 'retry later, or repeat with force: true to remove them anyway (destructive: needs a human approval)',
          },
        );
      }
    }
    const details = await ctx.docker.inspectMany(
      removing.map((c) => c.id),
      ctx.signal,
    );
    await mapLimit(removing, PARALLEL, async (c, i) => {
      await stopAndRemove(ctx.docker, c.id, details[i]?.stopTimeoutS ?? undefined, ctx.signal);
      ctx.progress({ progress: ++done, total: removing.length, message: `removed ${c.name}` });
    });
    removed.push(...removing.map((c) => c.name));
  }
  const after = (await stackReplicas(ctx))
    .filter((c) => c.service === service)
    .sort((a, b) => a.number - b.number);
  return {
    project: ctx.project,
    service,
    before: current.length,
    after: after.length,
    created,
    removed,
    drained,
    replicas: after.map((c) => ({ name: c.name, number: c.number, state: c.state })),
    image,
  };
}
