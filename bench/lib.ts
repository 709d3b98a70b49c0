import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { execa } from 'execa';
import { DockerAdapter } from '../src/adapters/docker/client.js';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/logger.js';
import { createSafety } from '../src/safety/index.js';
import type { ToolContext } from '../src/tools/context.js';
import { mapLimit } from '../src/util/concurrency.js';

export const docker = new Docker();
export const IMAGE = 'doom-ops-test/base:latest';

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** Alternates A and B `runs` times; the ratio is the median of per-pair A/B ratios. */
export async function alternate(
  runs: number,
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
): Promise<{ aMs: number[]; bMs: number[]; ratio: number }> {
  const aMs: number[] = [];
  const bMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Swap the order each round so neither side always runs on a warm cache.
    if (i % 2 === 0) {
      aMs.push(await timed(a));
      bMs.push(await timed(b));
    } else {
      bMs.push(await timed(b));
      aMs.push(await timed(a));
    }
  }
  return { aMs, bMs, ratio: round(median(aMs.map((x, i) => x / bMs[i]!))) };
}

export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function context(project: string): ToolContext {
  const config = loadConfig({ env: { DOOM_OPS_STATE_DIR: join(tmpdir(), 'doom-ops-bench') }, project });
  return {
    safety: createSafety(config),
    docker: new DockerAdapter({ timeoutMs: 60_000 }),
    config,
    project,
    principal: { id: 'bench', surface: 'internal' },
    signal: new AbortController().signal,
    progress: () => {},
    logger: createLogger('silent'),
  };
}

const SERVICES = ['nats', 'opensearch', 'mongodb', 'ollama', 'orchestrator', 'agent', 'dashboard', 'vizdoom'];

/** `count` running containers labelled as Compose replicas of the handbook's services. */
export async function makeStack(project: string, count: number): Promise<string[]> {
  await execa('bash', ['test/stack/build-images.sh'], { stdio: 'inherit' });
  return mapLimit(
    Array.from({ length: count }, (_, i) => i),
    8,
    async (i) => {
      const service = SERVICES[i % SERVICES.length]!;
      const number = Math.floor(i / SERVICES.length) + 1;
      const c = await docker.createContainer({
        name: `${project}-${service}-${number}`,
        Image: IMAGE,
        Cmd: ['sleep', '86400'],
        Labels: {
          'com.docker.compose.project': project,
          'com.docker.compose.service': service,
          'com.docker.compose.container-number': String(number),
          'com.docker.compose.oneoff': 'False',
        },
        HostConfig: { Memory: 32 * 1024 * 1024 },
      });
      await c.start();
      return c.id;
    },
  );
}

export async function removeAll(ids: string[]): Promise<void> {
  await mapLimit(ids, 8, (id) =>
    docker
      .getContainer(id)
      .remove({ force: true })
      .catch(() => {}),
  );
}

export function writeResult(name: string, result: unknown): string {
  const dir = join('bench', 'results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

/** Anonymous volumes left by removed replicas (kept on purpose, as Compose does): the bench's own, created since it started. */
export async function removeAnonymousVolumesSince(sinceMs: number): Promise<void> {
  const { Volumes } = await docker.listVolumes({ filters: { dangling: ['true'] } });
  for (const v of Volumes ?? []) {
    const created = Date.parse((v as { CreatedAt?: string }).CreatedAt ?? '');
    if (/^[0-9a-f]{64}$/.test(v.Name) && created >= sinceMs)
      await docker
        .getVolume(v.Name)
        .remove()
        .catch(() => {});
  }
}
