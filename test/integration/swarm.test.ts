import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderText } from '../../src/render/text.js';
import type { Approver } from '../../src/safety/approver.js';
import type { ToolContext } from '../../src/tools/context.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { testContext } from '../helpers/context.js';
import { waitFor } from '../helpers/stack.js';
import { type TestSwarm, upSwarm } from '../helpers/swarm.js';

/**
 * The Swarm backend on a real two-node swarm (two extra engines in network namespaces, see
 * scripts/swarm-test-hosts.sh), with a clau-doom-shaped stack deployed by `docker stack deploy`
 * (test/stack/swarm-stack.yml): an OOM-looping orchestrator, an ollama no node can place, nats on
 * the second node, two agents.
 */
let swarm: TestSwarm;
const prefix = `ds${randomBytes(3).toString('hex')}`;
const project = `dosw${randomBytes(3).toString('hex')}`;

interface Health {
  verdict: string;
  services: Array<{
    service: string;
    status: string;
    ok: boolean;
    problems: string[];
    replicas: { running: number; total: number };
    swarm?: {
      desired: number;
      tasks: Array<{ node: string | null; state: string; exitCode: number | null; error: string | null }>;
    };
  }>;
  swarm?: { nodes: Array<{ hostname: string; endpoint: boolean }>; problems: string[] };
}

/** A context on the manager; only node1's own engine is configured (node2 has no endpoint). */
function ctx(): ToolContext {
  const base = testContext(project);
  return {
    ...base,
    docker: swarm.adapter(),
    config: {
      ...base.config,
      swarm: { nodes: { [swarm.nodes[0]!.name]: swarm.nodes[0]!.host } },
    },
  };
}

const health = () => invokeTool(findTool('stack_health')!, ctx(), { deep: false }) as Promise<Health>;

/** The test image, but its main process exits 3 at once: an update to it must roll back. */
const CRASHING = `doom-ops-test/base:swcrash-${prefix}`;

beforeAll(async () => {
  const tmp = (await execa('docker', ['create', 'doom-ops-test/base:latest'])).stdout.trim();
  await execa('docker', [
    'commit',
    '--change',
    'CMD ["/bin/sh", "-c", "echo fatal: config v2 invalid; exit 3"]',
    tmp,
    CRASHING,
  ]);
  await execa('docker', ['rm', tmp]);
  swarm = await upSwarm(prefix, 200 + (process.pid % 50), ['doom-ops-test/base:latest', CRASHING]);
  await swarm.docker(['stack', 'deploy', '-c', resolve('test/stack/swarm-stack.yml'), project], {
    NODE2: swarm.nodes[1]!.name,
  });
  // The orchestrator has been OOM-killed at least twice (Swarm restarts it after 1 s each time).
  await waitFor(
    'two OOM-killed orchestrator tasks',
    async () =>
      (
        await swarm.docker([
          'service',
          'ps',
          '--no-trunc',
          '--format',
          '{{.Error}}',
          `${project}_orchestrator`,
        ])
      )
        .split('\n')
        .filter((l) => l.includes('(137)')).length >= 2,
    120_000,
  );
}, 300_000);

afterAll(async () => {
  await swarm?.docker(['stack', 'rm', project]).catch(() => undefined);
  await swarm?.down();
  await execa('docker', ['rmi', CRASHING], { reject: false });
}, 120_000);

describe('stack_health on a two-node swarm', () => {
  it('names the unplaceable service with Swarm’s reason, and the OOM-looping one with its exit 137 tasks and their nodes', async () => {
    const h = await health();
    const by = (s: string) => h.services.find((x) => x.service === s)!;
    expect(h.verdict).not.toBe('healthy');

    const ollama = by('ollama');
    expect(ollama.ok).toBe(false);
    expect(ollama.replicas).toEqual({ running: 0, total: 1 });
    expect(ollama.problems.join('\n')).toMatch(
      /cannot be placed: no suitable node \(insufficient resources on 2 nodes\)/,
    );

    const orch = by('orchestrator');
    expect(orch.ok).toBe(false);
    const killed = orch.swarm!.tasks.filter((t) => t.exitCode === 137);
    expect(killed.length).toBeGreaterThanOrEqual(2);
    const nodeNames = swarm.nodes.map((n) => n.name);
    for (const t of killed) {
      expect(nodeNames).toContain(t.node);
      expect(t.error).toMatch(/non-zero exit \(137\)/);
    }
    const text = orch.problems.join('\n');
    expect(text).toMatch(/task\(s\) ended in the last 15 min, task: non-zero exit \(137\)/);
    expect(text).toMatch(/memory limit 32 MiB: likely OOM-killed/);
    for (const node of new Set(killed.map((t) => t.node))) expect(text).toContain(`${node} ×`);
    // Where the node's engine is known the OOM kill is confirmed there; elsewhere the node is named.
    if (killed.some((t) => t.node === nodeNames[0]))
      expect(text).toMatch(new RegExp(`node ${nodeNames[0]}: \\d+ of \\d+ exit-137 task\\(s\\) OOM-killed`));
    if (killed.some((t) => t.node === nodeNames[1]))
      expect(text).toContain(`node ${nodeNames[1]} has no engine endpoint in swarm.nodes`);

    const nats = by('nats');
    expect(nats.swarm!.tasks.find((t) => t.state === 'running')?.node).toBe(nodeNames[1]);
    expect(h.swarm!.nodes.map((n) => [n.hostname, n.endpoint])).toEqual([
      [nodeNames[0], true],
      [nodeNames[1], false],
    ]);
    const shown = renderText('stack_health', h);
    expect(shown).toMatch(/swarm nodes:/);
    expect(shown).toMatch(/orchestrator tasks \(newest first\):/);
  }, 120_000);
});

