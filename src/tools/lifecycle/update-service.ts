import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { cloneReplica, stopAndRemove, stopContainer } from '../../adapters/docker/replicas.js';
import type { ContainerDetail } from '../../adapters/docker/types.js';
import { durationMs } from '../../config/schema.js';
import { ToolError } from '../../errors.js';
import { canonical } from '../../safety/approver.js';
import type { ToolContext } from '../context.js';
import { defineTool } from '../define-tool.js';
import { serviceField } from '../lib/fields.js';
import { imageOverride, setImageOverride } from '../lib/image-overrides.js';
import { stackKind } from '../lib/stack-kind.js';
import { swarmUpdate, swarmUpdatePlan } from '../lib/swarm-update.js';

/**
 * An image reference as the engine parses it (github.com/distribution/reference): optional registry
 * host[:port], lower-case path components, optional tag, optional digest. Anything else (spaces,
 * newlines, upper case in the name) would reach the engine's URL and fail there obscurely.
 */
const IMAGE_REFERENCE =
  /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::\w[\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,})?$/;

import { redactForProject } from '../lib/secrets.js';

/** The handbook's zero-downtime path fits a stateless service that Docker can tell is healthy. */
function zeroDowntime(d: ContainerDetail): boolean {
  return (
    d.healthcheck !== null &&
    !d.mounts.some((m) => m.type === 'volume' && m.name && !/^[0-9a-f]{64}$/.test(m.name))
  );
}

async function replicasOf(ctx: ToolContext, service: string): Promise<ContainerDetail[]> {
  const list = (await ctx.docker.listStack(ctx.project, ctx.signal)).filter(
    (c) => c.service === service && !c.oneoff && c.state === 'running',
  );
  if (list.length === 0)
    throw new ToolError('not_found', `service ${service} has no running replica in ${ctx.project}`, {
      hint: 'start it first (doom-ops up), or check the service name with stack_health',
    });
  return ctx.docker.inspectMany(
    list.map((c) => c.id),
    ctx.signal,
  );
}

/** Waits until the container is running and healthy (or running, without a healthcheck). */
async function healthy(
  ctx: ToolContext,
  id: string,
  timeoutMs: number,
): Promise<{ ok: boolean; why: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await ctx.docker.inspect(id, ctx.signal);
    // With a healthcheck configured, only Docker's "healthy" counts (Health is absent right after a restart).
    const want = d.healthcheck ? d.health?.status === 'healthy' : true;
    if (d.state.running && want)
      return { ok: true, why: d.healthcheck ? 'healthy' : 'running (no healthcheck)' };
    if (!d.state.running && !d.state.restarting)
      return { ok: false, why: `it exited (code ${d.state.exitCode})` };
    const probeOutput = d.health?.log.at(-1)?.output.trim();
    // The probe's output may print any service's secret (not only the new container's own).
    const lastProbe = async () => probeOutput && (await redactForProject(ctx, probeOutput));
    // Docker says unhealthy only after the start period and the configured retries: final enough.
    if (d.health?.status === 'unhealthy') {
      const last = await lastProbe();
      return { ok: false, why: `unhealthy${last ? `: ${last}` : ''}` };
    }
    if (Date.now() > deadline) {
      const last = await lastProbe();
      return {
        ok: false,
        why: `not healthy within ${timeoutMs / 1000}s (health ${d.health?.status ?? 'none'}${last ? `: ${last}` : ''})`,
      };
    }
    await sleep(500, undefined, { signal: ctx.signal });
  }
}

const outcome = z.object({
  replaced: z.string().describe('the old container'),
  path: z.enum(['zero-downtime', 'stop-start', 'new-replicas-only', 'swarm-rolling-update']),
  result: z
    .enum(['updated', 'rolled_back', 'kept', 'paused'])
    .describe('paused: a Swarm rolling update stopped part way (its tasks may run a mix of images)'),
  container: z.string().describe('the container serving now'),
  image: z.string().describe('the image it runs'),
  detail: z.string(),
});

