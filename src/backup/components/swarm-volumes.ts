import type { Readable } from 'node:stream';
import { SwarmAdapter, type SwarmService } from '../../adapters/swarm/client.js';
import { ToolError } from '../../errors.js';
import type { ToolContext } from '../../tools/context.js';
import { nodeName } from '../../tools/lib/swarm-health.js';
import { sleep } from '../../util/concurrency.js';
import type { ComponentEntry } from '../manifest.js';
import { reasonOf } from '../reason.js';
import { mounts, type Place, placesOn, swarmVolumePlaces } from '../swarm-places.js';
import {
  archiveMount,
  type PreparedVolume,
  type ResolvedVolume,
  replaceVolumeContent,
  resolveVolume,
} from './volumes.js';

/** How long a restore waits for Swarm to stop the tasks mounting a volume. */
const STOP_WAIT_MS = 120_000;

/** A volume entry's Compose key: its target without `@node`. */
export function volumeKey(entry: Pick<ComponentEntry, 'target'>): string {
  return entry.target.split('@')[0]!;
}

/** The node a Swarm volume entry was backed up on: details.node, else the target's `@node`. */
export function recordedNode(entry: ComponentEntry): string | undefined {
  return (
    (typeof entry.details.node === 'string' ? entry.details.node : undefined) ?? entry.target.split('@')[1]
  );
}

/** Everything a Swarm volume restore needs, checked before anything is touched (swarmVolumeRestore). */
export interface SwarmVolumeRestore {
  place: Place;
  volume: ResolvedVolume;
  /** The stack's services whose tasks mount the volume. */
  mounting: SwarmService[];
  /** An image for the helper when no task container is left on the node (a mounting service's). */
  image: string | undefined;
}

/**
 * Where and how a Swarm volume entry would be restored, refused (ToolError, nothing touched) when
 * it cannot be done or would not do what the user expects:
 *  - the node: `node` when given (a copy on another node, e.g. the node that replaced the one it
 *    was backed up on), else the node the backup recorded, else the only node holding the volume;
 *    failed when that node has no engine endpoint;
 *  - invalid_input when the services mounting it run now (or are pinned by a constraint) on other
 *    nodes only: restoring the recorded node's copy would not change what they read (say `node`);
 *  - failed when a global service mounting it has a task on that node (Swarm has no count to lower
 *    there: drain the node first).
 */
