import type { ContainerDetail } from '../../adapters/docker/types.js';
import { ToolError } from '../../errors.js';
import type { Redactor } from '../../safety/redact.js';
import { parseTimePoint } from '../../util/duration.js';
import type { ToolContext } from '../context.js';
import { projectRedactor } from './secrets.js';
import { containersOf, stackReplicas } from './stack.js';

/** since/until (already validated time points) as unix seconds, refusing an inverted window. */
export function logWindow(
  tool: string,
  input: { since: string; until?: string },
): { since: number; until?: number } {
  const since = parseTimePoint(input.since)!;
  const until = input.until === undefined ? undefined : parseTimePoint(input.until);
  if (until !== undefined && since > until)
    throw new ToolError('invalid_input', `invalid input for ${tool}: since: must be before until`);
  return { since, until };
}

export interface ServiceLogSource {
  service: string;
  details: ContainerDetail[];
  /** Masks every secret of the project (any service's secret env values), not only this service's. */
  redactor: Redactor;
}

/** Each requested service (default: every service with containers) with its containers and a project-wide redactor. */
export async function serviceLogSources(ctx: ToolContext, services?: string[]): Promise<ServiceLogSource[]> {
  const replicas = await stackReplicas(ctx);
  const names = services ?? [...new Set(replicas.map((c) => c.service))].sort();
  const out: ServiceLogSource[] = [];
  for (const service of names) {
    const details = await ctx.docker.inspectMany(
      containersOf(ctx, replicas, service).map((c) => c.id),
      ctx.signal,
    );
    out.push({ service, details, redactor: await projectRedactor(ctx, details) });
  }
  return out;
}
