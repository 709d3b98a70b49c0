import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/adapters/docker/types.js';
import { readJournal } from '../../src/backup/journal.js';
import { createLogger } from '../../src/logger.js';
import type { RunningHttp } from '../../src/mcp/http.js';
import { createMcpServer } from '../../src/mcp/server.js';
import { EventStore } from '../../src/recorder/event-store.js';
import { EventRecorder } from '../../src/recorder/recorder.js';
import { renderText } from '../../src/render/text.js';
import type { Approver } from '../../src/safety/approver.js';
import type { SlackBot } from '../../src/slack/app.js';
import type { ToolContext } from '../../src/tools/context.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool, registry } from '../../src/tools/registry.js';
import { IncidentWatcher } from '../../src/watch/watcher.js';
import { cli, cliOk } from '../helpers/cli.js';
import { testContext } from '../helpers/context.js';
import { serveSlackBot } from '../helpers/slack-bot.js';
import { SlackStandIn, slashCommand } from '../helpers/slack-standin.js';
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
    deepCheck?: { kind: string; ok: boolean; detail: string } | null;
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

/** A context where both nodes' engines are known, with its own backup repository and state. */
const backupDir = mkdtempSync(join(tmpdir(), 'doomswbackup-'));
const backupState = mkdtempSync(join(tmpdir(), 'doomswstate-'));
function bothNodes(approver?: Approver): ToolContext {
  const base = testContext(project, undefined, {}, { stateDir: backupState });
  return {
    ...base,
    docker: swarm.adapter(),
    config: {
      ...base.config,
      swarm: { nodes: Object.fromEntries(swarm.nodes.map((n) => [n.name, n.host])) },
      backup: { ...base.config.backup, dir: backupDir },
    },
    ...(approver ? { approver } : {}),
  };
}

/** The REPLICAS column of `docker service ls` for one service of the stack, e.g. "2/2". */
const serviceReplicas = async (service: string) =>
  (
    await swarm.docker([
      'service',
      'ls',
      '--filter',
      `name=${project}_${service}`,
      '--format',
      '{{.Replicas}}',
    ])
  ).trim();

