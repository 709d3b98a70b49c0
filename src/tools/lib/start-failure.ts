import { pathOwner } from '../../adapters/docker/archive.js';
import type { ContainerDetail } from '../../adapters/docker/types.js';
import { isToolError } from '../../errors.js';
import type { ToolContext } from '../context.js';
import type { ContainerHealth } from './service-status.js';

/**
 * "permission denied" on exec means a file without the executable bit or a directory: the image's
 * filesystem (read through the archive API, which works on containers that never started) says which.
 */
export async function refineStartFailure(
  ctx: ToolContext,
  d: ContainerDetail,
  h: ContainerHealth,
): Promise<ContainerHealth> {
  const f = h.neverStarted;
  const target = f?.kind === 'not_executable' ? /exec: "([^"]+)"/.exec(f.error ?? '')?.[1] : undefined;
  if (!f || !target?.startsWith('/')) return h;
  try {
    const owner = await pathOwner(ctx.docker, d.id, target, ctx.signal);
    if (owner?.type === 'directory')
      return {
        ...h,
        neverStarted: {
          ...f,
          what: `the command "${target}" is a directory, not a program (exit 126: permission denied)`,
          fix: `point command/entrypoint at the program inside it (${target}/<program>)`,
        },
      };
    if (owner && (owner.mode & 0o111) === 0)
      return {
        ...h,
        neverStarted: {
          ...f,
          what: `the command "${target}" is a file without the executable bit (mode ${owner.mode.toString(8)}; exit 126: permission denied)`,
          fix: `make it executable in the image (RUN chmod +x ${target}) or run it through its interpreter (command: ["sh", "${target}"])`,
        },
      };
    return h;
  } catch (err) {
    if (isToolError(err)) return h;
    throw err;
  }
}
