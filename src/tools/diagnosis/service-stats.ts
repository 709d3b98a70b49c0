import { z } from 'zod';
import type { DockerAdapter } from '../../adapters/docker/client.js';
import { computeMetrics, type Metrics } from '../../adapters/docker/stats-math.js';
import type { ContainerDetail } from '../../adapters/docker/types.js';
import { SwarmAdapter } from '../../adapters/swarm/client.js';
import { NodeEngines } from '../../adapters/swarm/nodes.js';
import { serviceName } from '../../config/schema.js';
import type { ToolContext } from '../context.js';
import { defineTool } from '../define-tool.js';
import { containersOf, stackReplicas } from '../lib/stack.js';
import { stackKind } from '../lib/stack-kind.js';
import { nodeName, taskLabel } from '../lib/swarm-health.js';

const containerStats = z.object({
  name: z.string(),
  service: z.string(),
  number: z.number(),
  cpuPercent: z.number().nullable().describe('percent of one CPU core, as docker stats shows it'),
  memory: z.object({
    usedBytes: z.number().nullable(),
    limitBytes: z
      .number()
      .nullable()
      .describe('the cgroup limit the engine reports (host memory when unlimited)'),
    percent: z.number().nullable(),
    configuredLimitBytes: z
      .number()
      .nullable()
      .describe('the container memory limit (deploy.resources.limits.memory / mem_limit); null = unlimited'),
  }),
  net: z.object({ rxBytes: z.number(), txBytes: z.number() }),
  block: z.object({ readBytes: z.number(), writeBytes: z.number() }),
  pids: z.number().nullable(),
  pidsLimit: z.number().nullable().describe('pids_limit of the container; null = unlimited'),
  cpuset: z.string().nullable().describe('CPUs it is pinned to (cpuset), null = any'),
  cpuLimit: z
    .number()
    .nullable()
    .describe('CPUs it may use (deploy.resources.limits.cpus / cpus, from NanoCpus); null = unlimited'),
});

export const serviceStats = defineTool({
  name: 'service_stats',
  title: 'Service resource usage',
  description:
    "Live resource usage of the stack's running containers (like `docker stats --no-stream`): CPU %, " +
    'memory used / limit / %, the configured memory limit, network and block IO, PIDs against pids_limit, plus the top consumers. ' +
    'Use it for "who is using the most memory/CPU" and before changing limits. Stopped containers are listed in notRunning. ' +
    "On a Swarm stack each task is sampled on its node's own engine (swarm.nodes); tasks on other nodes are listed in unmeasured.",
  summary:
    'Use to find who uses the most CPU or memory, and before changing limits. Returns live per-container ' +
    'CPU, memory against limit, network and block IO, and PIDs.',
  risk: 'read',
  stackKinds: ['compose', 'swarm'],
  idempotent: true,
  input: z.object({
    service: serviceName.optional().describe("Only this service's replicas (default: every service)"),
    sortBy: z.enum(['memory', 'cpu']).default('memory').describe('Order of the top consumers'),
    top: z.number().int().min(1).max(50).default(5).describe('How many top consumers to list'),
    cpu: z
      .boolean()
      .default(true)
      .describe(
        'Measure CPU % (needs two engine samples, about 2 s); false answers memory/IO/PIDs in about 1 s',
      ),
  }),
  output: z.object({
    project: z.string(),
    sampledAt: z.string(),
    cpuMeasured: z.boolean(),
    containers: z.array(containerStats),
    top: z.array(
      z.object({
        name: z.string(),
        service: z.string(),
        cpuPercent: z.number().nullable(),
        memoryUsedBytes: z.number().nullable(),
        memoryPercent: z.number().nullable(),
      }),
    ),
    notRunning: z.array(z.object({ name: z.string(), service: z.string(), state: z.string() })),
    unmeasured: z
      .array(z.object({ name: z.string(), service: z.string(), node: z.string(), reason: z.string() }))
      .optional()
      .describe(
        "Swarm stacks only: running tasks whose node's engine could not be asked (no endpoint in swarm.nodes, or it failed)",
      ),
  }),
  async run(ctx, input) {
    if ((await stackKind(ctx)) === 'swarm') return swarmStats(ctx, input);
    let replicas = await stackReplicas(ctx);
    if (input.service) replicas = containersOf(ctx, replicas, input.service);
    const running = replicas.filter((c) => c.state === 'running');

    // Limits come from inspect; fetch them while the CPU samples are being taken.
    const limits = ctx.docker.inspectMany(
      running.map((c) => c.id),
      ctx.signal,
    );
    const measured = await Promise.all(running.map((c) => measure(ctx.docker, c.id, input.cpu, ctx.signal)));
    const details = await limits;

    const stoppedSince: Array<{ name: string; service: string; state: string }> = [];
    const containers = measured.flatMap((m, i) => {
      const c = running[i]!;
      // Stopped between listing and sampling: not a row of zeros.
      if (!m || details[i]?.state.running === false) {
        if (details[i])
          stoppedSince.push({ name: c.name, service: c.service, state: details[i]!.state.status });
        return [];
      }
      return [row({ name: c.name, service: c.service, number: c.number }, m, details[i])];
    });
    return {
      ...summarize(containers, input),
      project: ctx.project,
      notRunning: [
        ...replicas
          .filter((c) => c.state !== 'running')
          .map((c) => ({ name: c.name, service: c.service, state: c.state })),
        ...stoppedSince,
      ],
    };
  },
});

