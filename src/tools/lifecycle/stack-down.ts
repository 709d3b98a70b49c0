import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { LABEL } from '../../adapters/docker/labels.js';
import { stopContainer } from '../../adapters/docker/replicas.js';
import type { StackContainer } from '../../adapters/docker/types.js';
import { checkpointAgent } from '../../backup/components/duckdb.js';
import { snapshots } from '../../backup/components/opensearch.js';
import { ToolError } from '../../errors.js';
import { canonical } from '../../safety/approver.js';
import type { ToolContext } from '../context.js';
import { defineTool } from '../define-tool.js';
import { parseDependsOnLabel } from '../lib/dependencies.js';
import { redactForProject } from '../lib/secrets.js';

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

function order(ctx: ToolContext, list: StackContainer[]): string[] {
  const services = [...new Set(list.map((c) => c.service))];
  return stopOrder(services, (s) => {
    const label = list.find((c) => c.service === s && c.labels[LABEL.dependsOn])?.labels[LABEL.dependsOn];
    const fromLabel = parseDependsOnLabel(label).map((d) => d.service);
    return fromLabel.length ? fromLabel : (ctx.config.services[s]?.dependsOn ?? []);
  });
}

function plannedSteps(ctx: ToolContext, list: StackContainer[]): string[] {
  const l = ctx.config.lifecycle;
  const b = ctx.config.backup;
  return [
    l.stopAcceptingWork
      ? `stop accepting work: ${l.stopAcceptingWork.argv.join(' ')} in ${l.stopAcceptingWork.service}`
      : 'stop accepting work: not configured (lifecycle.stopAcceptingWork), skipped',
    l.inFlight
      ? `wait up to ${l.inFlight.timeout / 1000}s for in-flight episodes: ${l.inFlight.argv.join(' ')} in ${l.inFlight.service} until it exits 0`
      : 'wait for in-flight episodes: not configured (lifecycle.inFlight), skipped',
    `CHECKPOINT the DuckDB play log of every running ${b.duckdb.service}`,
    l.opensearchFlush ? `flush OpenSearch (${b.opensearch.url}/_flush)` : 'flush OpenSearch: disabled',
    l.mongoFsync.length
      ? `fsync MongoDB: ${l.mongoFsync.join(' ')} in ${b.mongodb.service}`
      : 'fsync MongoDB: disabled',
    `stop, dependents first: ${order(ctx, list).join(' -> ')} (each with its stop timeout, else ${l.stopTimeout / 1000}s); volumes are kept`,
  ];
}

export const stackDown = defineTool({
  name: 'stack_down',
  title: 'Shut the stack down gracefully',
  description:
    "The handbook's graceful shutdown and data flush: stop accepting work (configured command), wait for in-flight " +
    'episodes (configured check, bounded), CHECKPOINT every agent DuckDB, flush OpenSearch, fsync MongoDB, then stop ' +
    'the services dependents-first with their stop timeouts. Containers are stopped, not removed; volumes are never ' +
    'touched. Destructive: needs a human approval. A failed flush step stops the shutdown before any service stops ' +
    'unless force is set.',
  summary:
    'Use to shut the whole stack down gracefully: flush data, then stop services dependents-first. ' +
    'Destructive: waits for a human approval; containers and volumes are kept.',
  risk: 'destructive',
  idempotent: false,
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
    const list = await running(ctx);
    const steps: Step[] = [];
    const byService = (s: string) => list.find((c) => c.service === s);
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
      const r = await ctx.docker.exec(c.id, argv, { signal: ctx.signal, timeoutMs });
      if (r.exitCode !== 0)
        throw new ToolError(
          'failed',
          `${argv.join(' ')} in ${c.name} exited ${r.exitCode}: ${(await redactForProject(ctx, (r.stderr || r.stdout).trim())).slice(0, 200)}`,
        );
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
    const agents = list.filter((c) => c.service === b.duckdb.service);
    await doStep(
      'CHECKPOINT DuckDB play logs',
      agents.length ? null : `no running ${b.duckdb.service}`,
      async () => {
        const done = [];
        for (const a of agents) if (await checkpointAgent(ctx, a)) done.push(a.name);
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
    await doStep(
      'fsync MongoDB',
      l.mongoFsync.length
        ? byService(b.mongodb.service)
          ? null
          : `${b.mongodb.service} is not running`
        : 'disabled',
      () => execIn(b.mongodb.service, l.mongoFsync),
    );

    const failed = steps.filter((s) => !s.ok);
    if (failed.length && !input.force)
      throw new ToolError(
        'failed',
        `shutdown stopped before stopping any service: ${failed.map((f) => `${f.step}: ${f.detail}`).join('; ')}`,
        {
          hint: 'fix the step, or run stack_down with force to stop anyway (data still in memory may be lost)',
        },
      );

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
