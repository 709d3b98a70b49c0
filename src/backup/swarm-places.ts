import { removeOrphanHelpers } from '../adapters/docker/helper.js';
import { SwarmAdapter, type SwarmService } from '../adapters/swarm/client.js';
import { stackNodeView } from '../adapters/swarm/node-view.js';
import { NodeEngines } from '../adapters/swarm/nodes.js';
import { ToolError } from '../errors.js';
import type { ToolContext } from '../tools/context.js';
import { nodeName } from '../tools/lib/swarm-health.js';
import { reasonOf } from './reason.js';

/** A swarm node whose own engine doom-ops reaches, and a context whose `docker` is that engine seen as holding the stack (stackNodeView). */
export interface Place {
  node: string;
  ctx: ToolContext;
}

/** Where something of a Swarm stack is: the nodes reached, and those that hold it but cannot be reached (with why). */
export interface Placement {
  places: Place[];
  unreachable: Array<{ node: string; why: string }>;
}

const NO_ENDPOINT = (node: string) =>
  `node ${node} has no engine endpoint in swarm.nodes (add one: unix://, tcp:// or ssh://)`;

function engines(ctx: ToolContext): NodeEngines {
  return new NodeEngines(ctx.config.swarm?.nodes ?? {}, ctx.config.docker.timeout);
}

function place(ctx: ToolContext, all: NodeEngines, node: string): Place | null {
  const engine = all.get(node);
  return engine
    ? {
        node,
        ctx: { ...ctx, docker: stackNodeView(engine, node), swarmManager: ctx.swarmManager ?? ctx.docker },
      }
    : null;
}

/**
 * The Swarm stack's volume keys (the volume's name without `<stack>_`): backup.volumes when set,
 * else every named volume a service of the stack mounts (its spec, from the manager); backup.exclude
 * removed. Sorted. Errors: the manager's.
 */
export async function swarmVolumeKeys(ctx: ToolContext): Promise<string[]> {
  const cfg = ctx.config.backup;
  const prefix = `${ctx.project}_`;
  // The volumes the stack made: `<stack>_<key>`, or the name the Compose file gave one (`name:`).
  const keys = cfg.volumes.length
    ? cfg.volumes
    : (await new SwarmAdapter(ctx.docker).services(ctx.project, ctx.signal)).flatMap((s) =>
        s.stackVolumes.map((v) => (v.startsWith(prefix) ? v.slice(prefix.length) : v)),
      );
  return [...new Set(keys)].filter((k) => !cfg.exclude.includes(k)).sort();
}

/**
 * Where the stack's volume `key` (`<stack>_<key>`) lives. Swarm volumes are node-local: each node
 * that ran a task mounting it has its own copy. A node is a place when its engine (swarm.nodes)
 * holds the volume; a node that ran such a task (the manager's task history) but has no endpoint,
 * or whose engine cannot be asked, is unreachable, with the reason. Errors: the manager's.
 */
export async function swarmVolumePlaces(ctx: ToolContext, key: string): Promise<Placement> {
  const swarm = new SwarmAdapter(ctx.docker);
  const [services, nodes] = await Promise.all([
    swarm.services(ctx.project, ctx.signal),
    swarm.nodes(ctx.signal),
  ]);
  const mounting = services.filter((s) => mounts(ctx, s, key)).map((s) => s.name);
  const ran = new Set(
    (mounting.length ? await swarm.tasks(mounting, ctx.signal) : [])
      .filter((t) => t.containerId)
      .map((t) => nodeName(nodes, t.nodeId))
      .filter((n): n is string => !!n),
  );
  const all = engines(ctx);
  const out: Placement = { places: [], unreachable: [] };
  for (const n of nodes) {
    const p = place(ctx, all, n.hostname);
    if (!p) {
      if (ran.has(n.hostname)) out.unreachable.push({ node: n.hostname, why: NO_ENDPOINT(n.hostname) });
      continue;
    }
    try {
      if ((await p.ctx.docker.stackVolumes(ctx.project, ctx.signal, key)).length) out.places.push(p);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      // Whether it holds a copy cannot be known: named, never skipped.
      out.unreachable.push({
        node: n.hostname,
        why: `node ${n.hostname}'s engine could not be asked${ran.has(n.hostname) ? ' (a task mounting the volume ran there)' : ' whether it holds a copy'}: ${reasonOf(err)}`,
      });
    }
  }
  return out;
}