export const updateService = defineTool({
  name: 'update_service',
  title: 'Update a service to a new image',
  description:
    "The handbook's service update with --no-deps, done safely: each replica is recreated on the new image (same " +
    'configuration, networks and volumes). A stateless service with a healthcheck takes the zero-downtime path (the ' +
    'new container starts beside the old one, the old one goes only once the new one is healthy); others are stopped, ' +
    'replaced and, if the new container does not become healthy in time, the previous container is started again. ' +
    'Either way a failed update rolls back automatically and says why. The agent service is not recreated: running ' +
    'agents keep their image and agents added later (scale_agents) start on the new one. The image must already be ' +
    'on the engine (doom-ops never pulls). The Compose file is not changed: update it too, or the next ' +
    '`compose up` brings the old image back. On a Swarm stack it is a rolling service update (one task at a time, ' +
    'each watched for `timeout`, failure_action rollback), reported until it completes or Swarm has rolled it back.',
  summary:
    'Move a service to a new image already on the engine. Destructive: waits for a human approval, ' +
    'recreates each replica and rolls back on failure; Compose file unchanged.',
  risk: 'destructive',
  stackKinds: ['compose', 'swarm'],
  idempotent: false,
  input: z.object({
    service: serviceField,
    image: z
      .string()
      .min(1)
      .max(300)
      .regex(
        IMAGE_REFERENCE,
        'must be an image reference: [registry[:port]/]name[:tag][@digest], lower-case name, no spaces',
      )
      .describe('The new image reference, e.g. clau-doom/dashboard:1.4.2'),
    timeout: durationMs
      .default(60_000)
      .describe('How long a new container has to become healthy (default 60s)'),
  }),
  output: z.object({
    service: z.string(),
    image: z.string(),
    replicas: z.array(outcome),
    ok: z.boolean(),
    summary: z.string(),
  }),
  async plan(ctx, input) {
    if ((await stackKind(ctx)) === 'swarm') return swarmUpdatePlan(ctx, input);
    await requireImage(ctx, input.image);
    if (input.service === ctx.config.scaling.agentService) {
      const running = await runningAgents(ctx, input.service);
      return {
        summary: `new ${input.service} agents start on ${input.image}; the ${running.length} running keep their image`,
        steps: [
          `record ${input.image} as the image of ${input.service} replicas created from now on (scale_agents, scale_service)`,
          ...running.map((c) => `${c.name}: left running on ${c.image}`),
        ],
        dataAtRisk: [],
        fingerprint: canonical({ image: input.image, service: input.service, agents: true }),
      };
    }
    const list = await replicasOf(ctx, input.service);
    return {
      summary: `update ${input.service} (${list.length} replica(s)) to ${input.image}`,
      steps: list.map((d) =>
        zeroDowntime(d)
          ? `${d.name}: start a new replica on ${input.image} beside it, wait up to ${input.timeout / 1000}s for healthy, then stop and remove ${d.name} (on failure remove the new one; ${d.name} keeps serving)`
          : `${d.name}: stop it (kept), create its replacement on ${input.image}, wait up to ${input.timeout / 1000}s for healthy, then remove the old one (on failure remove the new one and start ${d.name} again)`,
      ),
      dataAtRisk: list
        .filter((d) => !zeroDowntime(d))
        .map((d) => `${d.name} is down while its replacement starts`),
      fingerprint: canonical({ image: input.image, ids: list.map((d) => d.id).sort() }),
    };
  },
  async run(ctx, input) {
    if ((await stackKind(ctx)) === 'swarm') return swarmUpdate(ctx, input);
    if (input.service === ctx.config.scaling.agentService)
      return updateAgentImage(ctx, input.service, input.image);
    const list = await replicasOf(ctx, input.service);
    const all = await ctx.docker.listStack(ctx.project, ctx.signal);
    let next = Math.max(...all.filter((c) => c.service === input.service).map((c) => c.number)) + 1;
    const replicas: Array<z.output<typeof outcome>> = [];
    // Putting a replica back must finish even when the call is cancelled (a cancelled MCP task,
    // notifications/cancelled): undo steps run under their own deadline, never ctx.signal.
    const undo = (): ToolContext => ({ ...ctx, signal: AbortSignal.timeout(input.timeout + 120_000) });
    /** A zero-downtime replica left as it was: the old container never stopped serving. */
    const keptServing = (old: { name: string; image: string }, why: string) => ({
      replaced: old.name,
      path: 'zero-downtime' as const,
      result: 'rolled_back' as const,
      container: old.name,
      image: old.image,
      detail: `${why}; ${old.name} kept serving`,
    });
    for (const old of list) {
      // Cancelled between replicas: stop here; the replicas done so far are reported as they are.
      if (ctx.signal.aborted) break;
      ctx.progress({ progress: replicas.length, total: list.length, message: `updating ${old.name}` });
      if (zeroDowntime(old)) {
        let fresh: { id: string; name: string };
        try {
          fresh = await cloneReplica(ctx.docker, old.id, next++, ctx.signal, { image: input.image });
        } catch (err) {
          if (!ctx.signal.aborted) throw err;
          // cloneReplica removes a half-made replica itself; the old one never stopped.
          replicas.push(keptServing(old, `cancelled before the new replica on ${input.image} started`));
          continue;
        }
        const h = await healthy(ctx, fresh.id, input.timeout).catch((err: Error) => ({
          ok: false,
          why: ctx.signal.aborted ? 'cancelled' : err.message,
        }));
        if (h.ok) {
          // Kept: the old replica's anonymous volumes may hold data the operator wants back.
          await stopAndRemove(ctx.docker, old.id, old.stopTimeoutS ?? undefined, ctx.signal, 'keep');
          replicas.push({
            replaced: old.name,
            path: 'zero-downtime',
            result: 'updated',
            container: fresh.name,
            image: input.image,
            detail: `${fresh.name} healthy; ${old.name} removed`,
          });
        } else {
          await stopAndRemove(ctx.docker, fresh.id, 1, undo().signal);
          replicas.push(keptServing(old, `${fresh.name} on ${input.image}: ${h.why}; removed it`));
        }
        continue;
      }
      // Stop-start: the old container is stopped and renamed, not removed, until the new one is healthy.
      const c = ctx.docker.docker.getContainer(old.id);
      try {
        await stopContainer(ctx.docker, old.id, {
          label: old.name,
          stopTimeoutS: old.stopTimeoutS ?? 10,
          signal: ctx.signal,
        });
        await ctx.docker.call(`rename ${old.name}`, ctx.signal, (s) =>
          c.rename({ name: `${old.name}_doomops_prev`, abortSignal: s } as object),
        );
      } catch (err) {
        // Stopped but not renamed (cancelled, or the engine failed): start it again as it was.
        await ctx.docker.call(`start ${old.name}`, undo().signal, (s) =>
          c.start({ abortSignal: s } as object),
        );
        throw err;
      }
      let fresh: { id: string; name: string } | undefined;
      let h: { ok: boolean; why: string };
      try {
        fresh = await cloneReplica(ctx.docker, old.id, old.number, ctx.signal, {
          image: input.image,
          name: old.name,
        });
        h = await healthy(ctx, fresh.id, input.timeout);
      } catch (err) {
        h = { ok: false, why: ctx.signal.aborted ? 'cancelled' : (err as Error).message };
      }
      if (h.ok && fresh) {
        await ctx.docker.call(`remove ${old.name}`, ctx.signal, (s) =>
          c.remove({ v: false, abortSignal: s } as object),
        );
        replicas.push({
          replaced: old.name,
          path: 'stop-start',
          result: 'updated',
          container: fresh.name,
          image: input.image,
          detail: `${fresh.name} healthy on ${input.image}`,
        });
        continue;
      }
      const back$ = undo();
      if (fresh) await stopAndRemove(ctx.docker, fresh.id, 1, back$.signal);
      await ctx.docker.call(`rename back ${old.name}`, back$.signal, (s) =>
        c.rename({ name: old.name, abortSignal: s } as object),
      );
      await ctx.docker.call(`start ${old.name}`, back$.signal, (s) => c.start({ abortSignal: s } as object));
      const back = await healthy(back$, old.id, input.timeout);
      replicas.push({
        replaced: old.name,
        path: 'stop-start',
        result: 'rolled_back',
        container: old.name,
        image: old.image,
        detail: `new container on ${input.image}: ${h.why}; started ${old.name} again on ${old.image} (${back.ok ? 'healthy' : back.why})`,
      });
    }
    const failed = replicas.filter((r) => r.result === 'rolled_back');
    const untouched = list.length - replicas.length;
    const cancelled =
      untouched > 0 ? `; cancelled: ${untouched} replica(s) not touched, still on their old image` : '';
    return {
      service: input.service,
      image: input.image,
      replicas,
      ok: failed.length === 0 && untouched === 0,
      summary: failed.length
        ? `${input.service}: update to ${input.image} rolled back for ${failed.length} of ${replicas.length} replica(s): ${failed[0]!.detail}${cancelled}`
        : `${input.service}: ${replicas.length} replica(s) now on ${input.image}${cancelled}`,
    };
  },
});

