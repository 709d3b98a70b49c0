import type { ContainerDetail, EngineEvent } from '../../adapters/docker/types.js';
import { parseTimePoint } from '../../util/duration.js';
import type { ToolContext } from '../context.js';
import { stackReplicas } from './stack.js';

export interface Evidence {
  now: number;
  /** Unix seconds. */
  since: number;
  until: number;
  details: ContainerDetail[];
  events: EngineEvent[];
}

/**
 * What the diagnosis tools read: the replicas (of one service, or all) inspected, and the engine's
 * container events for them in the window. One place, so a recorder that keeps events beyond the
 * engine's 256-event memory can be added here for every diagnosis.
 */
export async function gatherEvidence(
  ctx: ToolContext,
  opts: { service?: string; since: string; actions: string[]; max: number },
): Promise<Evidence> {
  const now = Date.now();
  const since = parseTimePoint(opts.since, now)!;
  const until = Math.ceil(now / 1000);
  const replicas = (await stackReplicas(ctx)).filter((c) => !opts.service || c.service === opts.service);
  const label = [
    `com.docker.compose.project=${ctx.project}`,
    ...(opts.service ? [`com.docker.compose.service=${opts.service}`] : []),
  ];
  const [details, events] = await Promise.all([
    ctx.docker.inspectMany(
      replicas.map((c) => c.id),
      ctx.signal,
    ),
    ctx.docker.events({
      since,
      until,
      filters: { type: ['container'], event: opts.actions, label },
      max: opts.max,
      signal: ctx.signal,
    }),
  ]);
  return { now, since, until, details, events };
}