export async function swarmVolumeRestore(
  ctx: ToolContext,
  entry: ComponentEntry,
  node?: string,
): Promise<SwarmVolumeRestore> {
  const key = volumeKey(entry);
  const swarm = new SwarmAdapter(ctx.docker);
  const [services, nodes] = await Promise.all([
    swarm.services(ctx.project, ctx.signal),
    swarm.nodes(ctx.signal),
  ]);
  const mounting = services.filter((s) => mounts(ctx, s, key));
  const tasks = mounting.length
    ? await swarm.tasks(
        mounting.map((s) => s.name),
        ctx.signal,
      )
    : [];
  const runningOn = (s: SwarmService) =>
    new Set(
      tasks
        .filter((t) => t.serviceId === s.id && t.state === 'running')
        .map((t) => nodeName(nodes, t.nodeId))
        .filter((n): n is string => !!n),
    );
  const pinnedTo = (s: SwarmService) =>
    s.constraints
      .map((c) => /^node\.hostname\s*==\s*(\S+)$/.exec(c.trim())?.[1])
      .filter((n): n is string => !!n);
  const recorded = recordedNode(entry);
  const target = node ?? recorded;
  let place: Place;
  if (target) {
    const at = placesOn(ctx, [target]);
    if (!at.places[0])
      throw new ToolError(
        'failed',
        `cannot restore volume ${key} on node ${target}: ${at.unreachable[0]!.why.replace(/^node \S+ /, 'it ')}`,
        {
          hint: `add node ${target}'s engine to swarm.nodes in the doom-ops config${node ? '' : ', or restore onto another node (node: <hostname>)'}`,
        },
      );
    place = at.places[0];
  } else {
    const at = await swarmVolumePlaces(ctx, key);
    const holders = [...at.places.map((p) => p.node), ...at.unreachable.map((u) => u.node)];
    if (holders.length === 1 && at.places[0]) place = at.places[0];
    else if (holders.length === 0)
      throw new ToolError('not_found', `volume ${ctx.project}_${key} is on no node of the swarm`, {
        hint: 'restore it onto a node (node: <hostname>), or deploy the stack so that the volume exists first',
      });
    else if (at.places.length === 0) throw new ToolError('failed', at.unreachable[0]!.why);
    else
      throw new ToolError(
        'invalid_input',
        `volume ${ctx.project}_${key} is on ${holders.length} nodes (${holders.join(', ')}) and backup entry ${entry.target} does not record which it came from`,
        { hint: 'say which node to restore onto (node: <hostname>)' },
      );
  }
  if (!node) {
    // The services read another node's copy now: restoring this one would change nothing they see.
    const elsewhere = mounting.flatMap((s) => {
      const on = [...runningOn(s)];
      const where = on.length ? on : pinnedTo(s);
      return where.length && !where.includes(place.node) ? [`${s.name} (on ${where.join(', ')})`] : [];
    });
    if (elsewhere.length)
      throw new ToolError(
        'invalid_input',
        `volume ${key} was backed up on node ${place.node}, but ${elsewhere.join(', ')} uses another node's copy now: restoring the copy on ${place.node} would not change what it reads; nothing was changed`,
        {
          hint: `restore onto the node it runs on (node: <hostname>), or give node: ${place.node} to restore that copy anyway`,
        },
      );
  }
  const global = mounting.filter((s) => s.mode === 'global' && runningOn(s).has(place.node));
  if (global.length)
    throw new ToolError(
      'failed',
      `cannot restore volume ${key} on node ${place.node}: the global service ${global.map((s) => s.name).join(', ')} runs there and mounts it, and Swarm has no replica count to lower to stop that task; nothing was changed`,
      {
        hint: `drain node ${place.node} (docker node update --availability drain ${place.node}), restore, then make it active again`,
      },
    );
  const image = mounting[0]?.image || undefined;
  const volume = await resolveVolume(place.ctx, key, image);
  return { place, volume, mounting, image };
}

/**
 * Restores a Swarm volume on its node (checked by swarmVolumeRestore first): the replicated
 * services whose tasks mount it are scaled to 0 on the manager (recorded first through
 * `hooks.onStopped` as `<service>=<replicas>`, so an interrupted restore scales them back:
 * `hooks.alsoStart`); once no task of theirs runs on the node, the volume is emptied and the
 * archive extracted through the node's engine (as on Compose); then each is scaled back to its
 * count, on failure and after a cancellation too. Errors: ToolError timeout when the tasks do not
 * stop; failed when a service could not be scaled back (the journal keeps it, and restore with no
 * arguments completes it); those of swarmVolumeRestore.
 */
