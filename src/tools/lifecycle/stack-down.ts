import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { LABEL } from '../../adapters/docker/labels.js';
import { stopContainer } from '../../adapters/docker/replicas.js';
import type { StackContainer } from '../../adapters/docker/types.js';
import { redactMongoUri } from '../../adapters/mongodb/client.js';
import type { SwarmService } from '../../adapters/swarm/client.js';
import { checkpointAgent } from '../../backup/components/duckdb.js';
import { snapshots } from '../../backup/components/opensearch.js';
import { ToolError } from '../../errors.js';
import { canonical } from '../../safety/approver.js';
import type { ToolContext } from '../context.js';
import { defineTool } from '../define-tool.js';
import { parseDependsOnLabel } from '../lib/dependencies.js';
import { drainJetStream, jetStreamPlan } from '../lib/jetstream.js';
import { fsyncThroughDriver } from '../lib/mongo-fsync.js';
import { stackKind } from '../lib/stack-kind.js';
import {
  DOWN_LABEL,
  execInUnit,
  type RunningUnit,
  scaleToZero,
  stopGraceMs,
  swarmRunningUnits,
} from '../lib/swarm-lifecycle.js';

const step = z.object({
  step: z.string(),
  ok: z.boolean(),
  skipped: z.boolean(),
  detail: z.string(),
  durationMs: z.number(),
});
type Step = z.output<typeof step>;

/**
 * Services in the order to stop them: dependents before what they depend on (the handbook's DAG
 * from config, or Compose v2's depends_on label), ties by name.
 */
export function stopOrder(services: string[], deps: (service: string) => string[]): string[] {
  const depth = new Map<string, number>();
  const visit = (s: string, seen: Set<string>): number => {
    if (depth.has(s)) return depth.get(s)!;
    if (seen.has(s)) return 0; // a cycle: break it rather than loop
    seen.add(s);
    const d =
      Math.max(
        -1,
        ...deps(s)
          .filter((x) => services.includes(x))
          .map((x) => visit(x, seen)),
      ) + 1;
    depth.set(s, d);
    return d;
  };
  for (const s of services) visit(s, new Set());
  return [...services].sort((a, b) => depth.get(b)! - depth.get(a)! || a.localeCompare(b));
}

async function running(ctx: ToolContext): Promise<StackContainer[]> {
  return (await ctx.docker.listStack(ctx.project, ctx.signal)).filter(
    (c) => c.state === 'running' && !c.oneoff,
  );
}

function order(
  ctx: ToolContext,
  list: Array<{ service: string; labels?: Record<string, string> }>,
  all?: string[],
): string[] {
  const services = all ?? [...new Set(list.map((c) => c.service))];
  return stopOrder(services, (s) => {
    const label = list.find((c) => c.service === s && c.labels?.[LABEL.dependsOn])?.labels?.[LABEL.dependsOn];
    const fromLabel = parseDependsOnLabel(label).map((d) => d.service);
    return fromLabel.length ? fromLabel : (ctx.config.services[s]?.dependsOn ?? []);
  });
}

const MONGOSH_FSYNC = ['mongosh', '--quiet', '--eval', 'db.adminCommand({fsync: 1})'];

/** How the flush fsyncs MongoDB (lifecycle.mongoFsync): through the driver, an argv to exec, or null (disabled). */
function mongoFsyncHow(ctx: ToolContext): 'driver' | string[] | null {
  const f = ctx.config.lifecycle.mongoFsync;
  if (f === 'driver' || (f === 'auto' && ctx.config.mongodb.uri)) return 'driver';
  if (f === 'auto') return MONGOSH_FSYNC;
  return f.length ? f : null;
}

function mongoFsyncPlan(ctx: ToolContext): string {
  const how = mongoFsyncHow(ctx);
  if (how === null) return 'fsync MongoDB: disabled';
  if (how === 'driver')
    return `fsync MongoDB through the driver at ${ctx.config.mongodb.uri ? redactMongoUri(ctx.config.mongodb.uri) : 'mongodb.uri (not set: the step fails)'}`;
  return `fsync MongoDB: ${how.join(' ')} in ${ctx.config.backup.mongodb.service}${ctx.config.lifecycle.mongoFsync === 'auto' ? ' (set mongodb.uri to fsync through the driver instead)' : ''}`;
}

