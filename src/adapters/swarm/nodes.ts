import { DockerAdapter } from '../docker/client.js';
import { DockerClient } from '../docker/dockerode-deferred.js';

/**
 * dockerode options for a node's engine endpoint from config `swarm.nodes`: `unix:///path`,
 * `tcp://host:port` (plain HTTP, as DOCKER_HOST without TLS) or `ssh://[user@]host[:port]`
 * (dockerode runs `docker system dial-stdio` over ssh). Throws Error for any other scheme.
 */
export function endpointOptions(url: string): Record<string, unknown> {
  const u = new URL(url);
  if (u.protocol === 'unix:') return { socketPath: decodeURIComponent(u.pathname) };
  if (u.protocol === 'tcp:' || u.protocol === 'http:')
    return { host: u.hostname, port: Number(u.port || 2375), protocol: 'http' };
  if (u.protocol === 'ssh:')
    return {
      protocol: 'ssh',
      host: u.hostname,
      port: Number(u.port || 22),
      ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    };
  throw new Error(`unsupported engine endpoint ${url}: use unix://, tcp:// or ssh://`);
}

/**
 * The engines of swarm nodes that have an endpoint in config `swarm.nodes` (by node hostname), for
 * what only a node's own engine can answer (container inspect for OOM, stats, exec, volume
 * archives). `get` returns undefined for a node without one: callers name it as such.
 */
export class NodeEngines {
  private readonly engines = new Map<string, DockerAdapter>();

  constructor(
    private readonly endpoints: Record<string, string>,
    private readonly timeoutMs: number,
  ) {}

  get(hostname: string | null): DockerAdapter | undefined {
    if (!hostname) return undefined;
    const url = this.endpoints[hostname];
    if (!url) return undefined;
    let engine = this.engines.get(hostname);
    if (!engine) {
      engine = new DockerAdapter({
        timeoutMs: this.timeoutMs,
        docker: new DockerClient(endpointOptions(url) as never),
        name: {
          engine: `node ${hostname}'s engine at ${url} (swarm.nodes)`,
          setting: `swarm.nodes.${hostname} in the doom-ops config`,
        },
      });
      this.engines.set(hostname, engine);
    }
    return engine;
  }
}
