import { ToolError } from '../../errors.js';
import type { DockerAdapter } from '../docker/client.js';
import { secretEnvValues } from '../docker/secret-env.js';

/** The label `docker stack deploy` puts on a stack's services, networks and tasks' containers. */
export const STACK_NAMESPACE = 'com.docker.stack.namespace';

/** A Swarm service of a stack, as the manager holds it (GET /services). Plain data. */
export interface SwarmService {
  id: string;
  /** The full service name, `<stack>_<service>`. */
  name: string;
  /** The Compose file's service name (the full name without the `<stack>_` prefix). */
  service: string;
  mode: 'replicated' | 'global';
  /** Spec.Mode.Replicated.Replicas; null for a global service. */
  replicas: number | null;
  image: string;
  /** UpdateStatus: the last rolling update's state (updating, paused, completed, rollback_started, rollback_paused, rollback_completed) and message; null when never updated. */
  update: { state: string; message: string } | null;
  /** Spec.UpdateConfig.FailureAction: pause (Swarm's default), continue or rollback. */
  failureAction: string | null;
  /** Spec.TaskTemplate.Placement.Constraints, e.g. `node.labels.gpu==true`. */
  constraints: string[];
  /** Spec.TaskTemplate.Resources.Limits.MemoryBytes; null when unlimited. */
  memoryLimitBytes: number | null;
  /** Spec.TaskTemplate.ContainerSpec.TTY: its logs are one raw stream (not multiplexed). */
  tty: boolean;
  /** Spec.Labels: the service's own labels (deploy.labels, com.docker.stack.namespace, doom-ops.down.replicas). */
  labels: Record<string, string>;
  /** Engine names of the named volumes its tasks mount (Spec.TaskTemplate.ContainerSpec.Mounts of type volume), e.g. `<stack>_nats-data`. */
  volumes: string[];
  /** Those of `volumes` the stack made (their mount's volume options carry com.docker.stack.namespace): not external ones. */
  stackVolumes: string[];
  /** Secret values of its environment (secretEnvValues of Spec.TaskTemplate.ContainerSpec.Env): for redaction only. */
  secretValues: string[];
}

/** One task (one scheduling of one replica slot) as the manager holds it (GET /tasks). */
export interface SwarmTask {
  id: string;
  serviceId: string;
  /** Replica slot (replicated services); null for a global service's tasks. */
  slot: number | null;
  /** The node it was assigned to; null while it is pending (no node could take it). */
  nodeId: string | null;
  /** What the orchestrator wants: running, shutdown, remove… */
  desiredState: string;
  /** Where it is: new, pending, assigned, …, running, complete, shutdown, failed, rejected, orphaned. */
  state: string;
  /** Status.Message, e.g. "started", "pending task scheduling". */
  message: string;
  /** Status.Err, e.g. "no suitable node (insufficient resources on 2 nodes)", "task: non-zero exit (137)". */
  error: string | null;
  exitCode: number | null;
  containerId: string | null;
  /** When it reached its current state (Status.Timestamp), ISO 8601. */
  at: string;
  createdAt: string;
}

/** A swarm node as the manager holds it (GET /nodes). */
export interface SwarmNode {
  id: string;
  hostname: string;
  role: 'manager' | 'worker';
  /** Status.State: ready, down, unknown, disconnected. */
  state: string;
  /** Spec.Availability: active, pause, drain. */
  availability: string;
  addr: string;
  leader: boolean;
  /** Spec.Labels: what `node.labels.*` placement constraints match. */
  labels: Record<string, string>;
  /** Description.Resources: what the scheduler can place on it. */
  nanoCpus: number;
  memoryBytes: number;
}

// biome-ignore lint/suspicious/noExplicitAny: the Engine API's JSON, read field by field into the typed views below
type Json = Record<string, any>;

/**
 * The Swarm half of the Engine API, asked of a manager (the engine `docker` points at): a stack's
 * services, their tasks and the nodes. Every call goes through DockerAdapter.call (deadline,
 * cancellation, errors that name the engine). Throws ToolError upstream_unavailable / not_found
 * as DockerAdapter does; a worker node answers 503 ("This node is not a swarm manager").
 */
export class SwarmAdapter {
  constructor(readonly docker: DockerAdapter) {}