function plannedSteps(
  ctx: ToolContext,
  list: Array<{ service: string; labels?: Record<string, string> }>,
  swarm = false,
): string[] {
  const l = ctx.config.lifecycle;
  const b = ctx.config.backup;
  return [
    l.stopAcceptingWork
      ? `stop accepting work: ${l.stopAcceptingWork.argv.join(' ')} in ${l.stopAcceptingWork.service}`
      : 'stop accepting work: not configured (lifecycle.stopAcceptingWork), skipped',
    l.inFlight
      ? `wait up to ${l.inFlight.timeout / 1000}s for in-flight episodes: ${l.inFlight.argv.join(' ')} in ${l.inFlight.service} until it exits 0`
      : 'wait for in-flight episodes: not configured (lifecycle.inFlight), skipped',
    jetStreamPlan(l.jetstream, swarm),
    b.duckdb.checkpoint.length
      ? `CHECKPOINT the DuckDB play log of every running ${b.duckdb.service}`
      : 'CHECKPOINT DuckDB play logs: not configured (backup.duckdb.checkpoint), skipped',
    l.opensearchFlush ? `flush OpenSearch (${b.opensearch.url}/_flush)` : 'flush OpenSearch: disabled',
    mongoFsyncPlan(ctx),
    `stop, dependents first: ${order(ctx, list).join(' -> ')} (each with its stop timeout, else ${l.stopTimeout / 1000}s); volumes are kept`,
  ];
}

