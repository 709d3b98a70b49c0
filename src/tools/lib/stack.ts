import type { StackContainer } from '../../adapters/docker/types.js';
import { ToolError } from '../../errors.js';
import type { ToolContext } from '../context.js';

/** The project's service replicas (one-off `compose run` containers left out). */
export async function stackReplicas(ctx: ToolContext): Promise<StackContainer[]> {
  const all = await ctx.docker.listStack(ctx.project, ctx.signal);
  return all.filter((c) => !c.oneoff);
}

/** The containers of one service, or a not_found error that lists what does exist. */
export function containersOf(
  ctx: ToolContext,
  containers: StackContainer[],
  service: string,
): StackContainer[] {
  const mine = containers.filter((c) => c.service === service);
  if (mine.length > 0) return mine;
  const known = [...new Set(containers.map((c) => c.service))].sort();
  const expected = service in ctx.config.services;
  if (known.length === 0) {
    throw new ToolError(
      'not_found',
      `project "${ctx.project}" has no containers on this engine (${ctx.docker.engine})`,
      {
        hint: 'check the project name (--project or COMPOSE_PROJECT_NAME) and that the stack is up',
      },
    );
  }
  throw new ToolError(
    'not_found',
    expected
      ? `service "${service}" is expected but has no containers in project "${ctx.project}"`
      : `no service "${service}" in project "${ctx.project}"`,
    { hint: `services with containers: ${known.join(', ')}` },
  );
}