type Row = z.output<typeof containerStats>;

/** One container's row from its sample and (when read) its inspect. */
function row(
  who: { name: string; service: string; number: number },
  m: Metrics,
  d: Pick<ContainerDetail, 'memoryLimitBytes' | 'pidsLimit' | 'cpuset' | 'nanoCpus'> | undefined,
): Row {
  return {
    ...who,
    cpuPercent: m.cpuPercent,
    memory: {
      usedBytes: m.memoryUsedBytes,
      limitBytes: m.memoryLimitBytes,
      percent: m.memoryPercent,
      configuredLimitBytes: d?.memoryLimitBytes ?? null,
    },
    net: { rxBytes: m.netRxBytes, txBytes: m.netTxBytes },
    block: { readBytes: m.blockReadBytes, writeBytes: m.blockWriteBytes },
    pids: m.pids,
    pidsLimit: m.pidsLimit ?? d?.pidsLimit ?? null,
    cpuset: d?.cpuset ?? null,
    cpuLimit: d?.nanoCpus ? d.nanoCpus / 1e9 : null,
  };
}

/** The rows sorted by the chosen resource, and the top consumers. */
function summarize(containers: Row[], input: { sortBy: 'memory' | 'cpu'; top: number; cpu: boolean }) {
  const key = input.sortBy === 'cpu' ? (c: Row) => c.cpuPercent ?? -1 : (c: Row) => c.memory.usedBytes ?? -1;
  const sorted = [...containers].sort((a, b) => key(b) - key(a) || a.name.localeCompare(b.name));
  return {
    sampledAt: new Date().toISOString(),
    cpuMeasured: input.cpu,
    containers: sorted,
    top: sorted.slice(0, input.top).map((c) => ({
      name: c.name,
      service: c.service,
      cpuPercent: c.cpuPercent,
      memoryUsedBytes: c.memory.usedBytes,
      memoryPercent: c.memory.percent,
    })),
  };
}

/**
 * service_stats on Swarm: each running task's container is sampled on its node's own engine
 * (config swarm.nodes); tasks on a node without an endpoint, or whose engine failed, are listed in
 * `unmeasured` with the reason, never skipped silently.
 */
async function swarmStats(
  ctx: ToolContext,
  input: { service?: string | undefined; sortBy: 'memory' | 'cpu'; top: number; cpu: boolean },
) {
  const swarm = new SwarmAdapter(ctx.docker);
  const [services, nodes] = await Promise.all([
    swarm.services(ctx.project, ctx.signal),
    swarm.nodes(ctx.signal),
  ]);
  const wanted = services.filter((s) => !input.service || s.service === input.service);
  if (input.service && wanted.length === 0) await swarm.service(ctx.project, input.service, ctx.signal);
  const tasks = (
    await swarm.tasks(
      wanted.map((s) => s.name),
      ctx.signal,
    )
  ).filter((t) => t.desiredState === 'running');
  const engines = new NodeEngines(ctx.config.swarm?.nodes ?? {}, ctx.config.docker.timeout);
  const unmeasured: Array<{ name: string; service: string; node: string; reason: string }> = [];
  const notRunning: Array<{ name: string; service: string; state: string }> = [];
  const rows = await Promise.all(
    tasks.map(async (t): Promise<Row | null> => {
      const svc = wanted.find((s) => s.id === t.serviceId)!;
      const node = nodeName(nodes, t.nodeId) ?? 'unplaced';
      const who = {
        name: taskLabel(svc.name, t, nodes),
        service: svc.service,
        number: t.slot ?? 0,
      };
      if (t.state !== 'running' || !t.containerId) {
        notRunning.push({ name: who.name, service: who.service, state: t.state });
        return null;
      }
      const engine = engines.get(node);
      if (!engine) {
        unmeasured.push({ ...who, node, reason: `node ${node} has no engine endpoint in swarm.nodes` });
        return null;
      }
      try {
        const [m, d] = await Promise.all([
          measure(engine, t.containerId, input.cpu, ctx.signal),
          engine.inspect(t.containerId, ctx.signal),
        ]);
        // Died between the task list and the sample (a crash loop): not a row of zeros.
        if (!m || !d.state.running) {
          notRunning.push({ name: who.name, service: who.service, state: d.state.status });
          return null;
        }
        return row(who, m, d);
      } catch (err) {
        unmeasured.push({ ...who, node, reason: `its engine failed: ${(err as Error).message}` });
        return null;
      }
    }),
  );
  return {
    ...summarize(
      rows.filter((r): r is Row => r !== null),
      input,
    ),
    project: ctx.project,
    notRunning,
    unmeasured,
  };
}

/** One reading per container, all concurrent (they share the engine's collector tick); null if it stopped meanwhile. */
async function measure(
  docker: DockerAdapter,
  id: string,
  withCpu: boolean,
  signal: AbortSignal,
): Promise<Metrics | null> {
  try {
    return computeMetrics(await docker.statsSample(id, { withCpu, signal }));
  } catch (err) {
    if ((err as { code?: string }).code === 'not_found') return null;
    throw err;
  }
}
