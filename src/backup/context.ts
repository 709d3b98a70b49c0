import { ToolError } from '../errors.js';
import type { ToolContext } from '../tools/context.js';
import { formatBytes } from '../util/duration.js';

/** Progress while streaming, throttled so a fast stream does not flood MCP with notifications. */
export function byteProgress(ctx: ToolContext, label: string): (bytes: number) => void {
  let last = 0;
  return (bytes) => {
    const now = Date.now();
    if (now - last < 250) return;
    last = now;
    ctx.progress({ progress: bytes, message: `${label}: ${formatBytes(bytes)}` });
  };
}

/** The first running replica of a service, or a clear error. */
export async function runningReplica(ctx: ToolContext, service: string, why: string) {
  const all = await ctx.docker.listStack(ctx.project, ctx.signal);
  const c = all.find((x) => x.service === service && !x.oneoff && x.state === 'running');
  if (!c) {
    throw new ToolError('not_found', `${why}: no running ${service} container in project ${ctx.project}`, {
      hint: `start ${service} first (doom-ops health shows its state)`,
    });
  }
  return c;
}