describe('explain_restarts on a two-node swarm', () => {
  it('lists the OOM-looping service’s task history with exit codes and nodes, and says what it could not confirm', async () => {
    const w = (await invokeTool(findTool('explain_restarts')!, ctx(), { service: 'orchestrator' })) as {
      tasks: Array<{ node: string | null; state: string; exitCode: number | null }>;
      deaths: Array<{ exitCode: number | null; cause: string; note: string | null }>;
      verdict: { kind: string; summary: string; evidence: string[] };
      evidenceComplete: boolean;
      missingEvidence: string[];
    };
    const failed = w.tasks.filter((t) => t.state === 'failed');
    expect(failed.length).toBeGreaterThanOrEqual(2);
    expect(failed.every((t) => t.exitCode === 137)).toBe(true);
    expect(w.deaths.filter((d) => d.exitCode === 137).length).toBe(failed.length);
    const nodeNames = swarm.nodes.map((n) => n.name);
    for (const t of failed) expect(nodeNames).toContain(t.node);
    // On node1 (endpoint configured) the kill is confirmed as OOM; node2's is named as unconfirmed.
    if (failed.some((t) => t.node === nodeNames[0])) {
      expect(w.verdict.kind).toBe('oom_killed');
      expect(w.deaths.some((d) => d.cause === 'oom' && /OOMKilled on/.test(d.note ?? ''))).toBe(true);
    } else expect(w.verdict.kind).toBe('killed_by_signal');
    if (failed.some((t) => t.node === nodeNames[1])) {
      expect(w.evidenceComplete).toBe(false);
      expect(w.missingEvidence.join('\n')).toContain(`node ${nodeNames[1]} has no engine endpoint`);
    }
    expect(renderText('explain_restarts', w)).toMatch(/task history \(newest first/);
  }, 60_000);

  it('an unplaceable service is never_started with the scheduler’s reason', async () => {
    const w = (await invokeTool(findTool('explain_restarts')!, ctx(), { service: 'ollama' })) as {
      verdict: { kind: string; summary: string };
    };
    expect(w.verdict.kind).toBe('never_started');
    expect(w.verdict.summary).toMatch(/no suitable node \(insufficient resources on 2 nodes\)/);
  }, 60_000);
});

describe('scale_agents on a two-node swarm', () => {
  const replicasColumn = async () =>
    (
      await swarm.docker(['service', 'ls', '--filter', `name=${project}_agent`, '--format', '{{.Replicas}}'])
    ).trim();
  const deny: Approver = async () => ({ approved: false, reason: 'the test human said no' });
  const allow: Approver = async () => ({ approved: true, approver: 'test human', via: 'test' });

  it('goes 2 -> 4 -> 2 through the service spec; docker service ls agrees', async () => {
    const up = (await invokeTool(findTool('scale_agents')!, ctx(), { replicas: 4 })) as {
      before: number;
      after: number;
      created: string[];
    };
    expect(up).toMatchObject({ before: 2, after: 4 });
    expect(up.created).toHaveLength(2);
    expect(await replicasColumn()).toBe('4/4');
    const down = (await invokeTool(findTool('scale_agents')!, ctx(), { replicas: 2 })) as {
      after: number;
      removed: string[];
    };
    expect(down.after).toBe(2);
    expect(down.removed).toHaveLength(2);
    expect(await replicasColumn()).toBe('2/2');
  }, 180_000);

  it('below the minimum needs a human: refused without one, done with one', async () => {
    await expect(
      invokeTool(findTool('scale_agents')!, { ...ctx(), approver: deny }, { replicas: 1 }),
    ).rejects.toMatchObject({ code: 'not_allowed' });
    expect(await replicasColumn()).toBe('2/2');
    const r = (await invokeTool(
      findTool('scale_agents')!,
      { ...ctx(), approver: allow },
      { replicas: 1 },
    )) as {
      after: number;
    };
    expect(r.after).toBe(1);
    expect(await replicasColumn()).toBe('1/1');
  }, 180_000);
});

describe('update_service on a two-node swarm', () => {
  const allow: Approver = async () => ({ approved: true, approver: 'test human', via: 'test' });
  const image = async () =>
    (
      await swarm.docker([
        'service',
        'inspect',
        '--format',
        '{{.Spec.TaskTemplate.ContainerSpec.Image}}',
        `${project}_nats`,
      ])
    ).trim();

  it('a failing update rolls back and says so; the service runs its old image again', async () => {
    const before = await image();
    const r = (await invokeTool(
      findTool('update_service')!,
      { ...ctx(), approver: allow },
      { service: 'nats', image: CRASHING, timeout: '5s' },
    )) as { ok: boolean; summary: string; replicas: Array<{ path: string; result: string; detail: string }> };
    expect(r.ok).toBe(false);
    expect(r.replicas[0]).toMatchObject({ path: 'swarm-rolling-update', result: 'rolled_back' });
    expect(r.summary).toMatch(/failed and was rolled back/);
    expect(r.replicas[0]!.detail).toMatch(/Swarm rolled .*_nats back to doom-ops-test\/base:latest/);
    expect(await image()).toBe(before);
    expect(
      (
        await swarm.docker(['service', 'inspect', '--format', '{{.UpdateStatus.State}}', `${project}_nats`])
      ).trim(),
    ).toBe('rollback_completed');
  }, 240_000);
});

describe('service_logs on a two-node swarm', () => {
  it('reads the service logs from the manager, each line naming its task and node; secrets from the service spec are masked', async () => {
    const r = (await invokeTool(findTool('service_logs')!, ctx(), { service: 'orchestrator', tail: 50 })) as {
      containers: string[];
      lines: Array<{ container: string; text: string; level: string | null }>;
      redactions: number;
    };
    expect(r.lines.length).toBeGreaterThan(0);
    const names = swarm.nodes.map((n) => n.name).join('|');
    for (const l of r.lines)
      expect(l.container).toMatch(new RegExp(`^${project}_orchestrator\\.\\d+@(${names})$`));
    const text = r.lines.map((l) => l.text).join('\n');
    expect(text).toMatch(/connecting to mongodb failed/);
    expect(text).not.toContain('orch-db-s3cret');
    expect(text).not.toContain('tok-4f9a8c2e77d1');
    expect(r.redactions).toBeGreaterThan(0);
    const errors = (await invokeTool(findTool('service_logs')!, ctx(), {
      service: 'orchestrator',
      level: 'error',
    })) as {
      lines: Array<{ level: string | null }>;
    };
    expect(errors.lines.length).toBeGreaterThan(0);
    expect(errors.lines.every((l) => l.level === 'error' || l.level === 'fatal')).toBe(true);
  }, 60_000);
});

describe('restart_service on a two-node swarm', () => {
  const allow: Approver = async () => ({ approved: true, approver: 'test human', via: 'test' });
  const runningTasks = async () =>
    (await swarm.docker(['service', 'ps', '-q', '--filter', 'desired-state=running', `${project}_agent`]))
      .split('\n')
      .filter(Boolean);

  it('is a forced service update: every task replaced, the new ones running; one replica alone is refused', async () => {
    const before = await runningTasks();
    const r = (await invokeTool(
      findTool('restart_service')!,
      { ...ctx(), approver: allow },
      { service: 'agent' },
    )) as {
      restarted: Array<{ name: string; state: string }>;
      healthy: boolean;
    };
    expect(r.healthy).toBe(true);
    expect(r.restarted).toHaveLength(before.length);
    const after = await runningTasks();
    expect(after.some((id) => before.includes(id))).toBe(false);
    await expect(
      invokeTool(
        findTool('restart_service')!,
        { ...ctx(), approver: allow },
        { service: 'agent', replica: 1 },
      ),
    ).rejects.toMatchObject({ code: 'invalid_input' });
  }, 180_000);
});

describe('lint_compose --target swarm against the two-node swarm', () => {
  it('flags what docker stack deploy ignores, and services no node of this swarm can place', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'doom-swarm-lint-'));
    writeFileSync(
      join(dir, 'stack.yml'),
      `services:
  nats:
    image: nats
    restart: unless-stopped
    container_name: nats
  ollama:
    image: ollama/ollama
    deploy: { resources: { reservations: { memory: 4096G } } }
  trainer:
    image: clau-doom/trainer
    deploy: { placement: { constraints: ["node.labels.gpu == true"] } }
  agent:
    image: clau-doom/agent
    deploy: { placement: { constraints: ["node.hostname == ${swarm.nodes[1]!.name}"] } }
`,
    );
    const base = ctx();
    const r = (await invokeTool(
      findTool('lint_compose')!,
      { ...base, config: { ...base.config, compose: { dir, files: ['stack.yml'] } } },
      { target: 'swarm' },
    )) as { findings: Array<{ rule: string; service: string; message: string }> };
    const by = (rule: string) => r.findings.filter((f) => f.rule === rule);
    expect(by('swarm_ignored_key').map((f) => [f.service, f.message])).toEqual([
      ['nats', 'nats: `container_name` is ignored by docker stack deploy'],
      ['nats', 'nats: `restart` is ignored by docker stack deploy'],
    ]);
    expect(by('swarm_unplaceable').map((f) => f.service)).toEqual(['ollama', 'trainer']);
    expect(by('swarm_unplaceable')[0]!.message).toMatch(/reserves 4\.0TiB of memory, more than any node/);
  }, 60_000);
});

