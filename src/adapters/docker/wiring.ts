import type Docker from 'dockerode';
import type { MountInfo, PortBinding, PortRange, PortRequest } from './types.js';

type Bindings = Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | undefined;

function bindings(map: Bindings): PortBinding[] {
  const out: PortBinding[] = [];
  for (const [containerPort, list] of Object.entries(map ?? {})) {
    for (const b of list ?? []) {
      const hostPort = Number(b.HostPort);
      // Fixed ports only: an empty HostPort (ephemeral) and a range are listed apart.
      if (Number.isInteger(hostPort) && hostPort > 0)
        out.push({ containerPort, hostIp: b.HostIp || '0.0.0.0', hostPort });
    }
  }
  return out;
}

/**
 * Ports published with no host port (Compose `ports: ["80"]` or `"127.0.0.1::80"`): HostConfig has
 * HostPort "" and the engine picks a free host port at each start (NetworkSettings.Ports has it).
 */
function ephemeral(map: Bindings): PortRequest[] {
  const out: PortRequest[] = [];
  for (const [containerPort, list] of Object.entries(map ?? {}))
    for (const b of list ?? [])
      if (!b.HostPort || b.HostPort === '0') out.push({ containerPort, hostIp: b.HostIp || '0.0.0.0' });
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
  ephemeralPorts: PortRequest[];
  publishedPorts: PortBinding[];
  exposedPorts: string[];
  networks: Array<{ name: string; aliases: string[]; ip: string | null }>;
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
    ephemeralPorts: ephemeral(info.HostConfig.PortBindings as Bindings),
    publishedPorts: bindings(info.NetworkSettings?.Ports as Bindings),
    exposedPorts: Object.keys(info.Config.ExposedPorts ?? {}),
    networks: Object.entries(info.NetworkSettings?.Networks ?? {}).map(([name, n]) => ({
      name,
      aliases: (n as { Aliases?: string[] | null }).Aliases ?? [],
      ip: (n as { IPAddress?: string }).IPAddress || null,
    })),
  };
}
