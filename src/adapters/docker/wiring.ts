import type Docker from 'dockerode';
import type { MountInfo, PortBinding, PortRange } from './types.js';

type Bindings = Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | undefined;

function bindings(map: Bindings): PortBinding[] {
  const out: PortBinding[] = [];
  for (const [containerPort, list] of Object.entries(map ?? {})) {
    for (const b of list ?? []) {
      const hostPort = Number(b.HostPort);
      // An empty HostPort asks the engine for an ephemeral port: nothing can conflict with it.
      if (Number.isInteger(hostPort) && hostPort > 0)
        out.push({ containerPort, hostIp: b.HostIp || '0.0.0.0', hostPort });
    }
  }
  return out;
}

/** Host port ranges ("40999-41000"): the engine gives each container one port of the range. */
function ranges(map: Bindings): PortRange[] {
  const out: PortRange[] = [];
  for (const [containerPort, list] of Object.entries(map ?? {}))
    for (const b of list ?? []) {
      const m = /^(\d+)-(\d+)$/.exec(b.HostPort ?? '');
      if (m) out.push({ containerPort, hostIp: b.HostIp || '0.0.0.0', from: Number(m[1]), to: Number(m[2]) });
    }
  return out;
}

/** How a container is wired to the host and other containers: mounts, ports, networks. */
export function wiring(info: Docker.ContainerInspectInfo): {
  mounts: MountInfo[];
  portBindings: PortBinding[];
  portRanges: PortRange[];
  publishedPorts: PortBinding[];
  exposedPorts: string[];
  networks: Array<{ name: string; aliases: string[] }>;
} {
  const mounts = (info.Mounts ?? []).map((m) => ({
    type: m.Type ?? 'volume',
    name: m.Type === 'volume' || !m.Type ? (m.Name ?? null) : null,
    source: m.Source,
    destination: m.Destination,
    rw: m.RW,
  }));
  return {
    mounts,
    portBindings: bindings(info.HostConfig.PortBindings as Bindings),
    portRanges: ranges(info.HostConfig.PortBindings as Bindings),
    publishedPorts: bindings(info.NetworkSettings?.Ports as Bindings),
    exposedPorts: Object.keys(info.Config.ExposedPorts ?? {}),
    networks: Object.entries(info.NetworkSettings?.Networks ?? {}).map(([name, n]) => ({
      name,
      aliases: (n as { Aliases?: string[] | null }).Aliases ?? [],
    })),
  };
}
