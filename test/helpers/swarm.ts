import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { DockerAdapter } from '../../src/adapters/docker/client.js';
import { DockerClient } from '../../src/adapters/docker/dockerode-deferred.js';

export interface TestSwarm {
  prefix: string;
  /** DOCKER_HOST of the manager (node1) and of each node's own engine. */
  manager: string;
  nodes: Array<{ name: string; host: string }>;
  /** `docker -H <manager> …` */
  docker(args: string[], env?: Record<string, string>): Promise<string>;
  /** A DockerAdapter on an endpoint (the manager by default). */
  adapter(host?: string): DockerAdapter;
  down(): Promise<void>;
}

/**
 * Brings up the two-node test swarm (scripts/swarm-test-hosts.sh: two extra engines in network
 * namespaces this test creates; never the machine's own engine) with the test image loaded.
 * `octet`: the third octet of its 10.232.x.0/24 link (unique per concurrently running file);
 * `images`: loaded into both nodes from the machine's engine.
 */
export async function upSwarm(
  prefix: string,
  octet: number,
  images: string[] = ['doom-ops-test/base:latest'],
): Promise<TestSwarm> {
  await execa('bash', ['scripts/swarm-test-hosts.sh', 'down', prefix], { reject: false });
  const { stdout } = await execa('bash', [
    'scripts/swarm-test-hosts.sh',
    'up',
    prefix,
    String(octet),
    ...images,
  ]);
  const env = Object.fromEntries(
    readFileSync(stdout.trim(), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('=', 2) as [string, string]),
  );
  const manager = env.SWARM_MANAGER!;
  return {
    prefix,
    manager,
    nodes: [
      { name: env.SWARM_NODE1_NAME!, host: env.SWARM_NODE1! },
      { name: env.SWARM_NODE2_NAME!, host: env.SWARM_NODE2! },
    ],
    async docker(args, extra = {}) {
      return (await execa('docker', ['-H', manager, ...args], { env: extra })).stdout;
    },
    adapter(host = manager) {
      return new DockerAdapter({
        timeoutMs: 20_000,
        docker: new DockerClient({ socketPath: host.replace(/^unix:\/\//, '') }),
      });
    },
    async down() {
      await execa('bash', ['scripts/swarm-test-hosts.sh', 'down', prefix], { reject: false });
    },
  };
}
