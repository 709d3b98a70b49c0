import { Writable } from 'node:stream';
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

/**
 * A sink for a producer that ends its output before its success is known (an exec's stdout ends,
 * then its exit code is read): writes go on to `target` with backpressure, but the end is held
 * until `close()` (ends `target`) or `close(err)` (destroys it with err, so a consumer such as
 * restic saves nothing of a failed dump).
 */
export function heldEnd(target: Writable): {
  sink: Writable;
  close(err?: Error): void;
} {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (target.destroyed) return cb(new Error('the consumer stopped'));
      if (target.write(chunk)) cb();
      else target.once('drain', () => cb());
    },
    final(cb) {
      cb();
    },
  });
  return {
    sink,
    close(err) {
      if (err) target.destroy(err);
      else target.end();
    },
  };
}
