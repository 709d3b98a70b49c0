import type { ContainerDetail } from '../../adapters/docker/types.js';
import { isToolError } from '../../errors.js';
import type { ToolContext } from '../context.js';
import { PIDS_WARN_RATIO } from './service-status.js';

/**
 * PIDs in use against pids_limit for a running container that has one (null otherwise): the
 * pids cgroup count from a one-shot stats reading; near the limit, the live tasks from the
 * engine's top (one row per thread; zombies are not listed), so the difference is the zombies.
 */
export async function pidsUsage(
  ctx: ToolContext,
  d: ContainerDetail,
): Promise<{ current: number; limit: number; zombies: number | null } | null> {
  if (!d.pidsLimit || !d.state.running || d.state.restarting) return null;
  try {
    const s = await ctx.docker.statsSample(d.id, { withCpu: false, signal: ctx.signal });
    const current = s.pids_stats?.current;
    if (current === undefined) return null;
    let zombies: number | null = null;
    if (current >= d.pidsLimit * PIDS_WARN_RATIO) {
      const top = await ctx.docker.top(d.id, '-eLo pid,lwp,stat', ctx.signal);
      zombies = Math.max(0, current - top.processes.length);
    }
    return { current, limit: d.pidsLimit, zombies };
  } catch (err) {
    // Stopped meanwhile, or the engine cannot say: the PID check is skipped, the rest of health stands.
    if (isToolError(err)) return null;
    throw err;
  }
}