async function requireImage(ctx: ToolContext, image: string): Promise<void> {
  if (!(await ctx.docker.imageId(image, ctx.signal)))
    throw new ToolError('not_found', `image ${image} is not on the engine`, {
      hint: 'build or load it first (docker build / docker load / docker pull); doom-ops never pulls images',
    });
}

async function runningAgents(ctx: ToolContext, service: string) {
  return (await ctx.docker.listStack(ctx.project, ctx.signal))
    .filter((c) => c.service === service && !c.oneoff && c.state === 'running')
    .sort((a, b) => a.number - b.number);
}

/** The handbook's agent image update: running agents finish on their image; new ones use the new one. */
async function updateAgentImage(ctx: ToolContext, service: string, image: string) {
  const running = await runningAgents(ctx, service);
  setImageOverride(ctx, service, {
    image,
    previous: imageOverride(ctx, service)?.image ?? running[0]?.image ?? null,
    setAt: new Date().toISOString(),
    by: ctx.principal.id,
  });
  return {
    service,
    image,
    replicas: running.map((c) => ({
      replaced: c.name,
      path: 'new-replicas-only' as const,
      result: 'kept' as const,
      container: c.name,
      image: c.image,
      detail: `keeps running on ${c.image}`,
    })),
    ok: true,
    summary: `${service}: agents created from now on start on ${image}; ${running.length} running agent(s) keep their image until they finish and are removed (as the handbook's agent image update)`,
  };
}