export async function restoreSwarmVolume(
  ctx: ToolContext,
  entry: ComponentEntry,
  source: () => Readable,
  hooks: { onStopped?: (names: string[]) => Promise<void>; alsoStart?: string[] } = {},
  prepared?: PreparedVolume | null,
  node?: string,
): Promise<{ volume: string; node: string; stopped: string[]; started: string[]; note?: string }> {
  const r = await swarmVolumeRestore(ctx, entry, node);
  const { place, volume: v } = r;
  const helper = prepared?.volume === v.name ? prepared : null;
  if (prepared && !helper) await prepared.discard();
  const swarm = new SwarmAdapter(ctx.docker);
  // Counts an interrupted restore scaled down (its journal) come back too, at the count they had.
  const earlier = new Map(
    (hooks.alsoStart ?? [])
      .map((n) => /^(.+)=(\d+)$/.exec(n))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => [m[1]!, Number(m[2])] as const),
  );
  const down = r.mounting
    .filter((s) => s.mode === 'replicated')
    .map((s) => ({ svc: s, replicas: earlier.get(s.name) ?? s.replicas ?? 0 }))
    .filter((d) => d.replicas > 0);
  await hooks.onStopped?.(down.map((d) => `${d.svc.name}=${d.replicas}`));
  const setReplicas = (s: SwarmService, n: number, signal?: AbortSignal) =>
    swarm.updateService(
      s.id,
      `set ${s.name} replicas to ${n}`,
      (spec) => {
        spec.Mode = { Replicated: { Replicas: n } };
      },
      signal,
    );
  const lowered: typeof down = [];
  let failure: unknown;
  try {
    for (const d of down) {
      lowered.push(d);
      await setReplicas(d.svc, 0, ctx.signal);
    }
    await untilNoneRuns(ctx, place, v.key, r.image);
    const data = source();
    await replaceVolumeContent(
      place.ctx,
      v.name,
      v.image,
      data,
      ctx.signal,
      archiveMount(entry),
      helper,
    ).catch((err: unknown) => {
      data.destroy();
      throw err;
    });
  } catch (err) {
    failure = err;
  }
  // Back to their counts even after a failure or a cancellation: a deadline of their own.
  const notBack: string[] = [];
  for (const d of lowered)
    await setReplicas(d.svc, d.replicas, AbortSignal.timeout(ctx.config.docker.timeout)).catch((err) => {
      notBack.push(`${d.svc.name} (to ${d.replicas}: ${reasonOf(err)})`);
    });
  if (notBack.length) {
    const what = `could not scale ${notBack.join(', ')} back after ${failure ? 'a failed' : 'the'} restore of volume ${v.name} on node ${place.node}`;
    throw new ToolError('failed', failure ? `${reasonOf(failure)}; also ${what}` : what, {
      hint: 'run restore again with no arguments: it completes the restore and scales them back (or doom-ops scale <service> <n>)',
      ...(failure ? { cause: failure } : {}),
    });
  }
  if (failure) throw failure;
  const loose = down.filter((d) => !d.svc.constraints.some((c) => pinned(c, place.node)));
  return {
    volume: v.name,
    node: place.node,
    stopped: down.map((d) => `${d.svc.name} (${d.replicas} → 0)`),
    started: down.map((d) => `${d.svc.name} (0 → ${d.replicas})`),
    ...(loose.length
      ? {
          note: `${loose.map((d) => d.svc.name).join(', ')} is not pinned to node ${place.node} by a placement constraint: Swarm may start its task on another node, whose copy of ${v.name} was not restored`,
        }
      : {}),
  };
}

/** Whether placement constraint `c` pins tasks to the node `hostname`. */
function pinned(c: string, hostname: string): boolean {
  return /^node\.hostname\s*==\s*(\S+)$/.exec(c.trim())?.[1] === hostname;
}

/** Waits, bounded, until no container on the node mounting volume `key` runs (Swarm stops them after the scale-down). */
async function untilNoneRuns(
  ctx: ToolContext,
  place: Place,
  key: string,
  image: string | undefined,
): Promise<void> {
  const deadline = Date.now() + STOP_WAIT_MS;
  for (;;) {
    const v = await resolveVolume(place.ctx, key, image);
    const running = v.owners.filter((o) => o.running);
    if (running.length === 0) return;
    if (Date.now() >= deadline)
      throw new ToolError(
        'timeout',
        `Swarm did not stop ${running.map((o) => o.name).join(', ')} on node ${place.node} within ${STOP_WAIT_MS / 1000} s; volume ${v.name} was not touched`,
        { hint: 'doom-ops health shows the tasks; the services were scaled back to their counts' },
      );
    await sleep(500, ctx.signal);
  }
}
