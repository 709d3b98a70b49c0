import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { scaleAgents } from '../../src/tools/scaling/scale-agents.js';
import { scaleService } from '../../src/tools/scaling/scale-service.js';
import { cli } from '../helpers/cli.js';
import { testContext } from '../helpers/context.js';
import { COMPOSE_FILE, containerOf, docker, type TestStack, upStack } from '../helpers/stack.js';

let stack: TestStack;

const DRAIN: Config['scaling'] = {
  agentService: 'agent',
  generations: [{ upTo: 3, agents: 6 }, { upTo: 7, agents: 4 }, { agents: 2 }],
  services: {
    agent: {
      min: 1,
      max: 10,
      drain: {
        // The orchestrator records which agent it was asked to drain: the hook's observable effect.
        exec: { service: 'orchestrator', command: ['sh', '-c', 'echo {container} >> /tmp/drained'] },
        wait: { service: 'orchestrator', command: ['grep', '-qx', '{container}', '/tmp/drained'] },
        timeout: 5000,
        pollEvery: 200,
      },
    },
  },
};

const ctx = () => testContext(stack.project, undefined, { scaling: DRAIN });
const agents = () =>
  docker.listContainers({
    all: true,
    filters: { label: [`com.docker.compose.project=${stack.project}`, 'com.docker.compose.service=agent'] },
  });
const compose = (args: string[]) =>
  execa('docker-compose', ['-p', stack.project, '-f', COMPOSE_FILE, ...args], {
    env: { ...process.env, ...stack.env },
  });

async function orchestratorFile(path: string): Promise<string> {
  const o = await containerOf(stack.project, 'orchestrator');
  const r = await ctx().docker.exec(o.Id, ['cat', path]);
  return r.stdout;
}

beforeAll(async () => {
  stack = await upStack({ env: { ORCHESTRATOR_MODE: 'normal' }, services: ['orchestrator', 'agent'] });
});

afterAll(async () => {
  await stack?.down();
});

