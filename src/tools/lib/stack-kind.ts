import type { DockerAdapter } from '../../adapters/docker/client.js';
import { SwarmAdapter } from '../../adapters/swarm/client.js';
import { ToolError } from '../../errors.js';
import type { ToolContext } from '../context.js';

export type StackKind = 'compose' | 'swarm';

/** How long a detected kind is reused by one adapter (serve asks on every call). */
const DETECTED_FOR_MS = 30_000;
const detected = new WeakMap<DockerAdapter, Map<string, { kind: StackKind; at: number }>>();

/**
 * Whether ctx.project is a Compose project or a Swarm stack: config `stack.kind` when it is not
 * `auto`; otherwise `swarm` when the engine is an active swarm manager (GET /info) holding services
 * labelled com.docker.stack.namespace=<project> and no Compose container of the project exists,
 * else `compose` (also when GET /info fails: the Compose calls that follow report the engine's
 * error). A detection is kept for 30 s per adapter. Errors: the engine's, listing the services;
 * ToolError invalid_input when the engine is a swarm worker holding no Compose container of the
 * project (a Swarm stack must be asked of a manager: the message says so and names the managers).
 */
export async function stackKind(ctx: ToolContext): Promise<StackKind> {
  const configured = ctx.config.stack?.kind ?? 'auto';
  if (configured !== 'auto') return configured;
  // A context with no engine client (tools that never reach an engine) has no Swarm to find.
  if (typeof ctx.docker?.call !== 'function') return 'compose';
  const mine = detected.get(ctx.docker) ?? new Map<string, { kind: StackKind; at: number }>();
  detected.set(ctx.docker, mine);
  const hit = mine.get(ctx.project);
  if (hit && Date.now() - hit.at < DETECTED_FOR_MS) return hit.kind;
  const swarm = new SwarmAdapter(ctx.docker);
  let kind: StackKind = 'compose';
  // An engine that cannot say (a socket proxy refusing GET /info): Compose, asked again next time.
  const { role, managers } = await swarm
    .role(ctx.signal)
    .catch(() => ({ role: 'none' as const, managers: [] }));
  if (role === 'worker') {
    // A worker holds only its own tasks: a stack seen from it would look empty or half there.
    const mine = await ctx.docker.listStack(ctx.project, ctx.signal);
    if (mine.length === 0)
      throw new ToolError(
        'invalid_input',
        `DOCKER_HOST (${ctx.docker.engine}) is a swarm worker: the stack ${ctx.project}'s services, tasks and nodes are known only to managers, and this engine has no Compose container of it either`,
        {
          hint: `point DOCKER_HOST at a swarm manager${managers.length ? ` (this worker knows ${managers.join(', ')}; the API is usually on port 2375/2376 or ssh://)` : ''}, or set stack.kind: compose if ${ctx.project} is a Compose project on this engine`,
        },
      );
    return kind;
  }
  if (role !== 'manager') return kind;
  {
    const [services, containers] = await Promise.all([
      swarm.services(ctx.project, ctx.signal),
      ctx.docker.listStack(ctx.project, ctx.signal),
    ]);
    if (services.length > 0 && containers.length === 0) kind = 'swarm';
  }
  mine.set(ctx.project, { kind, at: Date.now() });
  return kind;
}