export const stackDown = defineTool({
  name: 'stack_down',
  title: 'Shut the stack down gracefully',
  description:
    "The handbook's graceful shutdown and data flush: stop accepting work (configured command), wait for in-flight " +
    "episodes (configured check, bounded), wait (bounded) until no NATS JetStream consumer has messages awaiting ack (the server's /jsz), " +
    'CHECKPOINT every agent DuckDB, flush OpenSearch, fsync MongoDB, then stop ' +
    'the services dependents-first with their stop timeouts. Containers are stopped, not removed; volumes are never ' +
    'touched. Destructive: needs a human approval. A failed flush step stops the shutdown before any service stops ' +
    "unless force is set. On a Swarm stack the flush steps exec in the task containers through their nodes' engines " +
    '(swarm.nodes), and each replicated service is scaled to 0 in the same order, each waited for; the count it had is ' +
    `kept in its ${DOWN_LABEL} label for stack_up; global services are left running; docker stack rm is never run.`,
  summary:
    'Use to shut the whole stack down gracefully: flush data, then stop services dependents-first. ' +
    'Destructive: waits for a human approval; containers and volumes are kept.',
  risk: 'destructive',
  idempotent: false,
  stackKinds: ['compose', 'swarm'],
  input: z.object({
    force: z.boolean().default(false).describe('Stop the services even when a drain or flush step failed'),
  }),
  output: z.object({
    project: z.string(),
    steps: z.array(step),
    stopped: z.array(z.object({ service: z.string(), container: z.string(), at: z.string() })),
    volumesRemoved: z.literal(0),
    summary: z.string(),
  }),
  async plan(ctx, input) {
    if ((await stackKind(ctx)) === 'swarm') {
      const { services, units } = await swarmRunningUnits(ctx);
      const global = services.filter((s) => s.mode === 'global').map((s) => s.name);
      return {
        summary: `graceful shutdown of Swarm stack ${ctx.project}: ${units.length} running task(s) of ${services.length} service(s)${input.force ? ' (force)' : ''}`,
        steps: [
          ...plannedSteps(ctx, units, true).slice(0, -1),
          `scale to 0, dependents first, each waited for: ${order(
            ctx,
            units,
            services.filter((s) => s.mode === 'replicated').map((s) => s.service),
          ).join(
            ' -> ',
          )} (the count each had is kept in its ${DOWN_LABEL} label for stack_up); volumes and the services themselves are kept (never docker stack rm)`,
          ...(global.length
            ? [`global services are left running (Swarm has no count to lower): ${global.join(', ')}`]
            : []),
        ],
        dataAtRisk: [
          'the stack is down until started again (doom-ops up); in-flight episodes past the wait are cut',
        ],
        // The services and their counts: task containers change with every restart of a crash loop.
        fingerprint: canonical(services.map((s) => [s.id, s.mode, s.replicas]).sort()),
      };
    }
    const list = await running(ctx);
    return {
      summary: `graceful shutdown of ${ctx.project}: ${list.length} running container(s)${input.force ? ' (force)' : ''}`,
      steps: plannedSteps(ctx, list),
      dataAtRisk: [
        'the stack is down until started again (doom-ops up); in-flight episodes past the wait are cut',
      ],
      fingerprint: canonical(list.map((c) => c.id).sort()),
    };
  },
  async run(ctx, input) {
    const l = ctx.config.lifecycle;
    const b = ctx.config.backup;
    const swarm = (await stackKind(ctx)) === 'swarm';
    // What runs, wherever it runs: on Swarm each task's container through its node's engine.
    const found = swarm ? await swarmRunningUnits(ctx) : null;
    const list: RunningUnit[] = found
      ? found.units
      : (await running(ctx)).map((c) => ({
          service: c.service,
          name: c.name,
          id: c.id,
          ctx,
          labels: c.labels,
        }));
    const steps: Step[] = [];
    const byService = (s: string) =>
      list.find((c) => c.service === s && c.ctx) ?? list.find((c) => c.service === s);
    const doStep = async (name: string, skip: string | null, work: () => Promise<string>) => {
      const t0 = Date.now();
      ctx.progress({ progress: steps.length, message: name });
      if (skip) return void steps.push({ step: name, ok: true, skipped: true, detail: skip, durationMs: 0 });
      try {
        steps.push({
          step: name,
          ok: true,
          skipped: false,
          detail: await work(),
          durationMs: Date.now() - t0,
        });
      } catch (err) {
        if (!(err instanceof Error)) throw err;
        if (ctx.signal.aborted)
          throw new ToolError(
            'cancelled',
            `stack_down was cancelled during "${name}"; no service was stopped`,
          );
        steps.push({
          step: name,
          ok: false,
          skipped: false,
          detail: (err as Error).message,
          durationMs: Date.now() - t0,
        });
      }
    };
    const execIn = async (service: string, argv: string[], timeoutMs = 120_000) => {
      const c = byService(service);
      if (!c) throw new ToolError('not_found', `${service} is not running`);
      await execInUnit(ctx, c, argv, timeoutMs);
      return `${argv.join(' ')} in ${c.name}: exit 0`;
    };

    await doStep('stop accepting work', l.stopAcceptingWork ? null : 'not configured', () =>
      execIn(l.stopAcceptingWork!.service, l.stopAcceptingWork!.argv),
    );
    await doStep('wait for in-flight episodes', l.inFlight ? null : 'not configured', async () => {
      const f = l.inFlight!;
      const deadline = Date.now() + f.timeout;
      for (;;) {
        try {
          await execIn(f.service, f.argv, f.every);
          return 'nothing in flight';
        } catch (err) {
          if (Date.now() + f.every > deadline)
            throw new ToolError(
              'failed',
              `still in flight after ${f.timeout / 1000}s: ${(err as Error).message}`,
            );
        }
        await sleep(f.every, undefined, { signal: ctx.signal });
      }
    });
    const js = l.jetstream;
    const nats = list.filter((c) => c.service === js.service);
    await doStep(
      'drain NATS JetStream',
      !js.enabled
        ? 'disabled (lifecycle.jetstream.enabled)'
        : !nats.length
          ? `${js.service} is not running`
          : swarm && !js.url && !js.urls && !js.exec
            ? 'on a Swarm stack, set lifecycle.jetstream.url, urls or exec to read /jsz'
            : null,
      () =>
        drainJetStream(ctx, js, nats, swarm, (message) => ctx.progress({ progress: steps.length, message })),
    );
    const agents = list.filter((c) => c.service === b.duckdb.service);
    await doStep(
      'CHECKPOINT DuckDB play logs',
      !b.duckdb.checkpoint.length
        ? 'not configured (backup.duckdb.checkpoint)'
        : agents.length
          ? null
          : `no running ${b.duckdb.service}`,
      async () => {
        const cut = agents.filter((a) => !a.ctx);
        if (cut.length)
          throw new ToolError(
            'failed',
            `cannot CHECKPOINT ${cut.map((a) => `${a.name} (${a.unreachable})`).join(', ')}`,
          );
        const done = [];
        for (const a of agents) if (await checkpointAgent(a.ctx!, a)) done.push(a.name);
        return done.length ? `checkpointed ${done.join(', ')}` : 'no checkpoint command configured';
      },
    );
    await doStep(
      'flush OpenSearch',
      l.opensearchFlush ? null : 'disabled (lifecycle.opensearchFlush)',
      async () => {
        const r = await snapshots(ctx).flush();
        if (r.failed) throw new ToolError('failed', `flush failed on ${r.failed} of ${r.total} shards`);
        return `flushed ${r.total} shards`;
      },
    );
    const fsync = mongoFsyncHow(ctx);
    await doStep(
      'fsync MongoDB',
      fsync === null
        ? 'disabled'
        : byService(b.mongodb.service)
          ? null
          : `${b.mongodb.service} is not running`,
      () => (fsync === 'driver' ? fsyncThroughDriver(ctx) : execIn(b.mongodb.service, fsync!)),
    );

    const failed = steps.filter((s) => !s.ok);
    if (failed.length && !input.force)
      throw new ToolError(
        'failed',
        `shutdown stopped before stopping any service: ${failed.map((f) => `${f.step}: ${f.detail}`).join('; ')}${
          steps.some((x) => x.ok && !x.skipped)
            ? ` (done: ${steps
                .filter((x) => x.ok && !x.skipped)
                .map((x) => x.step)
                .join(', ')})`
            : ''
        }`,
        {
          hint: 'fix the step, or shut down with force (CLI --force, MCP force: true) to stop anyway (data still in memory may be lost)',
        },
      );

    if (found) return swarmStop(ctx, found.services, list, steps, failed.length);
    const stopped = [];
    for (const service of order(ctx, list)) {
      for (const c of list.filter((x) => x.service === service)) {
        const detail = await ctx.docker.inspect(c.id, ctx.signal);
        const t = detail.stopTimeoutS ?? l.stopTimeout / 1000;
        ctx.progress({ progress: stopped.length, total: list.length, message: `stopping ${c.name}` });
        await stopContainer(ctx.docker, c.id, { label: c.name, stopTimeoutS: t, signal: ctx.signal });
        stopped.push({ service, container: c.name, at: new Date().toISOString() });
      }
    }
    return {
      project: ctx.project,
      steps,
      stopped,
      volumesRemoved: 0 as const,
      summary: `stopped ${stopped.length} container(s) after ${steps.filter((s) => s.ok && !s.skipped).length} flush step(s)${failed.length ? ` (forced past ${failed.length} failed step(s))` : ''}; volumes kept`,
    };
  },
});

