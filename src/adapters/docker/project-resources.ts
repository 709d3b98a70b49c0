import type { DockerAdapter } from './client.js';
import { containerName, LABEL } from './labels.js';

/** One container, network or volume of a Compose project, with its labels. */
export interface ProjectResource {
  kind: 'container' | 'network' | 'volume';
  name: string;
  labels: Record<string, string>;
}

/**
 * Everything on the engine that carries `com.docker.compose.project=<project>`: containers (any
 * state), networks and volumes. Errors are ToolErrors naming the engine (DockerAdapter.call).
 */
export async function projectResources(
  adapter: DockerAdapter,
  project: string,
  signal?: AbortSignal,
): Promise<ProjectResource[]> {
  const label = [`${LABEL.project}=${project}`];
  const [containers, networks, volumes] = await Promise.all([
    adapter.call('list the project containers', signal, (s) =>
      adapter.docker.listContainers({ all: true, filters: { label }, abortSignal: s } as object),
    ),
    adapter.call('list the project networks', signal, (s) =>
      adapter.docker.listNetworks({ filters: { label }, abortSignal: s } as object),
    ),
    adapter.call('list the project volumes', signal, (s) =>
      adapter.docker.listVolumes({ filters: { label }, abortSignal: s } as object),
    ),
  ]);
  return [
    ...containers.map((c) => ({
      kind: 'container' as const,
      name: containerName(c.Names),
      labels: c.Labels ?? {},
    })),
    ...networks.map((n) => ({ kind: 'network' as const, name: n.Name, labels: n.Labels ?? {} })),
    ...(volumes.Volumes ?? []).map((v) => ({
      kind: 'volume' as const,
      name: v.Name,
      labels: (v.Labels ?? {}) as Record<string, string>,
    })),
  ];
}
