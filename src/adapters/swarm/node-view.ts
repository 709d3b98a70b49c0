import type { DockerAdapter } from '../docker/client.js';
import { containerName } from '../docker/labels.js';
import type { StackContainer, StackVolume } from '../docker/types.js';
import { STACK_NAMESPACE } from './client.js';

/** Labels the Swarm agent puts on a task's container. */
const TASK_LABEL = {
  service: 'com.docker.swarm.service.name',
  task: 'com.docker.swarm.task.name',
} as const;

/**
 * One swarm node's own engine seen as holding one stack, so that code written for a Compose
 * project on one engine (volume archives, execs in a service's container, DuckDB checkpoints)
 * runs unchanged on that node:
 *  - listStack(ns) lists the stack's task containers on this node (label com.docker.stack.namespace),
 *    each with its Compose service name (the Swarm service name without `<stack>_`) and its replica
 *    slot as number (0 for a global service's task);
 *  - stackVolumes(ns) lists the node's volumes labelled com.docker.stack.namespace (what
 *    `docker stack deploy` creates), keyed by the name without `<stack>_` (a volume given its own
 *    `name:` in the Compose file is keyed by that name);
 *  - sameHostAccess always gives a reason: a node's volumes are read through its Engine API, never
 *    from a directory of this host.
 * Everything else is the node's engine (its calls, deadlines and errors). `node`: its hostname.
 */
export function stackNodeView(engine: DockerAdapter, node: string): DockerAdapter {
  const view = Object.create(engine) as DockerAdapter;
  const unscoped = (ns: string, name: string) =>
    name.startsWith(`${ns}_`) ? name.slice(ns.length + 1) : name;
  Object.defineProperties(view, {
    listStack: {
      value: async (ns: string, signal?: AbortSignal): Promise<StackContainer[]> => {
        const list = await engine.call(`list containers on node ${node}`, signal, (s) =>
          engine.docker.listContainers({
            all: true,
            filters: { label: [`${STACK_NAMESPACE}=${ns}`] },
            abortSignal: s,
          }),
        );
        return list
          .filter((c) => c.Labels?.[TASK_LABEL.service])
          .map((c) => {
            // <stack>_<service>.<slot>.<task id> (a global service's: <stack>_<service>.<node id>.<task id>)
            const slot = Number((c.Labels[TASK_LABEL.task] ?? '').split('.').at(-2));
            return {
              id: c.Id,
              name: containerName(c.Names),
              project: ns,
              service: unscoped(ns, c.Labels[TASK_LABEL.service]!),
              number: Number.isInteger(slot) && slot > 0 ? slot : 0,
              oneoff: false,
              state: c.State,
              status: c.Status,
              image: c.Image,
              createdAt: new Date(c.Created * 1000).toISOString(),
              labels: c.Labels ?? {},
            };
          })
          .sort((a, b) => a.service.localeCompare(b.service) || a.number - b.number);
      },
    },
    stackVolumes: {
      value: async (ns: string, signal?: AbortSignal, key?: string): Promise<StackVolume[]> => {
        const { Volumes } = await engine.call(`list volumes on node ${node}`, signal, (s) =>
          engine.docker.listVolumes({
            filters: { label: [`${STACK_NAMESPACE}=${ns}`] },
            abortSignal: s,
          } as object),
        );
        // `<stack>_<key>`, or a volume the Compose file names itself (`name:`), its key being that name.
        return (Volumes ?? [])
          .filter((v) => key === undefined || v.Name === `${ns}_${key}` || v.Name === key)
          .map((v) => ({
            name: v.Name,
            key: unscoped(ns, v.Name),
            driver: v.Driver,
            options: v.Options ?? {},
            mountpoint: v.Mountpoint,
          }))
          .sort((a, b) => a.key.localeCompare(b.key));
      },
    },
    sameHostAccess: {
      value: async () => `a Swarm node's volume (node ${node}) is read through that node's engine`,
    },
  });
  return view;
}
