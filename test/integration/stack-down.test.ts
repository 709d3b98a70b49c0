import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import type { Approver } from '../../src/safety/approver.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { testContext } from '../helpers/context.js';
import { MongoStandIn } from '../helpers/mongodb-standin.js';
import { OpenSearchStandIn } from '../helpers/opensearch-standin.js';
import { containerOf, docker, type TestStack, upStack, waitFor } from '../helpers/stack.js';

const os = new OpenSearchStandIn();
// MongoDB as doom-ops reaches it through the driver (mongodb.uri): the wire-protocol stand-in.
const mongo = new MongoStandIn();
let stack: TestStack;
const approveAll: Approver = async () => ({ approved: true, approver: 'test human', via: 'test' });

/** A file from a container, running or stopped (docker cp reads through the archive API). */
const fileIn = async (service: string, path: string) => {
  const r = await execa('docker', ['cp', `${stack.project}_${service}_1:${path}`, '-'], {
    reject: false,
    encoding: 'buffer',
  });
  return Buffer.from(r.stdout).toString('latin1');
};

function ctx(approver?: Approver) {
  const base = testContext(stack.project).config;
  const config: Partial<Config> = {
    backup: { ...base.backup, opensearch: { ...base.backup.opensearch, url: os.url } },
    lifecycle: {
      ...base.lifecycle,
      stopAcceptingWork: { service: 'orchestrator', argv: ['sh', '-c', 'echo draining > /tmp/drain'] },
      inFlight: { service: 'orchestrator', argv: ['test', '-f', '/tmp/drain'], timeout: 10_000, every: 500 },
      // The default: through the driver, since mongodb.uri is set.
      mongoFsync: 'auto',
    },
    mongodb: { ...base.mongodb, uri: mongo.uri },
  };
  return { ...testContext(stack.project, undefined, config), ...(approver ? { approver } : {}) };
}

const volumes = async () =>
  (
    await docker.listVolumes({
      filters: { label: [`com.docker.compose.project=${stack.project}`] },
    } as object)
  ).Volumes?.length ?? 0;

beforeAll(async () => {
  await os.start();
  await mongo.start();
  stack = await upStack({ env: { ORCHESTRATOR_MODE: 'normal' } });
  await waitFor('agent running', async () => (await containerOf(stack.project, 'agent')).State.Running);
  // The play log the CHECKPOINT stand-in expects.
  await execa('docker', ['exec', `${stack.project}_agent_1`, 'sh', '-c', 'touch /data/play_logs.duckdb']);
}, 180_000);

afterAll(async () => {
  await stack?.down();
  await os.stop();
  await mongo.stop();
});

describe('stack_down', () => {
  it('without a human approval stops nothing', async () => {
    await expect(invokeTool(findTool('stack_down')!, ctx(), {})).rejects.toMatchObject({
      code: 'approval_required',
    });
    expect((await containerOf(stack.project, 'nats')).State.Running).toBe(true);
    expect(await fileIn('orchestrator', '/tmp/drain')).toBe('');
  });

  it('drains, waits, checkpoints, flushes, fsyncs, then stops dependents first and keeps every volume', async () => {
    const before = await volumes();
    expect(before).toBeGreaterThan(0);
    const r = (await invokeTool(findTool('stack_down')!, ctx(approveAll), {})) as {
      steps: Array<{ step: string; ok: boolean; skipped: boolean; detail: string }>;
      stopped: Array<{ service: string; container: string }>;
      summary: string;
    };
    expect(r.steps.map((s) => [s.step, s.ok, s.skipped])).toEqual([
      ['stop accepting work', true, false],
      ['wait for in-flight episodes', true, false],
      ['drain NATS JetStream', true, false],
      ['CHECKPOINT DuckDB play logs', true, false],
      ['flush OpenSearch', true, false],
      ['fsync MongoDB', true, false],
    ]);
    // Observable effects of each step.
    expect(await fileIn('orchestrator', '/tmp/drain')).toContain('draining');
    expect(await fileIn('agent', '/tmp/duckdb-calls')).toContain('/data/play_logs.duckdb -c CHECKPOINT;');
    expect(os.calls.some((c) => c.path === '/_flush')).toBe(true);
    // fsync reached MongoDB through the driver; the mongodb container has no mongosh.
    expect(mongo.received('fsync')).toHaveLength(1);
    expect(r.steps.find((s) => s.step === 'fsync MongoDB')!.detail).toBe(
      `fsync through the driver at ${mongo.uri}: ok (1 file(s))`,
    );
    const mongosh = await execa(
      'docker',
      ['exec', `${stack.project}_mongodb_1`, 'sh', '-c', 'command -v mongosh'],
      {
        reject: false,
      },
    );
    expect(mongosh.exitCode).not.toBe(0);

    // Reverse dependency order, by the engine's own stop times.
    const finished = async (s: string) => Date.parse((await containerOf(stack.project, s)).State.FinishedAt);
    const t = Object.fromEntries(
      await Promise.all(
        ['agent', 'dashboard', 'orchestrator', 'nats', 'opensearch', 'mongodb', 'vizdoom'].map(async (s) => [
          s,
          await finished(s),
        ]),
      ),
    ) as Record<string, number>;
    for (const s of Object.keys(t)) expect((await containerOf(stack.project, s)).State.Running).toBe(false);
    expect(Math.max(t.agent!, t.dashboard!)).toBeLessThanOrEqual(t.orchestrator!);
    expect(t.orchestrator!).toBeLessThanOrEqual(Math.min(t.nats!, t.opensearch!, t.mongodb!));
    expect(
      r.stopped
        .map((s) => s.service)
        .slice(0, 3)
        .sort(),
    ).toEqual(['agent', 'dashboard', 'orchestrator'].sort().slice(0, 3));
    expect(await volumes()).toBe(before);
  }, 120_000);
});