describe('tools that do not work on Swarm yet', () => {
  it('are refused with the reason instead of answering as if the stack were empty', async () => {
    for (const [tool, input] of [
      ['disk_usage', {}],
      ['stack_down', {}],
      ['backup', { component: 'volumes' }],
      ['run_runbook', { id: 'restart-loop', service: 'orchestrator' }],
    ] as const) {
      await expect(invokeTool(findTool(tool)!, ctx(), input)).rejects.toMatchObject({
        code: 'invalid_input',
        message: expect.stringMatching(new RegExp(`^${tool} does not work on a Swarm stack yet`)),
      });
    }
  }, 60_000);
});

describe('service_stats on a two-node swarm', () => {
  it("samples each running task on its node's engine; tasks on a node without an endpoint are listed, not skipped", async () => {
    const r = (await invokeTool(findTool('service_stats')!, ctx(), { cpu: false })) as {
      containers: Array<{ name: string; service: string; memory: { usedBytes: number | null } }>;
      unmeasured: Array<{ name: string; node: string; reason: string }>;
    };
    const [n1, n2] = swarm.nodes.map((n) => n.name);
    // nats runs on node2 (its constraint): no endpoint there.
    expect(r.unmeasured).toContainEqual(
      expect.objectContaining({ node: n2, reason: `node ${n2} has no engine endpoint in swarm.nodes` }),
    );
    expect(r.unmeasured.some((u) => u.name.startsWith(`${project}_nats.`))).toBe(true);
    for (const c of r.containers) {
      expect(c.name).toMatch(new RegExp(`@${n1}$`));
      expect(c.memory.usedBytes).toBeGreaterThan(0);
    }
    expect(r.containers.length + r.unmeasured.length).toBeGreaterThan(0);
    expect(renderText('service_stats', r)).toMatch(/not measured: /);
  }, 60_000);
});

