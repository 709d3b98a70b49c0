import type { DockerAdapter } from './client.js';
import { composeIdentity, containerName } from './labels.js';

export interface Publisher {
  id: string;
  name: string;
  project: string | null;
  service: string | null;
  hostIp: string;
  hostPort: number;
  containerPort: string;
}

/** Every running container on the engine that publishes a host port (`docker ps --filter publish=`). */
export async function listPublishers(adapter: DockerAdapter, signal?: AbortSignal): Promise<Publisher[]> {
  const list = await adapter.call('list containers publishing ports', signal, (s) =>
    adapter.docker.listContainers({ abortSignal: s } as object),
  );
  const out: Publisher[] = [];
  for (const c of list) {
    const identity = composeIdentity(c.Labels);
    for (const p of c.Ports ?? []) {
      if (!p.PublicPort) continue;
      out.push({
        id: c.Id,
        name: containerName(c.Names),
        project: identity?.project ?? null,
        service: identity?.service ?? null,
        hostIp: p.IP || '0.0.0.0',
        hostPort: p.PublicPort,
        containerPort: `${p.PrivatePort}/${p.Type}`,
      });
    }
  }
  return out;
}
