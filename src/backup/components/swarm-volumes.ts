import type { Readable } from 'node:stream';
import { SwarmAdapter, type SwarmService } from '../../adapters/swarm/client.js';
import { ToolError } from '../../errors.js';
import type { ToolContext } from '../../tools/context.js';
import { sleep } from '../../util/concurrency.js';
import type { ComponentEntry } from '../manifest.js';
import { type Place, placesOn, swarmVolumePlaces } from '../swarm-places.js';
import { archiveMount, type PreparedVolume, replaceVolumeContent, resolveVolume } from './volumes.js';

/** How long a restore waits for Swarm to stop the tasks mounting a volume. */
const STOP_WAIT_MS = 120_000;

/** A volume entry's Compose key: its target without `@node`. */
export function volumeKey(entry: Pick<ComponentEntry, 'target'>): string {
  return entry.target.split('@')[0]!;
}

/**
 * The node whose engine holds a Swarm volume entry's data: the node the backup recorded
 * (details.node, or the target's `@node`), else the only node holding the volume now. Errors:
 * ToolError failed when that node has no engine endpoint, invalid_input when several nodes hold it
 * and the backup does not say which, not_found when none does.
 */
export async function volumePlace(ctx: ToolContext, entry: ComponentEntry): Promise<Place> {
  const recorded =
    (typeof entry.details.node === 'string' ? entry.details.node : undefined) ?? entry.target.split('@')[1];
  const key = volumeKey(entry);
  if (recorded) {
    const at = placesOn(ctx, [recorded]);
    if (at.places[0]) return at.places[0];
    throw new ToolError('failed', `volume ${key} was backed up on ${at.unreachable[0]!.why}`, {
      hint: `add node ${recorded}'s engine to swarm.nodes in the doom-ops config, then restore again`,
    });
  }
  const at = await swarmVolumePlaces(ctx, key);
  const nodes = [...at.places.map((p) => p.node), ...at.unreachable.map((u) => u.node)];
  if (nodes.length === 1 && at.places[0]) return at.places[0];
  if (nodes.length === 0)
    throw new ToolError('not_found', `volume ${ctx.project}_${key} is on no node of the swarm`, {
      hint: 'deploy the stack (or scale the service mounting it up once) so that the volume exists, then restore again',
    });
  if (at.places.length === 0) throw new ToolError('failed', at.unreachable[0]!.why);
  throw new ToolError(
    'invalid_input',
    `volume ${ctx.project}_${key} is on ${nodes.length} nodes (${nodes.join(', ')}) and backup entry ${entry.target} does not record which it came from`,
    { hint: 'restore it by hand on the right node with the restic snapshot list_backups names' },
  );
}

/**
 * Restores a Swarm volume on its node: the replicated services whose tasks mount it are scaled to
 * 0 on the manager (recorded first through `hooks.onStopped` as `<service>=<replicas>`, so an
 * interrupted restore scales them back: `hooks.alsoStart`), and once no task of theirs runs, the
 * volume is emptied and the archive extracted through the node's engine (as on Compose); then each
 * is scaled back to its count, on failure and after a cancellation too. Errors: ToolError failed
 * for a global service mounting it (Swarm has no count to lower), timeout when its tasks do not stop.
 */
export async function restoreSwarmVolume(
  ctx: ToolContext,
  entry: ComponentEntry,
  source: () => Readable,
  hooks: { onStopped?: (names: string[]) => Promise<void>; alsoStart?: string[] } = {},
  prepared?: PreparedVolume | null,
): Promise<{ volume: string; node: string; stopped: string[]; started: string[]; note?: string }> {
  const place = await volumePlace(ctx, entry);
  const v = await resolveVolume(place.ctx, volumeKey(entry));
  const helper = prepared?.volume === v.name ? prepared : null;
  if (prepared && !helper) await prepared.discard();
  const swarm = new SwarmAdapter(ctx.docker);
  const mounting = (await swarm.services(ctx.project, ctx.signal)).filter((s) => s.volumes.includes(v.name));
  const global = mounting.filter((s) => s.mode === 'global');
  if (global.length)
    throw new ToolError(
      'failed',
      `cannot restore volume ${v.name} on node ${place.node}: the global service ${global.map((s) => s.name).join(', ')} mounts it, and Swarm has no replica count to lower to stop its task there; nothing was changed`,
      {
        hint: `drain node ${place.node} (docker node update --availability drain), restore, then make it active again`,
      },
    );
  // Counts an interrupted restore scaled down (its journal) come back too, at the count they had.
  const earlier = new Map(
    (hooks.alsoStart ?? [])
      .map((n) => n.split('='))
      .filter((p): p is [string, string] => p.length === 2)
      .map(([n, r]) => [n, Number(r)] as const),
  );
  const down = mounting
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
  try {
    for (const d of down) {
      lowered.push(d);
      await setReplicas(d.svc, 0, ctx.signal);
    }
    await untilNoneRuns(ctx, place, v.name);
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
  } finally {
    // Back to their counts even after a cancellation: a deadline of their own, not the caller's signal.
    for (const d of lowered)
      await setReplicas(d.svc, d.replicas, AbortSignal.timeout(ctx.config.docker.timeout)).catch((err) =>
        ctx.logger.error({ service: d.svc.name, err }, 'could not scale a service back after a restore'),
      );
  }
  const loose = down.filter(
    (d) => !d.svc.constraints.some((c) => /^node\.(hostname|id)\s*==/.test(c.replace(/\s+/g, ' ').trim())),
  );
  return {
    volume: v.name,
    node: place.node,
    stopped: down.map((d) => `${d.svc.name} (${d.replicas} → 0)`),
    started: down.map((d) => `${d.svc.name} (0 → ${d.replicas})`),
    ...(loose.length
      ? {
          note: `${loose.map((d) => d.svc.name).join(', ')} has no placement constraint on a node: Swarm may start its task on another node, whose copy of ${v.name} was not restored`,
        }
      : {}),
  };
}

/** Waits, bounded, until no container on the node mounting `volume` runs (Swarm stops them after the scale-down). */
async function untilNoneRuns(ctx: ToolContext, place: Place, volume: string): Promise<void> {
  const deadline = Date.now() + STOP_WAIT_MS;
  for (;;) {
    const v = await resolveVolume(place.ctx, volume.slice(ctx.project.length + 1));
    const running = v.owners.filter((o) => o.running);
    if (running.length === 0) return;
    if (Date.now() >= deadline)
      throw new ToolError(
        'timeout',
        `Swarm did not stop ${running.map((o) => o.name).join(', ')} on node ${place.node} within ${STOP_WAIT_MS / 1000} s; volume ${volume} was not touched`,
        { hint: 'doom-ops health shows the tasks; the services were scaled back to their counts' },
      );
    await sleep(500, ctx.signal);
  }
}
