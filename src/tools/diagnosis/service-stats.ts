import { z } from 'zod';
import type { DockerAdapter } from '../../adapters/docker/client.js';
import { computeMetrics, type Metrics } from '../../adapters/docker/stats-math.js';
import type { StackContainer } from '../../adapters/docker/types.js';
import { serviceName } from '../../config/schema.js';
import { defineTool } from '../define-tool.js';
import { containersOf, stackReplicas } from '../lib/stack.js';

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
});

export const serviceStats = defineTool({
  name: 'service_stats',
  title: 'Service resource usage',
  description:
    "Live resource usage of the stack's running containers (like `docker stats --no-stream`): CPU %, " +
    'memory used / limit / %, the configured memory limit, network and block IO, PIDs against pids_limit, plus the top consumers. ' +
    'Use it for "who is using the most memory/CPU" and before changing limits. Stopped containers are listed in notRunning.',
  summary:
    'Use to find who uses the most CPU or memory, and before changing limits. Returns live per-container ' +
    'CPU, memory against limit, network and block IO, and PIDs.',
  risk: 'read',
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
  }),
  async run(ctx, input) {
    let replicas = await stackReplicas(ctx);
    if (input.service) replicas = containersOf(ctx, replicas, input.service);
    const running = replicas.filter((c) => c.state === 'running');

    // Limits come from inspect; fetch them while the CPU samples are being taken.
    const limits = ctx.docker.inspectMany(
      running.map((c) => c.id),
      ctx.signal,
    );
    const measured = await Promise.all(running.map((c) => measure(ctx.docker, c, input.cpu, ctx.signal)));
    const details = await limits;

    const containers = measured.flatMap((m, i) => {
      if (!m) return []; // stopped between listing and sampling
      const c = running[i]!;
      return [
        {
          name: c.name,
          service: c.service,
          number: c.number,
          cpuPercent: m.cpuPercent,
          memory: {
            usedBytes: m.memoryUsedBytes,
            limitBytes: m.memoryLimitBytes,
            percent: m.memoryPercent,
            configuredLimitBytes: details[i]?.memoryLimitBytes ?? null,
          },
          net: { rxBytes: m.netRxBytes, txBytes: m.netTxBytes },
          block: { readBytes: m.blockReadBytes, writeBytes: m.blockWriteBytes },
          pids: m.pids,
          pidsLimit: m.pidsLimit ?? details[i]?.pidsLimit ?? null,
          cpuset: details[i]?.cpuset ?? null,
        },
      ];
    });
    const key =
      input.sortBy === 'cpu'
        ? (c: (typeof containers)[number]) => c.cpuPercent ?? -1
        : (c: (typeof containers)[number]) => c.memory.usedBytes ?? -1;
    const sorted = [...containers].sort((a, b) => key(b) - key(a) || a.name.localeCompare(b.name));
    return {
      project: ctx.project,
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
      notRunning: replicas
        .filter((c) => c.state !== 'running')
        .map((c) => ({ name: c.name, service: c.service, state: c.state })),
    };
  },
});

/** One reading per container, all concurrent (they share the engine's collector tick); null if it stopped meanwhile. */
async function measure(
  docker: DockerAdapter,
  c: StackContainer,
  withCpu: boolean,
  signal: AbortSignal,
): Promise<Metrics | null> {
  try {
    return computeMetrics(await docker.statsSample(c.id, { withCpu, signal }));
  } catch (err) {
    if ((err as { code?: string }).code === 'not_found') return null;
    throw err;
  }
}
