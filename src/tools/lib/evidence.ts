import type { ContainerDetail, EngineEvent } from '../../adapters/docker/types.js';
import { type Death, readHistory } from '../../knowledge/restart-analysis.js';
import { EventStore, eventKey } from '../../recorder/event-store.js';
import { RECORDED_ACTIONS } from '../../recorder/recorder.js';
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
  /** Whether an event recorder has kept history for this project (doom-ops serve / record). */
  recorderRan: boolean;
}

/**
 * The project's container events in a window (unix seconds): what the engine still holds (it keeps
 * its last 256 events), merged with the event recorder's history when one has run for the project.
 */
export async function containerEvents(
  ctx: ToolContext,
  opts: { since: number; until: number; service?: string; actions: string[]; max: number },
): Promise<{ events: EngineEvent[]; recorded: number; recorderRan: boolean }> {
  const label = [
    `com.docker.compose.project=${ctx.project}`,
    ...(opts.service ? [`com.docker.compose.service=${opts.service}`] : []),
  ];
  const events = await ctx.docker.events({
    since: opts.since,
    until: opts.until,
    filters: { type: ['container'], event: opts.actions, label },
    max: opts.max,
    signal: ctx.signal,
  });
  const store = EventStore.forProject(ctx.config.stateDir, ctx.project, ctx.config.recorder.maxBytes);
  let recorded = 0;
  const recorderRan = await store.exists();
  if (recorderRan) {
    const stored = await store.query({
      since: opts.since,
      until: opts.until,
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
  return { events, recorded, recorderRan };
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
  const [details, found] = await Promise.all([
    ctx.docker.inspectMany(
      replicas.map((c) => c.id),
      ctx.signal,
    ),
    containerEvents(ctx, { since, until, service: opts.service, actions: opts.actions, max: opts.max }),
  ]);
  return { now, since, until, details, ...found };
}

/** What the recent lifecycle events say about each container (by id: a recreated one keeps the name). */
export interface RecentHistory {
  /** Processes OOM-killed inside since `processOomSinceMs`. */
  processOomKills: Map<string, number>;
  /** The latest death in the events, per container. */
  lastDeath: Map<string, Death>;
  /** Clean exits (code 0) in the window, per container. */
  cleanExits: Map<string, number>;
}

/**
 * The project's lifecycle events since `sinceMs` (engine plus recorder), read in order: processes
 * OOM-killed inside containers (counted from `processOomSinceMs`), each container's latest death with
 * its cause, and clean exits. health uses it so that the container state's sticky flags (OOMKilled,
 * exit 137) are not taken for causes the events disprove.
 */
export async function recentHistory(
  ctx: ToolContext,
  sinceMs: number,
  processOomSinceMs: number,
): Promise<RecentHistory> {
  const { events } = await containerEvents(ctx, {
    since: Math.floor(sinceMs / 1000),
    // Now, to the millisecond (the engine takes fractional seconds): a whole second rounded up
    // would make the engine hold the answer until that second comes, up to 1 s of every health.
    until: Date.now() / 1000,
    actions: RECORDED_ACTIONS.filter((a) => a !== 'health_status'),
    max: 5000,
  });
  const out: RecentHistory = { processOomKills: new Map(), lastDeath: new Map(), cleanExits: new Map() };
  if (events.length === 0) return out;
  const h = readHistory(events);
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  for (const k of h.processOomKills)
    if (Date.parse(k.time) >= processOomSinceMs) bump(out.processOomKills, k.id);
  for (const d of h.deaths) {
    out.lastDeath.set(d.id, d);
    if (d.cause === 'clean_exit') bump(out.cleanExits, d.id);
  }
  return out;
}
