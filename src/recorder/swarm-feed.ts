import type { DockerAdapter } from '../adapters/docker/client.js';
import type { EngineEvent } from '../adapters/docker/types.js';
import {
  STACK_NAMESPACE,
  SwarmAdapter,
  type SwarmNode,
  type SwarmService,
  type SwarmTask,
} from '../adapters/swarm/client.js';

/** Task states worth keeping: a start, an end, or a task no node can take (with the scheduler's reason). */
const KEPT_STATES = new Set(['running', 'complete', 'failed', 'rejected', 'shutdown', 'orphaned']);

/**
 * Whether `project` is a Swarm stack on this engine, as stackKind decides it (the recorder sits
 * below the tools): `kind` from config when not auto; otherwise the engine is an active manager
 * holding services of the stack and no Compose container of the project. Null when it cannot say
 * (the engine's error): a caller keeps what it had.
 */
export async function recordsSwarm(
  docker: DockerAdapter,
  project: string,
  kind: 'auto' | 'compose' | 'swarm',
  signal: AbortSignal,
): Promise<boolean | null> {
  if (kind !== 'auto') return kind === 'swarm';
  try {
    const swarm = new SwarmAdapter(docker);
    if (!(await swarm.isManager(signal))) return false;
    const [services, containers] = await Promise.all([
      swarm.services(project, signal),
      docker.listStack(project, signal),
    ]);
    return services.length > 0 && containers.length === 0;
  } catch {
    return null;
  }
}

/** The key a task state is recorded under (one event per task and state). */
export function taskStateKey(e: Pick<EngineEvent, 'id' | 'action'>): string {
  return `${e.id}:${e.action}`;
}

/**
 * A task's state change as a recorded event (type `task`, action = its state), from the manager's
 * task list: the time it reached that state, the service (full and Compose name), node, exit code,
 * error and container. Null for states that are only steps on the way (assigned, preparing…),
 * except a pending task with the scheduler's reason (it cannot be placed).
 */
export function taskEvent(
  project: string,
  t: SwarmTask,
  services: SwarmService[],
  nodes: SwarmNode[],
): EngineEvent | null {
  const svc = services.find((s) => s.id === t.serviceId);
  if (!svc) return null;
  if (!KEPT_STATES.has(t.state) && !(t.state === 'pending' && t.error)) return null;
  const node = nodes.find((n) => n.id === t.nodeId)?.hostname;
  return {
    time: t.at,
    type: 'task',
    action: t.state,
    id: t.id,
    name: `${svc.name}.${t.slot ?? t.nodeId ?? t.id.slice(0, 12)}`,
    attributes: {
      [STACK_NAMESPACE]: project,
      'com.docker.swarm.service.name': svc.name,
      service: svc.service,
      ...(node ? { node } : {}),
      ...(t.exitCode !== null ? { exitCode: String(t.exitCode) } : {}),
      ...(t.error ? { error: t.error } : {}),
      ...(t.containerId ? { container: t.containerId } : {}),
    },
  };
}

/** One poll of the stack's tasks (GET /services, /nodes, /tasks on the manager) as task events, oldest first. */
export async function pollTaskEvents(
  docker: DockerAdapter,
  project: string,
  signal: AbortSignal,
): Promise<EngineEvent[]> {
  const { services, nodes, tasks } = await new SwarmAdapter(docker).stack(project, signal);
  return tasks
    .map((t) => taskEvent(project, t, services, nodes))
    .filter((e): e is EngineEvent => e !== null)
    .sort((a, b) => a.time.localeCompare(b.time));
}

/** A manager's service and node events that belong to the stack: its services (`<stack>_…`) and every node. */
export function stackSwarmEvent(project: string, e: EngineEvent): boolean {
  if (e.type === 'node') return true;
  return e.type === 'service' && (e.attributes.name ?? '').startsWith(`${project}_`);
}