  /**
   * Whether this engine is an active swarm manager (GET /info: Swarm.LocalNodeState `active` and
   * Swarm.ControlAvailable). False for a plain engine or a worker.
   */
  async isManager(signal?: AbortSignal): Promise<boolean> {
    return (await this.role(signal)).role === 'manager';
  }

  /**
   * The engine's part in a swarm (GET /info): manager, worker (with the managers' addresses it
   * knows, Swarm.RemoteManagers), or none (not an active swarm member).
   */
  async role(signal?: AbortSignal): Promise<{ role: 'manager' | 'worker' | 'none'; managers: string[] }> {
    const info = (await this.docker.call('read the engine info', signal, (s) =>
      (this.docker.docker.info as (o: object) => Promise<Json>)({ abortSignal: s }),
    )) as Json;
    const sw = info.Swarm ?? {};
    if (sw.LocalNodeState !== 'active') return { role: 'none', managers: [] };
    if (sw.ControlAvailable === true) return { role: 'manager', managers: [] };
    return {
      role: 'worker',
      managers: ((sw.RemoteManagers ?? []) as Json[]).map((m) => String(m.Addr ?? '')).filter(Boolean),
    };
  }

  /** The services of stack `namespace` (label com.docker.stack.namespace), by name. */
  async services(namespace: string, signal?: AbortSignal): Promise<SwarmService[]> {
    const list = (await this.docker.call(`list the services of stack ${namespace}`, signal, (s) =>
      this.docker.docker.listServices({
        filters: { label: [`${STACK_NAMESPACE}=${namespace}`] },
        abortSignal: s,
      } as object),
    )) as Json[];
    return list.map((x) => toService(x, namespace)).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Service `service` of stack `namespace`; ToolError not_found (naming the stack's services) when it has none. */
  async service(namespace: string, service: string, signal?: AbortSignal): Promise<SwarmService> {
    const all = await this.services(namespace, signal);
    const svc = all.find((s) => s.service === service);
    if (!svc)
      throw new ToolError('not_found', `Swarm stack ${namespace} has no service "${service}"`, {
        hint: `its services: ${all.map((s) => s.service).join(', ') || 'none'} (docker stack services ${namespace})`,
      });
    return svc;
  }

  /** Every task the manager still holds for these services (its task history: 5 per slot by default). */
  async tasks(serviceNames: string[], signal?: AbortSignal): Promise<SwarmTask[]> {
    if (serviceNames.length === 0) return [];
    const list = (await this.docker.call('list the services’ tasks', signal, (s) =>
      (this.docker.docker.listTasks as (o: object) => Promise<Json[]>)({
        filters: { service: serviceNames },
        abortSignal: s,
      }),
    )) as Json[];
    return list.map(toTask).sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  }

  /**
   * Changes a service's spec the way `docker service update` does: reads it (GET /services/{id},
   * its spec and version), applies `change` to a copy, and posts it (POST /services/{id}/update
   * with that version, so a concurrent change makes the engine refuse rather than be overwritten).
   * Returns the engine's warnings (e.g. no image digest without a registry). Errors: ToolError
   * conflict when the service changed meanwhile twice over (update out of sequence; once is retried
   * with the new version), not_found when it is gone.
   */
  async updateService(
    id: string,
    what: string,
    change: (spec: Json) => void,
    signal?: AbortSignal,
  ): Promise<string[]> {
    const svc = this.docker.docker.getService(id);
    // A rolling update in progress bumps the version itself: read again and retry once.
    for (let attempt = 1; ; attempt++) {
      const current = (await this.docker.call(`inspect service ${id.slice(0, 12)}`, signal, (s) =>
        svc.inspect({ abortSignal: s } as object),
      )) as Json;
      const spec = structuredClone(current.Spec) as Json;
      change(spec);
      try {
        const r = (await this.docker.call(what, signal, (s) =>
          svc.update({ _query: { version: current.Version.Index }, _body: spec, abortSignal: s } as object),
        )) as Json | undefined;
        return r?.Warnings ?? [];
      } catch (err) {
        // The engine answers 500 "update out of sequence" when the service changed meanwhile.
        if (!(err instanceof ToolError) || !/out of sequence/i.test(err.message)) throw err;
        if (attempt >= 2)
          throw new ToolError(
            'conflict',
            `${what}: the service kept changing while it was being updated; nothing was changed by this call`,
            {
              hint: 'wait for the update in progress to finish (doom-ops health), then try again',
              cause: err,
            },
          );
      }
    }
  }

  /**
   * A stack as the manager holds it: its services, the swarm's nodes, and the services' tasks
   * (GET /services, /nodes, then /tasks; no tasks call for a stack without services).
   */
  async stack(
    namespace: string,
    signal?: AbortSignal,
  ): Promise<{ services: SwarmService[]; nodes: SwarmNode[]; tasks: SwarmTask[] }> {
    const [services, nodes] = await Promise.all([this.services(namespace, signal), this.nodes(signal)]);
    const tasks = services.length
      ? await this.tasks(
          services.map((s) => s.name),
          signal,
        )
      : [];
    return { services, nodes, tasks };
  }

  /** The swarm's nodes. */
  async nodes(signal?: AbortSignal): Promise<SwarmNode[]> {
    const list = (await this.docker.call('list the swarm nodes', signal, (s) =>
      (this.docker.docker.listNodes as (o: object) => Promise<Json[]>)({ abortSignal: s }),
    )) as Json[];
    return list.map(toNode).sort((a, b) => a.hostname.localeCompare(b.hostname));
  }
}

function toService(x: Json, namespace: string): SwarmService {
  const spec = x.Spec ?? {};
  const name: string = spec.Name ?? x.ID;
  const replicated = spec.Mode?.Replicated;
  const update = x.UpdateStatus;
  const image: string = spec.TaskTemplate?.ContainerSpec?.Image ?? '';
  return {
    id: x.ID,
    name,
    service: name.startsWith(`${namespace}_`) ? name.slice(namespace.length + 1) : name,
    mode: replicated ? 'replicated' : 'global',
    replicas: replicated ? Number(replicated.Replicas ?? 1) : null,
    // Without a registry the engine records no digest; with one it appends @sha256:… (not shown).
    image: image.replace(/@sha256:[0-9a-f]+$/, ''),
    update: update?.State ? { state: update.State, message: update.Message ?? '' } : null,
    failureAction: spec.UpdateConfig?.FailureAction ?? null,
    constraints: spec.TaskTemplate?.Placement?.Constraints ?? [],
    memoryLimitBytes: spec.TaskTemplate?.Resources?.Limits?.MemoryBytes || null,
    tty: Boolean(spec.TaskTemplate?.ContainerSpec?.TTY),
    labels: spec.Labels ?? {},
    volumes: ((spec.TaskTemplate?.ContainerSpec?.Mounts ?? []) as Json[])
      .filter((m) => m.Type === 'volume' && m.Source)
      .map((m) => String(m.Source)),
    stackVolumes: ((spec.TaskTemplate?.ContainerSpec?.Mounts ?? []) as Json[])
      .filter(
        (m) => m.Type === 'volume' && m.Source && m.VolumeOptions?.Labels?.[STACK_NAMESPACE] === namespace,
      )
      .map((m) => String(m.Source)),
    secretValues: secretEnvValues(spec.TaskTemplate?.ContainerSpec?.Env),
  };
}

function toTask(x: Json): SwarmTask {
  const st = x.Status ?? {};
  const cs = st.ContainerStatus ?? {};
  return {
    id: x.ID,
    serviceId: x.ServiceID,
    slot: typeof x.Slot === 'number' ? x.Slot : null,
    nodeId: x.NodeID || null,
    desiredState: x.DesiredState ?? '',
    state: st.State ?? '',
    message: st.Message ?? '',
    error: st.Err || null,
    // The engine reports 0 for a task that never ran a container; only a container's exit counts.
    exitCode: cs.ContainerID && typeof cs.ExitCode === 'number' ? cs.ExitCode : null,
    containerId: cs.ContainerID || null,
    at: st.Timestamp ?? x.UpdatedAt ?? x.CreatedAt,
    createdAt: x.CreatedAt,
  };
}

function toNode(x: Json): SwarmNode {
  return {
    id: x.ID,
    hostname: x.Description?.Hostname ?? x.ID,
    role: x.Spec?.Role === 'manager' ? 'manager' : 'worker',
    state: x.Status?.State ?? 'unknown',
    availability: x.Spec?.Availability ?? 'active',
    addr: x.Status?.Addr ?? '',
    leader: Boolean(x.ManagerStatus?.Leader),
    labels: x.Spec?.Labels ?? {},
    nanoCpus: x.Description?.Resources?.NanoCPUs ?? 0,
    memoryBytes: x.Description?.Resources?.MemoryBytes ?? 0,
  };
}
