import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { execa } from 'execa';
import { DockerAdapter } from '../src/adapters/docker/client.js';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/logger.js';
import { createSafety } from '../src/safety/index.js';
import type { ToolContext } from '../src/tools/context.js';
import { registry } from '../src/tools/registry.js';
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
    tools: registry,
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

/**
 * Waits (at most `maxMs`) until the 1-minute load average is under `below`: creating a stack of
 * containers leaves the engine busy for a while, which would be measured as doom-ops' latency.
 * Returns the load average it measured at.
 */
export async function settle(below = 1.5, maxMs = 90_000): Promise<number> {
  const load = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  const until = Date.now() + maxMs;
  while (load() >= below && Date.now() < until) await new Promise((r) => setTimeout(r, 2000));
  return load();
}

/** Node options for the `serve` a benchmark starts: BENCH_SERVE_NODE_ARGS, e.g. "--cpu-prof". */
export function serveNodeArgs(): string[] {
  return (process.env.BENCH_SERVE_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

export function writeResult(name: string, result: unknown): string {
  const dir = join('bench', 'results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

const ANONYMOUS = /^[0-9a-f]{64}$/;

interface EngineEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/**
 * The volumes one Compose project used, for removing exactly those on a shared engine. From
 * `follow()` on it reads the engine's event stream and records the containers created with the
 * project's label (by Compose, by doom-ops scaling or updating, or by a test) and the volumes mounted
 * into them, so the anonymous volume of a replica removed without its volumes is found too. Other
 * people's volumes, dangling or not, are never touched.
 */
export class ProjectVolumes {
  private readonly containers = new Set<string>();
  private readonly mounted = new Set<string>();
  private stream: NodeJS.ReadableStream | undefined;

  private constructor(readonly project: string) {}

  /** Starts recording; call before anything of the project is created. */
  static async follow(project: string): Promise<ProjectVolumes> {
    const t = new ProjectVolumes(project);
    const stream = (await docker.getEvents({
      filters: { type: ['container', 'volume'], event: ['create', 'mount'] },
    })) as NodeJS.ReadableStream;
    t.stream = stream;
    let pending = '';
    stream.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) t.record(JSON.parse(line) as EngineEvent);
    });
    stream.on('error', () => {});
    return t;
  }

  private record(e: EngineEvent): void {
    const id = e.Actor?.ID;
    const attrs = e.Actor?.Attributes ?? {};
    if (!id) return;
    if (
      e.Type === 'container' &&
      e.Action === 'create' &&
      attrs['com.docker.compose.project'] === this.project
    )
      this.containers.add(id);
    if (e.Type === 'volume' && e.Action === 'mount' && this.containers.has(attrs.container ?? ''))
      this.mounted.add(id);
  }

  /** Anonymous volumes mounted into the project's containers so far (names). */
  get anonymous(): string[] {
    return [...this.mounted].filter((v) => ANONYMOUS.test(v));
  }

  /**
   * Stops recording and removes the project's volumes that nothing uses any more: those labelled
   * with its Compose project, and the anonymous ones its containers mounted. Call after the
   * project's containers are gone (`compose down`); a volume still in use is left alone.
   */
  async removeVolumes(): Promise<string[]> {
    (this.stream as { destroy?: () => void } | undefined)?.destroy?.();
    const { Volumes } = await docker.listVolumes({
      filters: { label: [`com.docker.compose.project=${this.project}`] },
    });
    const names = new Set([...(Volumes ?? []).map((v) => v.Name), ...this.anonymous]);
    const removed: string[] = [];
    for (const name of names)
      await docker
        .getVolume(name)
        .remove()
        .then(() => removed.push(name))
        .catch(() => {}); // already gone (compose down -v), or in use
    return removed;
  }
}
