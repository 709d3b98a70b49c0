import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { cli, cliOk } from '../helpers/cli.js';
import { testContext } from '../helpers/context.js';
import { containerOf, orchestratorExhausted, type TestStack, upStack, waitFor } from '../helpers/stack.js';

interface HealthJson {
  verdict: string;
  services: Array<{
    service: string;
    status: string;
    ok: boolean;
    expected: boolean;
    containers: Array<{
      name: string;
      restartCount: number;
      oomKilled: boolean;
      policyExhausted: boolean;
      lastExit: { code: number; meaning: string; signal: string } | null;
    }>;
  }>;
}

let stack: TestStack;

beforeAll(async () => {
  stack = await upStack();
  await orchestratorExhausted(stack.project);
  // The rest of the stack healthy, so verdict and statuses are stable.
  await waitFor(
    'vizdoom healthy',
    async () => (await containerOf(stack.project, 'vizdoom')).State.Health?.Status === 'healthy',
  );
});

afterAll(async () => {
  await stack?.down();
});

describe('doom-ops health', () => {
  it('lists every expected service; the OOM loop shows OOMKilled, 137 explained, and the engine restart count', async () => {
    const r = await cliOk(['health', '--json', '--project', stack.project]);
    expect(r.exitCode).toBe(1); // not healthy: orchestrator is down and ollama missing
    const h = r.json<HealthJson>();
    const names = h.services.map((s) => s.service);
    for (const s of [
      'nats',
      'opensearch',
      'mongodb',
      'ollama',
      'orchestrator',
      'agent',
      'dashboard',
      'vizdoom',
    ])
      expect(names).toContain(s);

    const ollama = h.services.find((s) => s.service === 'ollama')!;
    expect(ollama).toMatchObject({ status: 'missing', ok: false, expected: true });

    const orch = h.services.find((s) => s.service === 'orchestrator')!;
    const c = orch.containers[0]!;
    const inspected = await containerOf(stack.project, 'orchestrator');
    expect(c.oomKilled).toBe(true);
    expect(c.lastExit?.code).toBe(137);
    expect(c.lastExit?.signal).toBe('SIGKILL');
    expect(c.lastExit?.meaning).toMatch(/OOM/);
    expect(c.restartCount).toBe(inspected.RestartCount);
    expect(c.policyExhausted).toBe(true);
    expect(h.verdict).toBe('down');

    expect(h.services.find((s) => s.service === 'vizdoom')).toMatchObject({ status: 'healthy', ok: true });
  });

  it('renders a table for people, naming missing and OOM-killed services', async () => {
    const r = await cliOk(['health', '--project', stack.project]);
    expect(r.stdout).toMatch(/ollama\s+FAIL\s+missing/);
    expect(r.stdout).toMatch(/orchestrator\s+FAIL\s+exited\s+0\/1\s+5\s+yes\s+137 SIGKILL/);
    expect(r.stdout).toMatch(/137: SIGKILL from the kernel OOM killer/);
  });
});

describe('doom-ops stats', () => {
  it('reports the memory limit set in the Compose file', async () => {
    const r = await cliOk(['stats', '--json', '--project', stack.project]);
    expect(r.exitCode).toBe(0);
    const s = r.json<{
      containers: Array<{
        service: string;
        cpuPercent: number | null;
        memory: { limitBytes: number; configuredLimitBytes: number; usedBytes: number };
        cpuLimit: number | null;
        cpuset: string | null;
      }>;
      notRunning: Array<{ service: string }>;
    }>();
    const vizdoom = s.containers.find((c) => c.service === 'vizdoom')!;
    expect(vizdoom.memory.configuredLimitBytes).toBe(128 * 1024 * 1024); // deploy.resources.limits.memory: 128M
    expect(vizdoom.memory.limitBytes).toBe(128 * 1024 * 1024);
    expect(vizdoom.memory.usedBytes).toBeGreaterThan(0);
    expect(vizdoom.cpuPercent).not.toBeNull();
    // Its CPU limit and the core it is pinned to, next to its usage.
    expect(vizdoom).toMatchObject({ cpuLimit: 0.5, cpuset: '0' });
    expect(s.notRunning.map((c) => c.service)).toContain('orchestrator');
    const text = await cliOk(['stats', 'vizdoom', '--project', stack.project]);
    expect(text.stdout).toMatch(/CPU LIMIT \/ CPUSET/);
    expect(text.stdout).toMatch(/_vizdoom_1 .* 0\.5 CPU on 0 /);
  });

  it("disk_usage: each container's json-file log, sized where the engine's host is this one, against disk.logs", async () => {
    const d = (await invokeTool(findTool('disk_usage')!, testContext(stack.project), {})) as {
      containerLogs: Array<{
        container: string;
        driver: string;
        bytes: number | null;
        rotated: boolean;
        threshold: number;
      }>;
    };
    const v = d.containerLogs.find((l) => l.container.endsWith('_vizdoom_1'))!;
    expect(v).toMatchObject({ driver: 'json-file', rotated: false, threshold: 100 * 1024 ** 2 });
    expect(v.bytes).toBeGreaterThan(0);
  });

  it('--no-cpu answers without CPU %', async () => {
    const r = await cliOk(['stats', 'vizdoom', '--no-cpu', '--json', '--project', stack.project]);
    const s = r.json<{
      containers: Array<{ cpuPercent: number | null; memory: { configuredLimitBytes: number } }>;
    }>();
    expect(s.containers).toHaveLength(1);
    expect(s.containers[0]!.cpuPercent).toBeNull();
    expect(s.containers[0]!.memory.configuredLimitBytes).toBe(128 * 1024 * 1024);
  });
});

