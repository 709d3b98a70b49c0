import type { DockerAdapter } from '../../adapters/docker/client.js';
import { isToolError } from '../../errors.js';

/**
 * The largest memory peak of running containers, each sampled once on its own engine (GET
 * /containers/{id}/stats, no CPU): the cgroup's max_usage where the engine reports it (cgroup v1),
 * else the current usage. `what`: how to call one in the source ("the running replica"). Null when
 * none could be sampled (an engine error skips that container). Cancellation is thrown.
 */
export async function memoryPeak(
  containers: Array<{ engine: DockerAdapter; id: string }>,
  what: string,
  signal: AbortSignal,
): Promise<{ bytes: number; source: string } | null> {
  let peak: { bytes: number; source: string } | null = null;
  for (const c of containers) {
    try {
      const s = await c.engine.statsSample(c.id, { withCpu: false, signal });
      const max = s.memory_stats?.max_usage ?? s.memory_stats?.usage;
      if (max !== undefined && (peak === null || max > peak.bytes))
        peak = {
          bytes: max,
          source:
            s.memory_stats?.max_usage !== undefined
              ? `cgroup max_usage of ${what}`
              : `current usage of ${what} (its engine reports no max)`,
        };
    } catch (err) {
      if (signal.aborted || !isToolError(err)) throw err;
    }
  }
  return peak;
}