/**
 * The stop phase on Swarm: each replicated service with tasks wanted is scaled to 0, dependents
 * first, each waited for (its stop grace period, else lifecycle.stopTimeout, plus 30 s) before the
 * next; global services are named as left running. One row per task that was running.
 */
async function swarmStop(
  ctx: ToolContext,
  services: SwarmService[],
  units: RunningUnit[],
  steps: Step[],
  forcedPast: number,
) {
  const stopped: Array<{ service: string; container: string; at: string }> = [];
  const left: string[] = [];
  const total = units.length;
  for (const name of order(
    ctx,
    units,
    services.map((s) => s.service),
  )) {
    const svc = services.find((s) => s.service === name)!;
    if (svc.mode === 'global') {
      left.push(svc.name);
      continue;
    }
    if (!svc.replicas) continue;
    ctx.progress({ progress: stopped.length, total, message: `scaling ${svc.name} to 0` });
    const grace = await stopGraceMs(ctx, svc, ctx.config.lifecycle.stopTimeout);
    const tasks = await scaleToZero(ctx, svc, grace);
    const at = new Date().toISOString();
    stopped.push(
      ...(tasks.length ? tasks : [`${svc.name} (no task was running)`]).map((t) => ({
        service: name,
        container: t,
        at,
      })),
    );
  }
  const flushed = steps.filter((s) => s.ok && !s.skipped).length;
  return {
    project: ctx.project,
    steps,
    stopped,
    volumesRemoved: 0 as const,
    summary: `scaled ${new Set(stopped.map((s) => s.service)).size} service(s) to 0 (${stopped.filter((s) => !s.container.endsWith('(no task was running)')).length} task(s) stopped) after ${flushed} flush step(s)${forcedPast ? ` (forced past ${forcedPast} failed step(s))` : ''}; volumes and services kept (stack_up scales them back)${left.length ? `; global service(s) left running: ${left.join(', ')}` : ''}`,
  };
}