/**
 * The nodes where `service`'s tasks run now (running state, from the manager), each as a place when
 * its engine is known, else unreachable. Errors: the manager's (not_found for an unknown service).
 */
export async function swarmServicePlaces(ctx: ToolContext, service: string): Promise<Placement> {
  const swarm = new SwarmAdapter(ctx.docker);
  const svc = await swarm.service(ctx.project, service, ctx.signal);
  const [tasks, nodes] = await Promise.all([swarm.tasks([svc.name], ctx.signal), swarm.nodes(ctx.signal)]);
  const running = new Set(
    tasks
      .filter((t) => t.state === 'running')
      .map((t) => nodeName(nodes, t.nodeId))
      .filter((n): n is string => !!n),
  );
  return placesOn(ctx, [...running].sort());
}

/** Whether service `s` mounts the stack's volume `key` (`<stack>_<key>`, or a volume named `key` itself). */
export function mounts(ctx: Pick<ToolContext, 'project'>, s: SwarmService, key: string): boolean {
  return s.volumes.includes(`${ctx.project}_${key}`) || s.volumes.includes(key);
}

/** The image of a service mounting the stack's volume `key` (for a helper on a node with no task container left). */
export async function imageFor(ctx: ToolContext, key: string): Promise<string | undefined> {
  const services = await new SwarmAdapter(ctx.docker).services(ctx.project, ctx.signal);
  return services.find((s) => mounts(ctx, s, key))?.image || undefined;
}

/**
 * Removes what a killed backup or restore left on each node with an endpoint (helpers holding
 * volumes). A node that cannot be asked is logged and skipped: the helpers there are removed next time.
 */
export async function removeOrphanHelpersOnNodes(ctx: ToolContext): Promise<void> {
  const all = engines(ctx);
  await Promise.all(
    Object.keys(ctx.config.swarm?.nodes ?? {}).map(async (node) => {
      const engine = all.get(node);
      if (engine)
        await removeOrphanHelpers(engine, ctx.signal).catch((err: unknown) => {
          if (ctx.signal.aborted) throw err;
          ctx.logger.warn(
            { node, err: reasonOf(err) },
            'could not look for left-over helpers on a swarm node',
          );
        });
    }),
  );
}

/** The named nodes as places, or unreachable when they have no endpoint. */
export function placesOn(ctx: ToolContext, hostnames: string[]): Placement {
  const all = engines(ctx);
  const out: Placement = { places: [], unreachable: [] };
  for (const h of hostnames) {
    const p = place(ctx, all, h);
    if (p) out.places.push(p);
    else out.unreachable.push({ node: h, why: NO_ENDPOINT(h) });
  }
  return out;
}

/** The one place of a service that must run on one node to be used (mongodump's MongoDB); a ToolError naming why not. */
export async function onePlace(ctx: ToolContext, service: string, why: string): Promise<Place> {
  const p = await swarmServicePlaces(ctx, service);
  const first = p.places[0];
  if (first) return first;
  const cut = p.unreachable[0];
  if (cut)
    throw new ToolError('failed', `${why}: ${service} runs on ${cut.why}`, {
      hint: `add node ${cut.node}'s engine to swarm.nodes in the doom-ops config`,
    });
  throw new ToolError('not_found', `${why}: no task of ${ctx.project}_${service} is running`, {
    hint: `start it first (doom-ops health shows why it does not run)`,
  });
}
