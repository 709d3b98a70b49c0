import type { ContainerDetail, EngineEvent } from '../../adapters/docker/types.js';
import { EventStore, eventKey } from '../../recorder/event-store.js';
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
  /** Events only the recorder still had (the engine had forgotten them). */
  recorded: number;
}

/**
 * What the diagnosis tools read: the replicas (of one service, or all) inspected, and the engine's
 * container events for them in the window, merged with the event recorder's history.
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
  // The recorder's history (if one has run for this project) fills what the engine has forgotten.
  const store = EventStore.forProject(ctx.config.stateDir, ctx.project, ctx.config.recorder.maxBytes);
  let recorded = 0;
  if (await store.exists()) {
    const stored = await store.query({
      since,
      until,
      service: opts.service,
      actions: opts.actions,
      max: opts.max,
    });
    const have = new Set(events.map(eventKey));
    const extra = stored.filter((e) => !have.has(eventKey(e)));
    recorded = extra.length;
    events.push(...extra);
    events.sort((a, b) => a.time.localeCompare(b.time));
  }
  return { now, since, until, details, events, recorded };
}
