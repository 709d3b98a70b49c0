import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import Docker from 'dockerode';
import { execa } from 'execa';
import { ProjectVolumes } from '../../bench/lib.js';

export const COMPOSE_FILE = resolve('test/stack/docker-compose.yml');
export const docker = new Docker();

export interface TestStack {
  project: string;
  env: Record<string, string>;
  /** Runs docker-compose on this stack without throwing on failure (for scenarios that must fail). */
  compose(args: string[]): Promise<{ exitCode?: number; stdout: string; stderr: string }>;
  down(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; closed again before it is returned). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A unique project name, so parallel runs and leftovers never collide. */
export function uniqueProject(prefix = 'dotest'): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

/**
 * Brings the test stack up with the real docker-compose tool (v1 on this machine kind), so
 * containers carry exactly the labels Compose gives them. `services` limits what is started.
 */
export async function upStack(
  options: { env?: Record<string, string>; services?: string[]; project?: string; file?: string } = {},
): Promise<TestStack> {
  const project = options.project ?? uniqueProject();
  const file = options.file ?? COMPOSE_FILE;
  const env = { ...options.env };
  // Records the project's containers and what they mount, so down() removes exactly its volumes.
  const volumes = await ProjectVolumes.follow(project);
  await execa('docker-compose', ['-p', project, '-f', file, 'up', '-d', ...(options.services ?? [])], {
    env: { ...process.env, ...env },
  }).catch(async (err: unknown) => {
    await volumes.removeVolumes();
    throw err;
  });
  return {
    project,
    env,
    compose: (args) =>
      execa('docker-compose', ['-p', project, '-f', file, ...args], {
        env: { ...process.env, ...env },
        reject: false,
      }),
    down: async () => {
      await execa(
        'docker-compose',
        ['-p', project, '-f', file, 'down', '-v', '--remove-orphans', '-t', '1'],
        {
          env: { ...process.env, ...env },
          reject: false,
        },
      );
      // Replicas removed during the test (by a scale-down, or replaced by an update) may have left
      // anonymous volumes that compose down -v cannot see: remove those of this project only.
      await volumes.removeVolumes();
    },
  };
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export async function containerOf(
  project: string,
  service: string,
  number = 1,
): Promise<Docker.ContainerInspectInfo> {
  const list = await docker.listContainers({
    all: true,
    filters: {
      label: [
        `com.docker.compose.project=${project}`,
        `com.docker.compose.service=${service}`,
        `com.docker.compose.container-number=${number}`,
      ],
    },
  });
  if (!list[0]) throw new Error(`no ${service}_${number} in ${project}`);
  return docker.getContainer(list[0].Id).inspect();
}

/** Waits until the OOM-looping orchestrator has used up on-failure:5 and stays exited. */
export function orchestratorExhausted(project: string): Promise<Docker.ContainerInspectInfo> {
  return waitFor(
    'orchestrator to exhaust on-failure:5',
    async () => {
      const c = await containerOf(project, 'orchestrator');
      return c.State.Status === 'exited' && c.RestartCount === 5 ? c : undefined;
    },
    90_000,
  );
}
