import { execa } from 'execa';
import { serviceStats } from '../src/tools/diagnosis/service-stats.js';
import { stackHealth } from '../src/tools/health/stack-health.js';
import { invokeTool } from '../src/tools/invoke.js';
import { alternate, context, makeStack, median, removeAll, round } from './lib.js';

/**
 * design.md §11: stack_health on 200 containers no slower than `docker ps` with the same label
 * filter; service_stats on 50 running containers at most half of `docker stats --no-stream`.
 */
export async function benchHealthStats(): Promise<Record<string, unknown>> {
  const project = `dobench${Date.now().toString(36)}`;
  const filter = `label=com.docker.compose.project=${project}`;
  console.error(`creating 200 containers in project ${project}…`);
  const ids = await makeStack(project, 200);
  try {
    const ctx = context(project);
    await invokeTool(stackHealth, ctx, {}); // warm the connection, as a running server would have it

    console.error('health: stack_health vs docker ps (15 alternating runs)…');
    const health = await alternate(
      15,
      () => invokeTool(stackHealth, ctx, {}),
      () => execa('docker', ['ps', '-a', '--filter', filter]),
    );
    console.error('health: doom-ops health CLI process vs docker ps (7 runs)…');
    const healthCli = await alternate(
      7,
      () =>
        execa('node', ['dist/src/cli/main.js', 'health', '--json', '--project', project], { reject: false }),
      () => execa('docker', ['ps', '-a', '--filter', filter]),
    );

    // Keep 50 running for the stats comparison.
    await removeAll(ids.slice(50));
    const statIds = ids.slice(0, 50);
    console.error('stats: service_stats vs docker stats --no-stream on 50 containers (7 runs each)…');
    const stats = await alternate(
      7,
      () => invokeTool(serviceStats, ctx, {}),
      () => execa('docker', ['stats', '--no-stream', ...statIds]),
    );
    const statsNoCpu = await alternate(
      7,
      () => invokeTool(serviceStats, ctx, { cpu: false }),
      () => execa('docker', ['stats', '--no-stream', ...statIds]),
    );

    const summary = (r: { aMs: number[]; bMs: number[]; ratio: number }) => ({
      medianMs: round(median(r.aMs), 1),
      baselineMedianMs: round(median(r.bMs), 1),
      ratio: r.ratio,
    });
    return {
      stack_health_200_vs_docker_ps: { ...summary(health), target: 'ratio <= 1', met: health.ratio <= 1 },
      doom_ops_health_cli_200_vs_docker_ps: {
        ...summary(healthCli),
        note: 'whole CLI process incl. Node start-up',
      },
      service_stats_50_vs_docker_stats_no_stream: {
        ...summary(stats),
        target: 'ratio <= 0.5',
        met: stats.ratio <= 0.5,
      },
      service_stats_50_no_cpu_vs_docker_stats_no_stream: {
        ...summary(statsNoCpu),
        target: 'ratio <= 0.5',
        met: statsNoCpu.ratio <= 0.5,
      },
    };
  } finally {
    await removeAll(ids);
  }
}