/** The count stack_down recorded on a service (its doom-ops.down.replicas label; '' when none). */
const downLabel = async (service: string) =>
  swarm.docker([
    'service',
    'inspect',
    '--format',
    '{{index .Spec.Labels "doom-ops.down.replicas"}}',
    `${project}_${service}`,
  ]);

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
  // The machine's own engine is left as it was: never a swarm member, no network of these stacks;
  // and nothing of the test swarm is left on the machine (namespaces, links, its directory).
  expect((await execa('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout.trim()).toBe(
    'inactive',
  );
  const networks = (await execa('docker', ['network', 'ls', '--format', '{{.Name}}'])).stdout;
  expect(networks.split('\n').filter((n) => n.includes(project) || n.includes(prefix))).toEqual([]);
  expect((await execa('ip', ['netns', 'list'])).stdout).not.toContain(prefix);
  expect((await execa('ip', ['-o', 'link'])).stdout).not.toContain(`${prefix}a`);
  expect(existsSync(`/tmp/${prefix}-swarm`)).toBe(false);
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

describe('deep checks on a two-node swarm', () => {
  /** nats (on node2) with an exec deep check, agent with one that fails. */
  const deepCtx = (c: ToolContext, natsArgv: string[]): ToolContext => ({
    ...c,
    config: {
      ...c.config,
      services: {
        ...c.config.services,
        nats: { ...c.config.services.nats!, deepCheck: { exec: natsArgv, timeout: 5000 } },
        agent: {
          ...c.config.services.agent!,
          deepCheck: { exec: ['sh', '-c', 'echo no episode queue; exit 4'], timeout: 5000 },
        },
      },
    },
  });
  const deepHealth = async (c: ToolContext) =>
    (await invokeTool(findTool('stack_health')!, c, { deep: true })) as Health;

  it("an exec check runs in a running task through its node's engine; a failing one fails the service with its output", async () => {
    const h = await deepHealth(deepCtx(bothNodes(), ['wget', '-qO-', 'http://127.0.0.1:8222/healthz']));
    const by = (s: string) => h.services.find((x) => x.service === s)!;
    expect(by('nats').deepCheck).toMatchObject({ kind: 'exec', ok: true });
    expect(by('nats').deepCheck!.detail).toMatch(/exit 0: ok/);
    expect(by('agent').deepCheck).toMatchObject({ kind: 'exec', ok: false });
    expect(by('agent').ok).toBe(false);
    expect(by('agent').problems.join('\n')).toMatch(/deep check failed: .*exit 4: no episode queue/);
  }, 60_000);

  it('an exec check of a service whose tasks all run on a node without an endpoint says so', async () => {
    const h = await deepHealth(deepCtx(ctx(), ['true']));
    const nats = h.services.find((x) => x.service === 'nats')!;
    expect(nats.deepCheck).toMatchObject({ kind: 'exec', ok: false });
    expect(nats.deepCheck!.detail).toBe(
      `no running task on a node with an endpoint in swarm.nodes to run true in (running on: ${swarm.nodes[1]!.name})`,
    );
  }, 60_000);
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
  const replicasColumn = () => serviceReplicas('agent');
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

describe('diagnose_oom on a two-node swarm', () => {
  it('counts the OOM kills confirmed on the nodes’ engines, names the node it cannot ask, and sizes the limit', async () => {
    const r = (await invokeTool(findTool('diagnose_oom')!, ctx(), {
      service: 'orchestrator',
      since: '1h',
    })) as {
      services: Array<{
        service: string;
        oomKills: number;
        memoryLimitBytes: number;
        suggestedLimit: string;
        evidence: string;
      }>;
      summary: string;
    };
    const o = r.services.find((s) => s.service === 'orchestrator')!;
    expect(o.memoryLimitBytes).toBe(32 * 1024 * 1024);
    expect(o.suggestedLimit).toBe('64M');
    expect(o.evidence).toMatch(/task history/);
    const [n1, n2] = swarm.nodes.map((n) => n.name);
    // node1's engine is known: its kills are confirmed there; node2 has no endpoint here.
    if (o.evidence.includes(`node ${n1}:`)) expect(o.oomKills).toBeGreaterThanOrEqual(1);
    if (o.evidence.includes(`node ${n2} `))
      expect(o.evidence).toContain(`node ${n2} has no engine endpoint in swarm.nodes`);
    // With both engines known, every kill still on its node is confirmed.
    const both = (await invokeTool(findTool('diagnose_oom')!, bothNodes(), {
      service: 'orchestrator',
      since: '1h',
    })) as typeof r;
    expect(both.services[0]!.oomKills).toBeGreaterThanOrEqual(2);
    expect(both.services[0]!.evidence).not.toMatch(/no engine endpoint/);
    expect(renderText('diagnose_oom', both)).toMatch(/orchestrator/);
  }, 60_000);
});

describe('DOCKER_HOST on a worker', () => {
  it('is told to point at a manager instead of answering from the worker’s few tasks', async () => {
    const worker: ToolContext = { ...ctx(), docker: swarm.adapter(swarm.nodes[1]!.host) };
    const err = await invokeTool(findTool('stack_health')!, worker, {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/is a swarm worker/) });
    expect((err as { hint: string }).hint).toMatch(
      /point DOCKER_HOST at a swarm manager \(this worker knows 10\.232\.\d+\.1:2377/,
    );
    // Set explicitly, the kind is not second-guessed: a Compose project on that engine is empty.
    const compose = { ...worker, config: { ...worker.config, stack: { kind: 'compose' as const } } };
    await expect(invokeTool(findTool('stack_health')!, compose, {})).resolves.toBeDefined();
  }, 60_000);
});

describe('tools that do not work on Swarm yet', () => {
  it('are refused with the reason instead of answering as if the stack were empty', async () => {
    for (const [tool, input] of [
      ['disk_usage', {}],
      ['smoke_test', {}],
      ['check_ports', {}],
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

describe('backup and restore on a two-node swarm', () => {
  interface Backup {
    id: string;
    phase: string;
    components: Array<{ component: string; target: string; node: string | null; access: string | null }>;
    failures: Array<{ component: string; target?: string; reason: string }>;
  }
  /** `sh -c script` in the running nats task's container, through node2's own engine. */
  const natsSh = async (script: string) => {
    const node2 = swarm.nodes[1]!.host;
    const id = await waitFor(
      'a running nats task container on node2',
      async () =>
        (
          await execa('docker', [
            '-H',
            node2,
            'ps',
            '-q',
            '--filter',
            `label=com.docker.swarm.service.name=${project}_nats`,
          ])
        ).stdout.trim() || undefined,
      60_000,
    );
    return (await execa('docker', ['-H', node2, 'exec', id!.split('\n')[0]!, 'sh', '-c', script])).stdout;
  };
  const state = () => natsSh('cd /data && find . -type f | sort | xargs sha256sum');

  it("backs up a volume on the second node through that node's engine, records the node, and restores it there", async () => {
    const node2 = swarm.nodes[1]!.name;
    await natsSh(
      'mkdir -p /data/sub && echo before > /data/a.txt && head -c 300000 /dev/urandom > /data/sub/b.bin',
    );
    const original = await state();
    expect(original).toContain('./a.txt');

    const b = (await invokeTool(findTool('backup')!, bothNodes(), { component: 'volumes' })) as Backup;
    expect(b.failures).toEqual([]);
    expect(b.phase).toBe('Completed');
    expect(b.components).toEqual([
      expect.objectContaining({ component: 'volumes', target: 'nats-data', node: node2, access: 'engine' }),
    ]);
    expect(renderText('backup', b)).toContain(`streamed through node ${node2}'s engine`);

    // Without node2's endpoint the volume is not silently skipped: the backup fails naming the node.
    const cut = (await invokeTool(
      findTool('backup')!,
      {
        ...ctx(),
        config: { ...bothNodes().config, swarm: { nodes: { [swarm.nodes[0]!.name]: swarm.nodes[0]!.host } } },
      },
      {
        component: 'volumes',
      },
    )) as Backup;
    expect(cut.phase).toBe('Failed');
    expect(cut.failures).toEqual([
      expect.objectContaining({
        component: 'volumes',
        target: 'nats-data',
        reason: expect.stringContaining(`node ${node2} has no engine endpoint in swarm.nodes`),
      }),
    ]);

    await natsSh('rm /data/a.txt && echo after > /data/c.txt && head -c 1000 /dev/urandom > /data/sub/b.bin');
    expect(await state()).not.toBe(original);

    // A destructive change: nothing happens without a human.
    await expect(
      invokeTool(
        findTool('restore')!,
        bothNodes(async () => ({ approved: false, reason: 'said no' })),
        {
          id: b.id,
          component: 'volumes',
        },
      ),
    ).rejects.toMatchObject({ code: 'not_allowed' });
    expect(await state()).not.toBe(original);
    const approve: Approver = async () => ({ approved: true, approver: 'test human', via: 'test' });
    const r = (await invokeTool(findTool('restore')!, bothNodes(approve), {
      id: b.id,
      component: 'volumes',
    })) as {
      restored: Array<{ target: string; result: { node: string; stopped: string[]; started: string[] } }>;
      safetyBackup: string;
    };
    expect(r.restored).toEqual([
      {
        target: 'nats-data',
        result: expect.objectContaining({
          node: node2,
          stopped: [`${project}_nats (1 → 0)`],
          started: [`${project}_nats (0 → 1)`],
        }),
      },
    ]);
    expect(r.safetyBackup).toMatch(/pre-restore|volumes/);
    // nats is back at one task, on node2, with the backed-up files (a.txt back, c.txt gone).
    await waitFor(
      'nats running again',
      async () =>
        (
          await swarm.docker([
            'service',
            'ls',
            '--filter',
            `name=${project}_nats`,
            '--format',
            '{{.Replicas}}',
          ])
        ).trim() === '1/1',
      60_000,
    );
    expect(await state()).toBe(original);
  }, 240_000);
});

describe('the same commands through MCP, Slack and the CLI on the swarm stack', () => {
  const SECRET = 'swarm-signing-secret-0123456789';
  const slack = new SlackStandIn();
  let bot: SlackBot | undefined;
  let http: RunningHttp | undefined;
  afterAll(async () => {
    await bot?.stop();
    await http?.close();
    await slack.stop();
  });
  const configFile = () => {
    const f = join(mkdtempSync(join(tmpdir(), 'doomswcfg-')), 'doom-ops.yaml');
    writeFileSync(f, `swarm:\n  nodes:\n${swarm.nodes.map((n) => `    ${n.name}: ${n.host}\n`).join('')}`);
    return f;
  };

  it('the CLI (DOCKER_HOST on the manager): health, why and scale-agents 3 then 2, as for Compose', async () => {
    const env = {
      DOCKER_HOST: swarm.manager,
      COMPOSE_PROJECT_NAME: project,
      DOOM_OPS_CONFIG: configFile(),
      DOOM_OPS_STATE_DIR: mkdtempSync(join(tmpdir(), 'doomswcli-')),
    };
    const h = await cli(['health', '--json'], env);
    expect(h.exitCode).toBe(1); // not healthy: the OOM loop and the unplaceable ollama
    const body = h.json<Health>();
    expect(body.swarm!.nodes.map((n) => n.endpoint)).toEqual([true, true]);
    expect(body.services.find((x) => x.service === 'ollama')!.problems.join('\n')).toMatch(
      /no suitable node/,
    );
    const why = await cliOk(['why', 'orchestrator'], env);
    expect(why.stdout).toMatch(/137/);
    expect(why.stdout).toMatch(/task history|tasks/i);
    await cliOk(['scale-agents', '3'], env);
    expect(await serviceReplicas('agent')).toBe('3/3');
    await cliOk(['scale-agents', '2'], env);
    expect(await serviceReplicas('agent')).toBe('2/2');
  }, 180_000);

  it('MCP (the SDK client): stack_health and explain_restarts answer from the swarm', async () => {
    const c = ctx();
    const server = createMcpServer({
      config: c.config,
      safety: c.safety,
      docker: c.docker,
      logger: createLogger('silent'),
      principal: { id: 'test', surface: 'mcp' },
      registry,
    });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'swarm-test', version: '1' });
    await client.connect(clientSide);
    try {
      const h = await client.callTool({ name: 'stack_health', arguments: {} });
      expect(h.isError).toBeFalsy();
      const health = h.structuredContent as unknown as Health;
      expect(health.swarm!.nodes).toHaveLength(2);
      expect(
        health.services
          .find((x) => x.service === 'orchestrator')!
          .swarm!.tasks.some((t) => t.exitCode === 137),
      ).toBe(true);
      const why = await client.callTool({ name: 'explain_restarts', arguments: { service: 'orchestrator' } });
      expect(why.isError).toBeFalsy();
      expect(JSON.stringify(why.structuredContent)).toMatch(/non-zero exit \(137\)/);
    } finally {
      await client.close();
    }
  }, 120_000);

  it('Slack (/doom over the signed endpoint): health and why answer from the swarm', async () => {
    await slack.start();
    const c = ctx();
    ({ bot, http } = await serveSlackBot(c, slack, SECRET));
    const ask = async (text: string, n: number) => {
      const ack = await slashCommand(`${http!.url}/slack/events`, SECRET, {
        text,
        user: 'UVIEW',
        channel: 'COPS',
        responseUrl: `${slack.url}/response/sw${n}`,
      });
      expect(ack.status).toBe(200);
      return waitFor(
        `the answer to /doom ${text}`,
        async () => slack.responsesTo(`sw${n}`).find((r) => r.text),
        60_000,
        50,
      );
    };
    const h = await ask('health', 1);
    expect(String(h.text)).toMatch(/swarm nodes:/);
    expect(String(h.text)).toMatch(/no suitable node/);
    const why = await ask('why orchestrator', 2);
    expect(String(why.text)).toMatch(/137/);
  }, 120_000);
});

describe('stack_down and stack_up on a two-node swarm', () => {
  const allow: Approver = async () => ({ approved: true, approver: 'test human', via: 'test' });
  /** Both nodes known; the flush steps exec'd through the nodes' engines write where the test can look. */
  const lifecycleCtx = (approver?: Approver): ToolContext => {
    const c = bothNodes(approver);
    return {
      ...c,
      config: {
        ...c.config,
        compose: { ...c.config.compose, dir: resolve('test/stack'), files: ['swarm-stack.yml'] },
        lifecycle: {
          ...c.config.lifecycle,
          stopAcceptingWork: { service: 'nats', argv: ['sh', '-c', 'touch /data/draining'] },
          opensearchFlush: false,
        },
        backup: {
          ...c.config.backup,
          duckdb: {
            ...c.config.backup.duckdb,
            checkpoint: ['sh', '-c', 'echo checkpoint {file} > /tmp/checkpointed'],
          },
        },
      },
    };
  };
  const onNode = async (host: string, args: string[]) =>
    (await execa('docker', ['-H', host, ...args])).stdout;

  it('down flushes through the nodes’ engines and scales every service to 0 dependents-first, keeping services and volumes; up deploys and restores the counts', async () => {
    await swarm.docker(['service', 'scale', '--detach', `${project}_agent=3`]);
    await waitFor('3 agents', async () => (await serviceReplicas('agent')) === '3/3', 60_000);
    const agentNodes = new Set(
      (
        await swarm.docker([
          'service',
          'ps',
          '--filter',
          'desired-state=running',
          '--format',
          '{{.Node}}',
          `${project}_agent`,
        ])
      )
        .split('\n')
        .filter(Boolean),
    );

    await expect(
      invokeTool(
        findTool('stack_down')!,
        lifecycleCtx(async () => ({ approved: false, reason: 'no' })),
        {},
      ),
    ).rejects.toMatchObject({ code: 'not_allowed' });
    expect(await serviceReplicas('agent')).toBe('3/3');

    const down = (await invokeTool(findTool('stack_down')!, lifecycleCtx(allow), {})) as {
      steps: Array<{ step: string; ok: boolean; skipped: boolean; detail: string }>;
      stopped: Array<{ service: string; container: string }>;
      summary: string;
    };
    const step = (name: string) => down.steps.find((x) => x.step === name)!;
    expect(step('stop accepting work')).toMatchObject({ ok: true, skipped: false });
    expect(step('stop accepting work').detail).toMatch(
      new RegExp(`${project}_nats\\.1@${swarm.nodes[1]!.name}`),
    );
    expect(step('CHECKPOINT DuckDB play logs')).toMatchObject({ ok: true, skipped: false });
    // Every agent task was checkpointed, on whichever node it ran.
    expect(step('CHECKPOINT DuckDB play logs').detail.match(/_agent\.\d+@/g)).toHaveLength(3);
    for (const node of agentNodes) expect(step('CHECKPOINT DuckDB play logs').detail).toContain(`@${node}`);
    // Dependents first (config services' dependsOn: agent and orchestrator before nats).
    const order = [...new Set(down.stopped.map((x) => x.service))];
    expect(order.indexOf('agent')).toBeLessThan(order.indexOf('nats'));
    expect(down.stopped.filter((x) => x.service === 'agent')).toHaveLength(3);

    const ls = await swarm.docker([
      'service',
      'ls',
      '--filter',
      `label=com.docker.stack.namespace=${project}`,
      '--format',
      '{{.Name}} {{.Replicas}}',
    ]);
    for (const svc of ['nats', 'orchestrator', 'ollama', 'agent'])
      expect(ls).toMatch(new RegExp(`${project}_${svc} 0/0`));
    // The volume on node2 is still there; nothing was removed.
    expect(await onNode(swarm.nodes[1]!.host, ['volume', 'ls', '-q'])).toContain(`${project}_nats-data`);
    expect(await downLabel('agent')).toBe('3');

    process.env.NODE2 = swarm.nodes[1]!.name;
    // A deploy that fails part-way (nats' constraint is malformed; services are updated in name
    // order, agent first) keeps the counts: what it reached is scaled back, the rest keeps its label.
    const badDir = mkdtempSync(join(tmpdir(), 'doomswbad-'));
    writeFileSync(
      join(badDir, 'swarm-stack.yml'),
      readFileSync('test/stack/swarm-stack.yml', 'utf8').replace(
        'node.hostname == ${NODE2}',
        'node.hostname = ${NODE2}',
      ),
    );
    const bad = lifecycleCtx();
    bad.config = { ...bad.config, compose: { ...bad.config.compose, dir: badDir } };
    // docker stack deploy updates services in no fixed order (a Go map): nats may fail before agent
    // is reached. Repeated (bounded) until a deploy reached agent first; each time, whatever it
    // reached keeps its recorded count and label, and nats keeps its own.
    let hint = '';
    for (let i = 0; i < 8 && !hint.includes(`${project}_agent → 3`); i++) {
      const failed = await invokeTool(findTool('stack_up')!, bad, { timeout: 30_000 }).catch(
        (e: unknown) => e,
      );
      expect(failed).toMatchObject({ code: 'failed', message: expect.stringMatching(/docker stack deploy/) });
      hint = (failed as { hint?: string }).hint ?? '';
      // Its count stays recorded until a stack_up succeeds (the next deploy resets it to the file's).
      expect(await downLabel('agent')).toBe('3');
      expect(await downLabel('nats')).toBe('1');
    }
    expect(hint).toMatch(new RegExp(`scaled back to the counts stack_down recorded \\(${project}_agent → 3`));
    await waitFor('agent back at 3', async () => (await serviceReplicas('agent')) === '3/3', 60_000);

    const up = (await invokeTool(findTool('stack_up')!, lifecycleCtx(), { timeout: 90_000 })) as {
      ready: boolean;
      compose: string;
      services: Array<{ service: string; ready: boolean; failed: boolean }>;
      failures: Array<{ service: string; findings: { problems: string[] } }>;
      notes: string[];
    };
    expect(up.compose).toBe('docker stack deploy');
    const by = (n: string) => up.services.find((x) => x.service === n)!;
    expect(by('nats').ready).toBe(true);
    expect(by('agent').ready).toBe(true);
    // The OOM loop and the unplaceable service are reported, not waited for until the timeout.
    expect(up.ready).toBe(false);
    expect(by('ollama').failed).toBe(true);
    // The OOM loop runs between its deaths: it is not called ready.
    expect(by('orchestrator')).toMatchObject({ ready: false, failed: true });
    const shown = renderText('stack_up', up);
    expect(shown).toMatch(/ollama:\n {2}- .*cannot be placed/);
    expect(up.failures.find((f) => f.service === 'ollama')!.findings.problems.join(' ')).toMatch(
      /cannot be placed/,
    );
    expect(up.notes.join('\n')).toMatch(
      new RegExp(
        `scaled back to the counts stack_down recorded: ${project}_agent → 3, .*${project}_nats → 1`,
      ),
    );
    expect(await serviceReplicas('agent')).toBe('3/3');
    expect(await downLabel('agent')).toBe('');
  }, 300_000);
});

describe('backup and restore on a two-node swarm: the harder cases', () => {
  const stack2 = `${project}b`;
  const keeperVolume = `${stack2}-keeper-data`;
  const n1 = () => swarm.nodes[0]!;
  const n2 = () => swarm.nodes[1]!;
  const allow: Approver = async () => ({ approved: true, approver: 'test human', via: 'test' });
  const deploy = (keeperNode: string) =>
    swarm.docker(['stack', 'deploy', '-c', resolve('test/stack/swarm-backup-stack.yml'), stack2], {
      KEEPER_NODE: keeperNode,
      NODE2: n2().name,
      KEEPER_VOLUME: keeperVolume,
    });
  /** A context on stack2 with both nodes known; keeper's pre hook prints remote's secret and fails. */
  const ctx2 = (approver?: Approver): ToolContext => {
    const c = bothNodes(approver);
    return {
      ...c,
      project: stack2,
      config: {
        ...c.config,
        project: stack2,
        backup: {
          ...c.config.backup,
          hooks: {},
        },
      },
    };
  };
  const onNode = async (host: string, args: string[]) =>
    (await execa('docker', ['-H', host, ...args])).stdout;
  const keeperSh = async (host: string, script: string) => {
    const id = await waitFor(
      `a running keeper container on ${host}`,
      async () =>
        (await onNode(host, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${stack2}_keeper`]))
          .split('\n')[0]
          ?.trim() || undefined,
      60_000,
    );
    return onNode(host, ['exec', id, 'sh', '-c', script]);
  };
  interface Backup {
    id: string;
    phase: string;
    components: Array<{ target: string; node: string | null }>;
    failures: Array<{ target?: string; reason: string }>;
  }

  beforeAll(async () => {
    await deploy(n1().name);
    await waitFor(
      'stack2 running on both nodes',
      async () =>
        (
          await swarm.docker([
            'service',
            'ls',
            '--filter',
            `label=com.docker.stack.namespace=${stack2}`,
            '--format',
            '{{.Replicas}}',
          ])
        )
          .split('\n')
          .filter((r) => r === '1/1' || r === '2/2').length === 3,
      90_000,
    );
  }, 120_000);
  afterAll(async () => {
    await swarm?.docker(['stack', 'rm', stack2]).catch(() => undefined);
  });

  it('a volume the file names itself is backed up; a global service’s volume is one entry per node; a hook’s output is masked in the stored backup with secrets of services on other nodes', async () => {
    await keeperSh(n1().host, 'echo kept-v1 > /data/state');
    const withHook = (): ToolContext => {
      const c = ctx2();
      return {
        ...c,
        config: {
          ...c.config,
          backup: {
            ...c.config.backup,
            hooks: {
              keeper: { pre: ['sh', '-c', 'echo "token tok-remote-9d8c7b6a31" >&2; exit 3'], post: [] },
            },
          },
        },
      };
    };
    const failed = (await invokeTool(findTool('backup')!, withHook(), { component: 'volumes' })) as Backup;
    expect(failed.failures.find((f) => f.target === keeperVolume)!.reason).toMatch(/exited 3/);
    // The hook ran on node1; the secret is remote's, whose only task is on node2.
    const listed = (await invokeTool(findTool('list_backups')!, ctx2(), {})) as { backups: unknown[] };
    expect(JSON.stringify(listed)).not.toContain('tok-remote-9d8c7b6a31');
    expect(JSON.stringify(failed)).not.toContain('tok-remote-9d8c7b6a31');

    const b = (await invokeTool(findTool('backup')!, ctx2(), { component: 'volumes' })) as Backup;
    expect(b.failures).toEqual([]);
    expect(b.components.map((c) => [c.target, c.node]).sort()).toEqual(
      [
        [`gvol@${n1().name}`, n1().name],
        [`gvol@${n2().name}`, n2().name],
        [keeperVolume, n1().name],
      ].sort(),
    );
  }, 120_000);

  it('refuses, touching nothing, to restore under a global service’s running task, or onto a copy the service no longer reads; restores onto the node it runs on now when asked', async () => {
    const b = (await invokeTool(findTool('backup')!, ctx2(), { component: 'volumes' })) as Backup;
    await expect(
      invokeTool(findTool('restore')!, ctx2(allow), {
        id: b.id,
        component: 'volumes',
        target: `gvol@${n1().name}`,
      }),
    ).rejects.toMatchObject({
      code: 'failed',
      message: expect.stringMatching(/global service .*_glob runs there/),
    });
    expect(await readJournal(bothNodes().config, stack2)).toBeNull();

    // keeper moves to node2 (a new, empty copy there); the backup's copy is node1's.
    await deploy(n2().name);
    await keeperSh(n2().host, 'echo fresh-on-node2 > /data/state');
    await expect(
      invokeTool(findTool('restore')!, ctx2(allow), { id: b.id, component: 'volumes', target: keeperVolume }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(
        new RegExp(`backed up on node ${n1().name}, but .*_keeper \\(on ${n2().name}\\)`),
      ),
    });
    expect(await readJournal(bothNodes().config, stack2)).toBeNull();

    const r = (await invokeTool(findTool('restore')!, ctx2(allow), {
      id: b.id,
      component: 'volumes',
      target: keeperVolume,
      node: n2().name,
    })) as { restored: Array<{ result: { node: string; note?: string } }> };
    expect(r.restored[0]!.result.node).toBe(n2().name);
    expect(r.restored[0]!.result.note).toBeUndefined();
    expect(await keeperSh(n2().host, 'cat /data/state')).toBe('kept-v1');
  }, 240_000);
});

describe('the recorder and the incident watcher on a two-node swarm', () => {
  it('records the stack’s task states and the manager’s service events; the watcher opens an incident for the OOM loop', async () => {
    const c = bothNodes();
    const store = EventStore.forProject(mkdtempSync(join(tmpdir(), 'doomswrec-')), project, 1 << 20);
    const logger = createLogger('silent');
    const recorder = new EventRecorder({ docker: c.docker, store, project, logger, taskPollMs: 1000 });
    expect(await recorder.start()).toBe(true);
    const watcher = new IncidentWatcher({ config: c.config, docker: c.docker, logger, safety: c.safety });
    recorder.onEvent((e) => watcher.onEvent(e));
    const stored = async (match: (e: EngineEvent) => boolean) => {
      for await (const e of store.all()) if (match(e)) return e;
      return undefined;
    };
    try {
      // The manager's task history, kept: each failed orchestrator task with its exit code and node.
      const failed = await waitFor(
        'a recorded OOM-killed orchestrator task',
        () =>
          stored(
            (e) =>
              e.type === 'task' &&
              e.action === 'failed' &&
              e.attributes.service === 'orchestrator' &&
              e.attributes.exitCode === '137',
          ),
        30_000,
      );
      expect(swarm.nodes.map((n) => n.name)).toContain(failed.attributes.node);
      expect(failed.attributes['com.docker.swarm.service.name']).toBe(`${project}_orchestrator`);
      // A change to a service reaches the recorder as the manager's service event.
      await swarm.docker(['service', 'update', '--detach', '--label-add', 'doomtest=1', `${project}_agent`]);
      await waitFor(
        'the recorded service update',
        () => stored((e) => e.type === 'service' && e.attributes.name === `${project}_agent`),
        30_000,
      );
      // Each task state is stored once, whatever the number of polls.
      const keys: string[] = [];
      for await (const e of store.all()) if (e.type === 'task') keys.push(`${e.id}:${e.action}`);
      expect(new Set(keys).size).toBe(keys.length);
      // New OOM kills (confirmed on the nodes' engines) open one incident for the orchestrator.
      const inc = await waitFor(
        'an orchestrator incident',
        async () => watcher.store.list().find((i) => i.service === 'orchestrator' && i.kinds.includes('oom')),
        90_000,
      );
      expect(inc.oomKills).toBeGreaterThanOrEqual(1);
      expect(inc.verdict).toMatch(/orchestrator/);
      expect(
        watcher.store.list().filter((i) => i.service === 'orchestrator' && i.status === 'open'),
      ).toHaveLength(1);
    } finally {
      await watcher.stop();
      await recorder.stop();
    }
  }, 180_000);
});

describe('the recorder started before its Swarm stack exists', () => {
  it('notices the stack once it is deployed and records its tasks', async () => {
    const late = `${project}r`;
    const c = bothNodes();
    const store = EventStore.forProject(mkdtempSync(join(tmpdir(), 'doomswrec-')), late, 1 << 20);
    const recorder = new EventRecorder({
      docker: c.docker,
      store,
      project: late,
      logger: createLogger('silent'),
      taskPollMs: 500,
      redetectMs: 500,
    });
    expect(await recorder.start()).toBe(true);
    try {
      // A service of the stack, as docker stack deploy labels it.
      await swarm.docker([
        'service',
        'create',
        '--detach',
        '--name',
        `${late}_x`,
        '--label',
        `com.docker.stack.namespace=${late}`,
        'doom-ops-test/base:latest',
      ]);
      await waitFor(
        'a recorded running task of the late stack',
        async () => {
          for await (const e of store.all())
            if (e.type === 'task' && e.action === 'running' && e.attributes.service === 'x') return true;
          return false;
        },
        60_000,
      );
    } finally {
      await recorder.stop();
      await swarm.docker(['service', 'rm', `${late}_x`]).catch(() => undefined);
    }
  }, 90_000);
});