describe('log_report on a two-node swarm', () => {
  it("counts a service's errors from the service logs, secrets masked", async () => {
    const r = (await invokeTool(findTool('log_report')!, ctx(), {
      services: ['orchestrator'],
      since: '1h',
    })) as {
      services: Array<{
        service: string;
        lines: number;
        errors: number;
        topErrors: Array<{ message: string }>;
      }>;
    };
    expect(r.services).toHaveLength(1);
    const o = r.services[0]!;
    expect(o.service).toBe('orchestrator');
    expect(o.errors).toBeGreaterThan(0);
    expect(o.topErrors.map((e) => e.message).join('\n')).toMatch(/connecting to mongodb failed/);
    expect(JSON.stringify(r)).not.toContain('orch-db-s3cret');
  }, 60_000);
});

describe('export_logs on a two-node swarm', () => {
  it('writes the service log, each line naming its task and node, secrets masked', async () => {
    const base = ctx();
    const dir = mkdtempSync(join(tmpdir(), 'doom-swarm-export-'));
    const r = (await invokeTool(
      findTool('export_logs')!,
      { ...base, config: { ...base.config, logs: { ...base.config.logs, exportDir: dir } } },
      { services: ['orchestrator'], since: '1h' },
    )) as { files: Array<{ service: string; file: string; lines: number }> };
    expect(r.files).toHaveLength(1);
    expect(r.files[0]!.lines).toBeGreaterThan(0);
    const text = readFileSync(r.files[0]!.file, 'utf8');
    expect(text).toMatch(
      new RegExp(` ${project}_orchestrator\\.\\d+@(${swarm.nodes.map((n) => n.name).join('|')}) stdout: `),
    );
    expect(text).toMatch(/connecting to mongodb failed/);
    expect(text).not.toContain('orch-db-s3cret');
  }, 60_000);
});
