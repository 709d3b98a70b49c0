import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approver } from '../../src/safety/approver.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { testContext } from '../helpers/context.js';
import { containerOf, docker, type TestStack, upStack, waitFor } from '../helpers/stack.js';

let stack: TestStack;
const GOOD = 'doom-ops-test/base:v2';
const BROKEN = 'doom-ops-test/base:broken';
const CRASHING = 'doom-ops-test/base:crashing';
const approveAll: Approver = async () => ({ approved: true, approver: 'test human', via: 'test' });

interface Update {
  ok: boolean;
  summary: string;
  replicas: Array<{
    replaced: string;
    path: string;
    result: string;
    container: string;
    image: string;
    detail: string;
  }>;
}

/** A one-file tar (docker cp reads a tar on stdin). */
async function tarOf(name: string, text: string): Promise<Buffer> {
  const p = pack();
  p.entry({ name, mode: 0o755 }, text);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

// One state directory for the file: the agent image choice is state shared by every tool call.
const stateDir = mkdtempSync(join(tmpdir(), 'doomstate-update-'));
const ctx = () => ({ ...testContext(stack.project, undefined, {}, { stateDir }), approver: approveAll });

const update = (service: string, image: string, timeout = '30s') =>
  invokeTool(findTool('update_service')!, ctx(), { service, image, timeout }) as Promise<Update>;

const replicas = async (service: string) =>
  (
    await docker.listContainers({
      all: true,
      filters: {
        label: [`com.docker.compose.project=${stack.project}`, `com.docker.compose.service=${service}`],
      },
    })
  ).map((c) => ({ id: c.Id, image: c.Image, state: c.State, status: c.Status }));

beforeAll(async () => {
  await execa('docker', ['tag', 'doom-ops-test/base:latest', GOOD]);
  // Same image, but its containers fail their healthcheck.
  const tmp = (await execa('docker', ['create', 'doom-ops-test/base:latest'])).stdout.trim();
  await execa('docker', ['commit', '--change', 'ENV UNHEALTHY=broken-build', tmp, BROKEN]);
  await execa('docker', ['rm', tmp]);
  // Same image, but its main process exits at once (a bad build of the service itself).
  const tmp2 = (await execa('docker', ['create', 'doom-ops-test/base:latest'])).stdout.trim();
  await execa('docker', ['cp', '-', `${tmp2}:/opt/doom/`], {
    input: await tarOf('svc.sh', '#!/bin/sh\necho "fatal: config v2 invalid"\nexit 3\n'),
  });
  await execa('docker', ['commit', tmp2, CRASHING]);
  await execa('docker', ['rm', tmp2]);
  stack = await upStack({ services: ['dashboard', 'nats', 'agent'], env: { ORCHESTRATOR_MODE: 'normal' } });
  await waitFor('dashboard and nats healthy', async () => {
    const [d, n] = await Promise.all([
      containerOf(stack.project, 'dashboard'),
      containerOf(stack.project, 'nats'),
    ]);
    return d.State.Health?.Status === 'healthy' && n.State.Health?.Status === 'healthy';
  });
}, 180_000);

afterAll(async () => {
  await stack?.down();
  await execa('docker', ['rmi', GOOD, BROKEN, CRASHING], { reject: false });
});

describe('update_service', () => {
  it('zero-downtime path: an image that fails its healthcheck is rolled back and the old container kept serving', async () => {
    const before = await replicas('dashboard');
    const r = await update('dashboard', BROKEN);
    expect(r.ok).toBe(false);
    expect(r.replicas[0]).toMatchObject({
      path: 'zero-downtime',
      result: 'rolled_back',
      image: 'doom-ops-test/base:latest',
    });
    expect(r.replicas[0]!.detail).toMatch(/unhealthy: health probe failed: broken-build/);
    const after = await replicas('dashboard');
    expect(after.map((c) => c.id)).toEqual(before.map((c) => c.id));
    expect((await containerOf(stack.project, 'dashboard')).State.Health?.Status).toBe('healthy');
  }, 120_000);

  it('zero-downtime path: a good image replaces the container with a healthy replica at every moment', async () => {
    let minHealthy = Number.POSITIVE_INFINITY;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const healthy = (await replicas('dashboard')).filter(
          (c) => c.state === 'running' && c.status.includes('(healthy)'),
        );
        minHealthy = Math.min(minHealthy, healthy.length);
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    const r = await update('dashboard', GOOD);
    watching = false;
    await watch;
    expect(r.ok).toBe(true);
    expect(r.replicas[0]).toMatchObject({ path: 'zero-downtime', result: 'updated', image: GOOD });
    expect(minHealthy).toBeGreaterThanOrEqual(1);
    const after = await replicas('dashboard');
    expect(after.map((c) => c.image)).toEqual([GOOD]);
  }, 120_000);

  it('stop-start path (a service with a named volume): a failing image rolls back to the previous container, healthy again', async () => {
    const [old] = await replicas('nats');
    const r = await update('nats', CRASHING, '15s');
    expect(r.replicas[0]).toMatchObject({
      path: 'stop-start',
      result: 'rolled_back',
      container: `${stack.project}_nats_1`,
    });
    expect(r.replicas[0]!.detail).toMatch(/started .*nats_1 again on doom-ops-test\/base:latest \(healthy\)/);
    const after = await replicas('nats');
    expect(after.map((c) => c.id)).toEqual([old!.id]);
    expect((await containerOf(stack.project, 'nats')).State.Health?.Status).toBe('healthy');
  }, 120_000);

  it('cancelled mid-update (stop-start path): the previous container is put back under its name and runs again', async () => {
    const [old] = await replicas('nats');
    const stop = new AbortController();
    const running = invokeTool(
      findTool('update_service')!,
      { ...ctx(), signal: stop.signal },
      { service: 'nats', image: BROKEN, timeout: '60s' },
    ) as Promise<Update>;
    // Cancel while the replacement waits to become healthy: the old one is stopped and renamed then.
    await waitFor('the old nats set aside', async () =>
      (await docker.listContainers({ all: true })).some((c) =>
        c.Names.some((n) => n.endsWith('_nats_1_doomops_prev')),
      ),
    );
    stop.abort(new Error('client cancelled'));
    const r = await running;
    expect(r.ok).toBe(false);
    expect(r.replicas[0]).toMatchObject({ path: 'stop-start', result: 'rolled_back' });
    expect(r.replicas[0]!.detail).toMatch(/cancelled; started .*nats_1 again/);
    const after = await replicas('nats');
    expect(after.map((c) => c.id)).toEqual([old!.id]);
    const nats = await containerOf(stack.project, 'nats');
    expect(nats.Name).toBe(`/${stack.project}_nats_1`);
    expect(nats.State.Running).toBe(true);
  }, 120_000);

  it('cancelled mid-update (zero-downtime path): the new replica is removed, the old one never stopped serving', async () => {
    const before = await replicas('dashboard');
    const stop = new AbortController();
    const running = invokeTool(
      findTool('update_service')!,
      { ...ctx(), signal: stop.signal },
      { service: 'dashboard', image: BROKEN, timeout: '60s' },
    ) as Promise<Update>;
    await waitFor('the new replica beside the old', async () => (await replicas('dashboard')).length === 2);
    stop.abort(new Error('client cancelled'));
    const r = await running;
    expect(r.replicas[0]).toMatchObject({ path: 'zero-downtime', result: 'rolled_back' });
    expect(r.replicas[0]!.detail).toMatch(/cancelled/);
    const after = await replicas('dashboard');
    expect(after.map((c) => c.id)).toEqual(before.map((c) => c.id));
    expect(after.map((c) => c.state)).toEqual(['running']);
  }, 120_000);

  it('agent service: running agents keep their image, agents added later start on the new one', async () => {
    const [first] = await replicas('agent');
    const r = await update('agent', GOOD);
    expect(r.ok).toBe(true);
    expect(r.replicas).toEqual([
      expect.objectContaining({
        path: 'new-replicas-only',
        result: 'kept',
        image: 'doom-ops-test/base:latest',
      }),
    ]);
    expect((await replicas('agent')).map((c) => [c.id, c.image])).toEqual([[first!.id, first!.image]]);

    const scaled = (await invokeTool(findTool('scale_agents')!, ctx(), { replicas: 3 })) as {
      created: string[];
      image: string | null;
    };
    expect(scaled.image).toBe(GOOD);
    expect(scaled.created).toHaveLength(2);
    const now = await replicas('agent');
    expect(now.find((c) => c.id === first!.id)?.image).toBe('doom-ops-test/base:latest');
    expect(now.filter((c) => c.id !== first!.id).map((c) => c.image)).toEqual([GOOD, GOOD]);
  }, 120_000);

  it('refuses an image the engine does not have, before changing anything', async () => {
    await expect(update('agent', 'doom-ops-test/base:never-built')).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringMatching(/image doom-ops-test\/base:never-built is not on the engine/),
    });
  });
});
