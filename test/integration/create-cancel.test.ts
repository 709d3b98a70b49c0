import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerAdapter } from '../../src/adapters/docker/client.js';
import { DockerClient } from '../../src/adapters/docker/dockerode-deferred.js';
import { createHelper, HELPER_LABEL } from '../../src/adapters/docker/helper.js';
import type { Approver } from '../../src/safety/approver.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { type ApiRecorder, startApiRecorder } from '../helpers/api-recorder.js';
import { testContext } from '../helpers/context.js';
import { containerOf, docker, type TestStack, uniqueProject, upStack } from '../helpers/stack.js';

/**
 * A cancel that lands while the engine is creating a container: the engine carries the create out
 * even though the client has gone (its answer is held back here, after the request reached the
 * engine, and the caller cancels meanwhile). Nothing may be left behind that nobody knows the id
 * of: no helper holding a volume, no replica, no container squatting a name that a rollback needs.
 */
let stack: TestStack;
let recorder: ApiRecorder;
let onHeld: (() => void) | undefined;
const IMAGE = `doom-ops-test/base:${uniqueProject('cc')}`;
const HOLD_MS = 1500;
const approveAll: Approver = async () => ({ approved: true, approver: 'test human', via: 'test' });

/** A tool context whose engine calls go through the recorder (creates held for 1.5 s). */
function ctxThrough(signal: AbortSignal) {
  const ctx = testContext(stack.project, signal);
  return {
    ...ctx,
    approver: approveAll,
    docker: new DockerAdapter({
      timeoutMs: ctx.config.docker.timeout,
      docker: new DockerClient({ socketPath: recorder.socketPath }),
    }),
  };
}

/**
 * Aborts `stop` once the next container create has reached the engine. Resolves when the engine's
 * held answer has been let through (plus a margin), i.e. when the engine has surely made it.
 */
function cancelOnCreate(stop: AbortController): Promise<void> {
  return new Promise((resolve) => {
    onHeld = () => {
      onHeld = undefined;
      stop.abort(new Error('client cancelled'));
      setTimeout(resolve, HOLD_MS + 1000);
    };
  });
}

const ours = async (...label: string[]) =>
  (await docker.listContainers({ all: true, filters: { label } })).map((c) => ({
    name: c.Names[0],
    state: c.State,
  }));

beforeAll(async () => {
  await execa('docker', ['tag', 'doom-ops-test/base:latest', IMAGE]);
  recorder = await startApiRecorder(undefined, {
    match: /^POST \/containers\/create$/,
    ms: HOLD_MS,
    onHeld: () => onHeld?.(),
  });
  stack = await upStack({ services: ['nats', 'agent'] });
}, 180_000);

afterAll(async () => {
  // A failed run may have left the helper behind: it is ours (its purpose names this stack).
  for (const c of await docker.listContainers({ all: true, filters: { label: [HELPER_LABEL] } }))
    if (stack && c.Labels[HELPER_LABEL] === `create-cancel ${stack.project}`)
      await docker.getContainer(c.Id).remove({ force: true });
  await stack?.down();
  await recorder?.close();
  await execa('docker', ['rmi', IMAGE], { reject: false });
});

describe('a cancel while the engine creates a container', () => {
  it('update_service (stop-start): the old container is put back under its name, no new one is left', async () => {
    const old = await containerOf(stack.project, 'nats');
    const stop = new AbortController();
    const created = cancelOnCreate(stop);
    const r = (await invokeTool(findTool('update_service')!, ctxThrough(stop.signal), {
      service: 'nats',
      image: IMAGE,
      timeout: '60s',
    })) as { ok: boolean; replicas: Array<{ path: string; result: string; detail: string }> };
    await created;
    expect(r.ok).toBe(false);
    expect(r.replicas[0]).toMatchObject({ path: 'stop-start', result: 'rolled_back' });
    expect(r.replicas[0]!.detail).toMatch(/cancelled; started .*nats_1 again/);
    const now = await ours(`com.docker.compose.project=${stack.project}`);
    expect(now.filter((c) => c.name?.includes('_nats_'))).toEqual([
      { name: `/${stack.project}_nats_1`, state: 'running' },
    ]);
    expect((await containerOf(stack.project, 'nats')).Id).toBe(old.Id);
  }, 120_000);

  it('scale_agents: the replica being created is removed, the count stays as it was', async () => {
    const before = await ours(
      `com.docker.compose.project=${stack.project}`,
      'com.docker.compose.service=agent',
    );
    expect(before).toHaveLength(1);
    const stop = new AbortController();
    const created = cancelOnCreate(stop);
    await invokeTool(findTool('scale_agents')!, ctxThrough(stop.signal), { replicas: 2 }).catch(
      (err: { code?: string }) => expect(err.code).toBe('cancelled'),
    );
    await created;
    const after = await ours(
      `com.docker.compose.project=${stack.project}`,
      'com.docker.compose.service=agent',
    );
    expect(after.map((c) => c.name).sort()).toEqual(before.map((c) => c.name).sort());
  }, 120_000);

  it('a volume helper: cancelled create leaves no helper holding the volume', async () => {
    const stop = new AbortController();
    const created = cancelOnCreate(stop);
    const purpose = `create-cancel ${stack.project}`;
    await expect(
      createHelper(ctxThrough(stop.signal).docker, {
        image: 'doom-ops-test/base:latest',
        mounts: [{ volume: `${stack.project}_nats-data`, target: '/_data', readOnly: true }],
        purpose,
        signal: stop.signal,
      }),
    ).rejects.toMatchObject({ code: 'cancelled' });
    await created;
    expect(await ours(`${HELPER_LABEL}=${purpose}`)).toEqual([]);
  }, 60_000);
});