describe('scale_service on a stack created by docker-compose', () => {
  it('1 -> 4 creates replicas 2-4 that match replica 1 (labels, networks, aliases, volumes, limits)', async () => {
    const out = await invokeTool(scaleService, ctx(), { service: 'agent', replicas: 4 });
    expect(out.before).toBe(1);
    expect(out.after).toBe(4);
    expect(out.created).toEqual([2, 3, 4].map((n) => `${stack.project}_agent_${n}`));

    const one = await containerOf(stack.project, 'agent', 1);
    for (const n of [2, 3, 4]) {
      const c = await containerOf(stack.project, 'agent', n);
      expect(c.Name).toBe(`/${stack.project}_agent_${n}`);
      // doom-ops.create: the create's own random label (what a create whose answer was lost is found by).
      const {
        'com.docker.compose.container-number': num,
        'doom-ops.create': nonce,
        ...labels
      } = c.Config.Labels;
      const { 'com.docker.compose.container-number': _, ...labels1 } = one.Config.Labels;
      expect(num).toBe(String(n));
      expect(nonce).toMatch(/^[0-9a-f]{16}$/);
      expect(labels).toEqual(labels1); // config-hash included
      expect(Object.keys(c.NetworkSettings.Networks)).toEqual(Object.keys(one.NetworkSettings.Networks));
      for (const [net, ep] of Object.entries(c.NetworkSettings.Networks)) {
        const strip = (a: string[] | null | undefined, id: string) =>
          (a ?? []).filter((x) => x !== id.slice(0, 12)).sort();
        expect(strip(ep.Aliases, c.Id)).toEqual(strip(one.NetworkSettings.Networks[net]!.Aliases, one.Id));
        expect(strip(ep.Aliases, c.Id)).toContain('agent');
      }
      expect(c.Mounts.map((m) => m.Destination)).toEqual(one.Mounts.map((m) => m.Destination));
      expect(c.Mounts[0]!.Name).not.toBe(one.Mounts[0]!.Name); // a fresh anonymous /data volume, as Compose gives
      expect(c.HostConfig.Memory).toBe(one.HostConfig.Memory);
      expect(c.HostConfig.RestartPolicy).toEqual(one.HostConfig.RestartPolicy);
      expect(c.State.Running).toBe(true);
    }
  });

  it('docker-compose ps lists them as part of the service', async () => {
    const ps = await compose(['ps', 'agent']);
    for (const n of [1, 2, 3, 4]) expect(ps.stdout).toContain(`${stack.project}_agent_${n}`);
  });

  it('4 -> 2 drains replicas 4 and 3 (hook observable), stops and removes them; 1 and 2 untouched', async () => {
    const before = await Promise.all([1, 2].map((n) => containerOf(stack.project, 'agent', n)));
    const anonymous = async (n: number) =>
      (await containerOf(stack.project, 'agent', n)).Mounts.filter((m) => m.Type === 'volume').map(
        (m) => m.Name!,
      );
    const leaving = [...(await anonymous(3)), ...(await anonymous(4))];
    const staying = [...(await anonymous(1)), ...(await anonymous(2))];
    expect(leaving).toHaveLength(2);
    const out = await invokeTool(scaleAgents, ctx(), { replicas: 2 });
    expect(out.removed).toEqual([`${stack.project}_agent_4`, `${stack.project}_agent_3`]);
    expect(out.drained.map((d) => [d.container, d.ok])).toEqual([
      [`${stack.project}_agent_4`, true],
      [`${stack.project}_agent_3`, true],
    ]);
    expect((await orchestratorFile('/tmp/drained')).trim().split('\n')).toEqual([
      `${stack.project}_agent_4`,
      `${stack.project}_agent_3`,
    ]);
    const after = await Promise.all([1, 2].map((n) => containerOf(stack.project, 'agent', n)));
    expect(after.map((c) => [c.Id, c.State.StartedAt])).toEqual(before.map((c) => [c.Id, c.State.StartedAt]));
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`com.docker.compose.project=${stack.project}`, 'com.docker.compose.service=agent'] },
    });
    expect(left).toHaveLength(2);
    // The removed replicas' anonymous /data volumes went with them; the others' stay.
    const exists = (name: string) =>
      docker
        .getVolume(name)
        .inspect()
        .then(
          () => true,
          (err: { statusCode?: number }) => (err.statusCode === 404 ? false : Promise.reject(err)),
        );
    expect(await Promise.all(leaving.map(exists))).toEqual([false, false]);
    expect(await Promise.all(staying.map(exists))).toEqual([true, true]);
  });

  it('generation 2 on a stack at 2 agents plans 6 (the handbook’s policy), and the CLI takes --generation', async () => {
    expect((await agents()).length).toBe(2);
    const p = await scaleAgents.plan!(ctx(), scaleAgents.input.parse({ generation: 2 }));
    expect(p.summary).toBe(
      `generation 2 → 6 agents (scaling.generations: ≤ 3 → 6, ≤ 7 → 4, later → 2): scale agent in ${stack.project} from 2 to 6`,
    );
    // Generation 9 maps to 2: nothing to do, through the CLI as a user types it.
    const r = await cli(['scale-agents', '--generation', '9', '--project', stack.project, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json<{ before: number; after: number }>()).toMatchObject({ before: 2, after: 2 });
  });

  it('docker-compose up --scale agent=1 removes ours without complaint and keeps replica 1', async () => {
    await invokeTool(scaleService, ctx(), { service: 'agent', replicas: 3 });
    const one = await containerOf(stack.project, 'agent', 1);
    const r = await compose(['up', '-d', '--scale', 'agent=1', 'agent']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).not.toMatch(/Recreating|error/i);
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`com.docker.compose.project=${stack.project}`, 'com.docker.compose.service=agent'] },
    });
    expect(left.map((c) => c.Id)).toEqual([one.Id]);
  });

  it('refuses above the configured maximum, naming the bounds; below the minimum needs a human approval', async () => {
    await expect(invokeTool(scaleAgents, ctx(), { replicas: 11 })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/between 1 and 10/),
    });
    await invokeTool(scaleService, ctx(), { service: 'agent', replicas: 2 });
    // The default config's minimum is 2: going to 1 is destructive, and this caller has no approver.
    await expect(invokeTool(scaleAgents, testContext(stack.project), { replicas: 1 })).rejects.toMatchObject({
      code: 'approval_required',
    });
    expect(await agents()).toHaveLength(2);
  });

  it('scaling down to 0, or a critical or stateful service, is destructive: an MCP operator gets no free removal', async () => {
    const mcp = testContext(
      stack.project,
      undefined,
      { scaling: DRAIN },
      {
        principal: { id: 'mcp:agent-x', surface: 'mcp' },
      },
    );
    // orchestrator is critical in the default config; agent to 0 stops the service.
    for (const [tool, input] of [
      [scaleService, { service: 'orchestrator', replicas: 0 }],
      [scaleService, { service: 'agent', replicas: 0 }],
      [scaleAgents, { replicas: 0 }],
    ] as const) {
      await expect(invokeTool(tool, mcp, input)).rejects.toMatchObject({ code: 'approval_required' });
    }
    expect((await containerOf(stack.project, 'orchestrator')).State.Running).toBe(true);
    expect((await agents()).length).toBeGreaterThan(0);
    const { entries } = await mcp.safety.audit.query({ principal: 'mcp:agent-x' });
    expect(entries.filter((e) => e.event === 'refused')).toHaveLength(3);
  });

  it('the CLI takes counts as decimal integers only, naming the argument', async () => {
    for (const bad of ['', '1e1', '0x3', ' 2']) {
      const r = await cli(['scale', 'agent', bad, '--project', stack.project]);
      expect(r.exitCode, bad).toBe(2);
      expect(r.stderr).toMatch(/replicas: .* is not a whole number/);
    }
    const neg = await cli(['scale', 'agent', '-1', '--project', stack.project]);
    expect(neg.exitCode).toBe(2);
    expect(neg.stderr).toMatch(/replicas/);
    expect((await agents()).length).toBeGreaterThan(0);
  });

  it('a drain that times out refuses and removes nothing; force without approval executes nothing', async () => {
    await invokeTool(scaleService, ctx(), { service: 'agent', replicas: 2 });
    const stuck: Config['scaling'] = {
      ...DRAIN,
      services: {
        agent: {
          ...DRAIN.services.agent!,
          drain: {
            ...DRAIN.services.agent!.drain!,
            wait: { service: 'orchestrator', command: ['false'] },
            timeout: 600,
          },
        },
      },
    };
    const c = testContext(stack.project, undefined, { scaling: stuck });
    await expect(invokeTool(scaleAgents, c, { replicas: 1 })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/timed out.*nothing was removed/),
    });
    await expect(invokeTool(scaleAgents, c, { replicas: 1, force: true })).rejects.toMatchObject({
      code: 'approval_required',
    });
    const left = await docker.listContainers({
      filters: { label: [`com.docker.compose.project=${stack.project}`, 'com.docker.compose.service=agent'] },
    });
    expect(left).toHaveLength(2);
  });
});