describe('doom-ops logs', () => {
  it('--level error --tail 50 returns only error-level lines, with the password redacted', async () => {
    const r = await cliOk([
      'logs',
      'orchestrator',
      '--level',
      'error',
      '--tail',
      '50',
      '--json',
      '--project',
      stack.project,
    ]);
    expect(r.exitCode).toBe(0);
    const l = r.json<{ lines: Array<{ level: string; text: string }>; redactions: number }>();
    expect(l.lines.length).toBe(6); // one error line per start: the first run and 5 restarts
    for (const line of l.lines) {
      expect(['error', 'fatal']).toContain(line.level);
      expect(JSON.parse(line.text).level).toBe('error');
      expect(line.text).not.toContain('orch-db-s3cret');
      expect(line.text).toContain('mongodb://admin:***@mongodb');
    }
    expect(l.redactions).toBe(6);
  });

  it('a token value in a plain log line comes back masked', async () => {
    const r = await cliOk([
      'logs',
      'orchestrator',
      '--grep',
      'registered',
      '--tail',
      '1',
      '--json',
      '--project',
      stack.project,
    ]);
    const l = r.json<{ lines: Array<{ text: string }> }>();
    expect(l.lines).toHaveLength(1);
    expect(l.lines[0]!.text).toContain('api_token=***');
    expect(r.stdout).not.toContain('tok-4f9a8c2e77d1');
  });

  it('grep cannot find a secret by its value', async () => {
    const r = await cliOk([
      'logs',
      'orchestrator',
      '--grep',
      'orch-db-s3cret',
      '--json',
      '--project',
      stack.project,
    ]);
    expect(r.json<{ lines: unknown[] }>().lines).toHaveLength(0);
  });

  it('tail without filters uses the engine tail', async () => {
    const r = await cliOk(['logs', 'orchestrator', '--tail', '3', '--json', '--project', stack.project]);
    const l = r.json<{ lines: Array<{ text: string }>; scannedLines: number }>();
    expect(l.lines).toHaveLength(3);
    expect(l.scannedLines).toBe(3);
  });
});

describe('bad input is refused before anything runs', () => {
  it('unknown service: not found, listing the services that exist', async () => {
    const r = await cli(['logs', 'nosuchservice', '--project', stack.project]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/no service "nosuchservice"/);
    expect(r.stderr).toMatch(/orchestrator/);
  });

  it('negative tail names the tail field', async () => {
    const r = await cli(['logs', 'orchestrator', '--tail', '-5', '--json', '--project', stack.project]);
    expect(r.exitCode).toBe(2);
    expect(r.json<{ error: { code: string; message: string } }>().error).toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/tail/),
    });
  });

  it('shell metacharacters in a service name are a validation error, and nothing is executed', async () => {
    const canary = `/tmp/doom-ops-canary-${process.pid}`;
    for (const cmd of [['logs'], ['stats'], ['health']]) {
      const r = await cli([...cmd, `orchestrator;touch ${canary}`, '--project', stack.project]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/invalid input.*service/);
    }
    expect(existsSync(canary)).toBe(false);
  });

  it('bad level, since and project are named', async () => {
    expect(
      (await cli(['logs', 'orchestrator', '--level', 'loud', '--project', stack.project])).stderr,
    ).toMatch(/level/);
    expect(
      (await cli(['logs', 'orchestrator', '--since', 'yesterday', '--project', stack.project])).stderr,
    ).toMatch(/since/);
    const p = await cli(['health', '--project', 'Bad Project!']);
    expect(p.exitCode).toBe(2);
    expect(p.stderr).toMatch(/project/);
  });
});
