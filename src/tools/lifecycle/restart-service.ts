import { z } from 'zod';
import { restartContainer } from '../../adapters/docker/replicas.js';
import { ToolError } from '../../errors.js';
import { canonical } from '../../safety/approver.js';
import { sleep } from '../../util/concurrency.js';
import type { ToolContext } from '../context.js';
import { defineTool } from '../define-tool.js';
import { replicaField, serviceField } from '../lib/fields.js';
import { containersOf, stackReplicas } from '../lib/stack.js';
import { stackKind } from '../lib/stack-kind.js';
import { swarmRestart, swarmRestartPlan } from '../lib/swarm-restart.js';

const input = z.object({
  service: serviceField,
  replica: replicaField,
  stopTimeout: z
    .number()
    .int()
    .min(0)
    .max(600)
    .optional()
    .describe("Seconds to wait after SIGTERM before SIGKILL (default: the container's own, else 10)"),
  waitHealthy: z
    .number()
    .int()
    .min(0)
    .max(600)
    .default(60)
    .describe('Seconds to wait for the restarted replicas to become healthy'),
});

async function targets(ctx: ToolContext, i: z.output<typeof input>) {
  let list = containersOf(ctx, await stackReplicas(ctx), i.service);
  if (i.replica !== undefined) list = list.filter((c) => c.number === i.replica);
  if (list.length === 0)
    throw new ToolError('not_found', `service "${i.service}" has no replica ${i.replica}`);
  return ctx.docker.inspectMany(
    list.map((c) => c.id),
    ctx.signal,
  );
}

export const restartService = defineTool({
  name: 'restart_service',
  title: 'Restart a service',
  description:
    "Gracefully restart a service's replicas (SIGTERM, then SIGKILL after the stop timeout), then wait for them to be " +
    'running and healthy and report their new state. Destructive: in-flight work is interrupted, so a human must approve ' +
    'the plan. Check explain_restarts / stack_health first; a restart does not fix an OOM or a bad config. On a ' +
    'Swarm stack it is a forced service update (every task replaced as update_config says).',
  summary:
    "Restart a service's replicas gracefully and wait for them to be healthy. Destructive: interrupts " +
    'in-flight work and waits for a human approval; it does not fix an OOM.',
  risk: 'destructive',
  stackKinds: ['compose', 'swarm'],
  idempotent: false,
  input,
  output: z.object({
    project: z.string(),
    service: z.string(),
    restarted: z.array(
      z.object({
        name: z.string(),
        state: z.string(),
        health: z.string().nullable(),
        restartedInMs: z.number(),
      }),
    ),
    healthy: z.boolean().describe('every restarted replica is running and (if it has a healthcheck) healthy'),
  }),
  async plan(ctx, i) {
    if ((await stackKind(ctx)) === 'swarm') return swarmRestartPlan(ctx, i);
    const list = await targets(ctx, i);
    return {
      summary: `restart ${list.length} replica(s) of ${i.service} in ${ctx.project}`,
      steps: list.map(
        (c) =>
          `restart ${c.name} (SIGTERM, SIGKILL after ${i.stopTimeout ?? c.stopTimeoutS ?? 10}s), then wait up to ${i.waitHealthy}s for it to be healthy`,
      ),
      dataAtRisk: list.map((c) => `in-flight work of ${c.name}; it is unavailable while restarting`),
      fingerprint: canonical(list.map((c) => [c.id, c.state.startedAt])),
    };
  },
  async run(ctx, i) {
    if ((await stackKind(ctx)) === 'swarm') return swarmRestart(ctx, i);
    const list = await targets(ctx, i);
    const restarted = [];
    for (const c of list) {
      const t0 = Date.now();
      ctx.progress({ progress: restarted.length, total: list.length, message: `restarting ${c.name}` });
      await restartContainer(ctx.docker, c.id, i.stopTimeout ?? c.stopTimeoutS ?? 10, ctx.signal);
      const deadline = Date.now() + i.waitHealthy * 1000;
      let d = await ctx.docker.inspect(c.id, ctx.signal);
      while (Date.now() < deadline && (!d.state.running || (d.health && d.health.status !== 'healthy'))) {
        await sleep(500, ctx.signal);
        d = await ctx.docker.inspect(c.id, ctx.signal);
      }
      restarted.push({
        name: d.name,
        state: d.state.status,
        health: d.health?.status ?? null,
        restartedInMs: Date.now() - t0,
      });
    }
    return {
      project: ctx.project,
      service: i.service,
      restarted,
      healthy: restarted.every((r) => r.state === 'running' && (r.health === null || r.health === 'healthy')),
    };
  },
});
