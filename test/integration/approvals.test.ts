import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, InMemoryTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createMcpHandler } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerAdapter } from '../../src/adapters/docker/client.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/logger.js';
import { createMcpServer } from '../../src/mcp/server.js';
import { createSafety } from '../../src/safety/index.js';
import type { Principal } from '../../src/tools/context.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { scaleService } from '../../src/tools/scaling/scale-service.js';
import { cli } from '../helpers/cli.js';
import { testContext } from '../helpers/context.js';
import { containerOf, docker, type TestStack, upStack, waitFor } from '../helpers/stack.js';

let stack: TestStack;
const stateDir = mkdtempSync(join(tmpdir(), 'doomstate-'));
const env = () => ({ DOOM_OPS_STATE_DIR: stateDir });

function config(over: Partial<Config> = {}): Config {
  return { ...loadConfig({ env: env(), project: stack.project }), ...over };
}

async function mcpClient(
  options: {
    elicit?: 'accept' | 'decline';
    config?: Config;
    seen?: string[];
    principal?: Principal;
    clientName?: string;
  } = {},
): Promise<Client> {
  const cfg = options.config ?? config();
  const server = createMcpServer({
    config: cfg,
    safety: createSafety(cfg),
    docker: new DockerAdapter({ timeoutMs: 30_000 }),
    logger: createLogger('silent'),
    principal: options.principal ?? { id: 'mcp:test-agent', surface: 'mcp' },
  });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  const client = new Client(
    { name: options.clientName ?? 'approval-test', version: '1' },
    options.elicit ? { capabilities: { elicitation: { form: {} } } } : {},
  );
  if (options.elicit) {
    // Stands in for the human answering the client's approval dialog.
    client.setRequestHandler('elicitation/create', async (req) => {
      options.seen?.push(req.params.message);
      return options.elicit === 'accept'
        ? { action: 'accept', content: { approve: true } }
        : { action: 'decline' };
    });
  }
  await client.connect(a);
  return client;
}

const started = async () => (await containerOf(stack.project, 'vizdoom')).State.StartedAt;
const text = (r: object) => (r as { content: Array<{ text: string }> }).content[0]!.text;
const approvalId = (t: string) => /apr_[0-9a-f]{12}/.exec(t)![0];
const restart = { name: 'restart_service', arguments: { service: 'vizdoom', waitHealthy: 30 } };

beforeAll(async () => {
  stack = await upStack({ services: ['vizdoom', 'agent'], env: { ORCHESTRATOR_MODE: 'normal' } });
  await waitFor(
    'vizdoom healthy',
    async () => (await containerOf(stack.project, 'vizdoom')).State.Health?.Status === 'healthy',
  );
});

afterAll(async () => {
  await stack?.down();
});

/** The local user behind `doom-ops mcp` (stdio): an approver by default, like the CLI. */
const localUser: Principal = { id: 'mcp:stdio:alice', surface: 'mcp', transport: 'stdio', display: 'alice' };
/** A bearer-token holder of `doom-ops serve`: an operator by default. */
const tokenHolder: Principal = { id: 'mcp:http', surface: 'mcp', transport: 'http' };

describe('MCP with elicitation', () => {
  it('executes only after the human accepts; the dialog shows the plan; the audit names the principal and how', async () => {
    const seen: string[] = [];
    const before = await started();
    const r = await (
      await mcpClient({ elicit: 'accept', seen, principal: localUser, clientName: 'Trust Me I Am Root' })
    ).callTool(restart);
    expect(r.isError).toBeFalsy();
    expect(seen[0]).toMatch(/restart .*vizdoom.*SIGTERM/s);
    expect(await started()).not.toBe(before);
    expect((r.structuredContent as { healthy: boolean }).healthy).toBe(true);
    const approved = (await createSafety(config()).audit.query({ tool: 'restart_service' })).entries.filter(
      (e) => e.event === 'approved',
    );
    // The approver is the principal; the client's self-chosen name is only part of how it was given.
    expect(approved.at(-1)).toMatchObject({
      approver: 'mcp:stdio:alice',
      via: 'elicitation (client "Trust Me I Am Root")',
    });
  });

  it('an operator whose client accepts its own elicitation approves nothing: the request waits for an approver', async () => {
    for (const principal of [tokenHolder, { id: 'mcp:test-agent', surface: 'mcp' } as Principal]) {
      const seen: string[] = [];
      const before = await started();
      const r = await (await mcpClient({ elicit: 'accept', seen, principal })).callTool(restart);
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(/^approval_required: .*holds the operator role/);
      expect(seen).toEqual([]); // never asked: its answer could not count
      expect(await started()).toBe(before);
      const id = approvalId(text(r));
      expect(createSafety(config()).approvals.get(id).status).toBe('pending');
    }
  });

  it('a token holder made an approver in config approves through elicitation', async () => {
    const cfg = config({ roles: { ...config().roles, principals: { 'mcp:http': 'approver' } } });
    const seen: string[] = [];
    const before = await started();
    const r = await (
      await mcpClient({ elicit: 'accept', seen, principal: tokenHolder, config: cfg })
    ).callTool(restart);
    expect(r.isError).toBeFalsy();
    expect(seen).toHaveLength(1);
    expect(await started()).not.toBe(before);
  });

  it('decline refuses and changes nothing', async () => {
    const before = await started();
    const r = await (await mcpClient({ elicit: 'decline', principal: localUser })).callTool(restart);
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/not approved \(decline\)/);
    expect(await started()).toBe(before);
  });
});

/**
 * A 2026-07-28 client over Streamable HTTP, served in-process by the SDK's per-request entry (the
 * same createMcpHandler wiring `doom-ops serve` uses for that era). `answer` stands in for the
 * human at the client; undefined = a client that declares no elicitation.
 */
async function modernClient(
  options: {
    answer?: 'accept' | 'decline' | 'unchecked';
    principal?: Principal;
    config?: Config;
    seen?: string[];
    autoFulfill?: boolean;
  } = {},
): Promise<Client> {
  const cfg = options.config ?? config();
  const deps = {
    config: cfg,
    safety: createSafety(cfg),
    docker: new DockerAdapter({ timeoutMs: 30_000 }),
    logger: createLogger('silent'),
    principal: options.principal ?? localUser,
  };
  const handler = createMcpHandler(() => createMcpServer(deps, 'modern'), { legacy: 'reject' });
  const client = new Client(
    { name: 'modern-approval-test', version: '1' },
    {
      versionNegotiation: { mode: { pin: '2026-07-28' } },
      ...(options.answer ? { capabilities: { elicitation: { form: {} } } } : {}),
      ...(options.autoFulfill === false ? { inputRequired: { autoFulfill: false } } : {}),
    },
  );
  if (options.answer) {
    client.setRequestHandler('elicitation/create', async (req) => {
      options.seen?.push((req.params as { message: string }).message);
      if (options.answer === 'decline') return { action: 'decline' };
      return { action: 'accept', content: { approve: options.answer === 'accept' } };
    });
  }
  await client.connect(
    new StreamableHTTPClientTransport(new URL('http://doom-ops.test/mcp'), {
      fetch: (url, init) => handler.fetch(new Request(url, init)),
    }),
  );
  expect(client.getProtocolEra()).toBe('modern');
  return client;
}

describe('MCP 2026-07-28: approvals through input_required', () => {
  it('asks through input_required with the plan; accept runs it once, audited with the principal and how', async () => {
    const seen: string[] = [];
    const before = await started();
    const r = await (await modernClient({ answer: 'accept', seen })).callTool(restart);
    expect(r.isError).toBeFalsy();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/restart .*vizdoom.*SIGTERM.*approval apr_[0-9a-f]{12}/s);
    expect(await started()).not.toBe(before);
    const safety = createSafety(config());
    const approved = (await safety.audit.query({ tool: 'restart_service' })).entries.filter(
      (e) => e.event === 'approved',
    );
    expect(approved.at(-1)).toMatchObject({
      approver: 'mcp:stdio:alice',
      via: 'input_required (client "modern-approval-test")',
      approvalId: approvalId(seen[0]!),
    });
    const record = safety.approvals.get(approvalId(seen[0]!));
    expect(record.decidedVia).toMatch(/^input_required/);
    // The record ends as an out-of-band one does: done, with what the action returned.
    expect(record.status).toBe('done');
    expect(record.result).toMatchObject({ healthy: true });
  });

  it('decline, or accept with approve unchecked, runs nothing', async () => {
    for (const answer of ['decline', 'unchecked'] as const) {
      const seen: string[] = [];
      const before = await started();
      const r = await (await modernClient({ answer, seen })).callTool(restart);
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(answer === 'decline' ? /not approved \(decline\)/ : /approve unchecked/);
      expect(await started()).toBe(before);
      expect(createSafety(config()).approvals.get(approvalId(seen[0]!)).status).toBe('denied');
    }
  });

  it('not answering runs nothing; a retry without an answer asks again; a replayed answer is refused', async () => {
    const client = await modernClient({ answer: 'accept', autoFulfill: false });
    const before = await started();
    const call = (extra: Record<string, unknown> = {}) =>
      client.request(
        { method: 'tools/call', params: { ...restart, ...extra } },
        { allowInputRequired: true },
      ) as Promise<Record<string, unknown>>;
    const first = await call();
    expect(first.resultType).toBe('input_required');
    const state = first.requestState as string;
    const asked = JSON.stringify(first.inputRequests);
    const id = approvalId(asked);
    // The client never answers: nothing runs, the approval stays pending.
    await new Promise((r) => setTimeout(r, 500));
    expect(await started()).toBe(before);
    expect(createSafety(config()).approvals.get(id).status).toBe('pending');
    // A retry that carries no answer is asked again, for the same approval.
    const again = await call({ requestState: state });
    expect(again.resultType).toBe('input_required');
    expect(JSON.stringify(again.inputRequests)).toContain(id);
    // A forged state is refused before anything runs.
    await expect(
      call({
        requestState: `${state}x`,
        inputResponses: { approve: { action: 'accept', content: { approve: true } } },
      }),
    ).rejects.toThrow();
    // The answer, once: runs. The same answer replayed: refused, nothing runs twice.
    const yes = {
      inputResponses: { approve: { action: 'accept', content: { approve: true } } },
      requestState: state,
    };
    const done = await call(yes);
    expect(done.isError).toBeFalsy();
    const after = await started();
    expect(after).not.toBe(before);
    const replay = await call(yes);
    expect(replay.isError).toBe(true);
    expect(JSON.stringify(replay.content)).toMatch(/not pending: an approval is used once/);
    expect(await started()).toBe(after);
  });

  it('an operator, or a client without elicitation, is not asked: approval_required', async () => {
    for (const options of [{ answer: 'accept' as const, principal: tokenHolder }, {}]) {
      const seen: string[] = [];
      const before = await started();
      const r = await (await modernClient({ ...options, seen })).callTool(restart);
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(/^approval_required/);
      expect(seen).toEqual([]);
      expect(await started()).toBe(before);
    }
  });
});

describe('MCP without elicitation: approval_required, then a human approves out of band', () => {
  it('nothing runs until `doom-ops approve <id>`; confirm:true and get_approval approve nothing; reuse is refused', async () => {
    const client = await mcpClient();
    const before = await started();
    const first = await client.callTool(restart);
    expect(first.isError).toBe(true);
    expect(text(first)).toMatch(/^approval_required/);
    const id = approvalId(text(first));

    // A model "approving" itself: extra arguments are not consent, and collecting the result executes nothing.
    const sneaky = await client.callTool({
      name: 'restart_service',
      arguments: { ...restart.arguments, confirm: true, approve: true, approvalId: id },
    });
    expect(text(sneaky)).toMatch(/^approval_required/);
    expect(approvalId(text(sneaky))).not.toBe(id);
    const pending = await client.callTool({ name: 'get_approval', arguments: { id } });
    expect((pending.structuredContent as { status: string }).status).toBe('pending');
    expect(await started()).toBe(before);

    const approved = await cli(['approve', id, '--project', stack.project, '--json'], env());
    expect(approved.exitCode, approved.stderr).toBe(0);
    expect(await started()).not.toBe(before);
    const done = await client.callTool({ name: 'get_approval', arguments: { id } });
    expect(done.structuredContent).toMatchObject({
      status: 'done',
      requester: 'mcp:test-agent',
      decidedBy: expect.stringMatching(/^cli:/),
      decidedVia: 'doom-ops approve',
      result: { service: 'vizdoom', healthy: true },
    });

    const again = await cli(['approve', id, '--project', stack.project], env());
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/is done, not pending: an approval is used once/);
  });

  it('an operator cannot approve; the approver role is named', async () => {
    const id = approvalId(text(await (await mcpClient()).callTool(restart)));
    const cfg = join(stateDir, 'roles.yaml');
    writeFileSync(cfg, 'roles:\n  principals:\n    "cli:root": operator\n');
    const r = await cli(['approve', id, '--project', stack.project], { ...env(), DOOM_OPS_CONFIG: cfg });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/needs the approver role/);
    const status = await cli(['approvals', '--project', stack.project, '--json'], env());
    expect(status.json<Array<{ id: string; status: string }>>().find((a) => a.id === id)?.status).toBe(
      'pending',
    );
  });

  it('an expired approval is refused', async () => {
    const short = config({ approvals: { ttl: 1, elicitationTimeout: 300_000 } });
    const id = approvalId(text(await (await mcpClient({ config: short })).callTool(restart)));
    await new Promise((r) => setTimeout(r, 20));
    const r = await cli(['approve', id, '--project', stack.project], env());
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/is expired/);
  });

  it('a plan gone stale (the replica restarted meanwhile) is refused at execution', async () => {
    const id = approvalId(text(await (await mcpClient()).callTool(restart)));
    const c = await containerOf(stack.project, 'vizdoom');
    await docker.getContainer(c.Id).restart({ t: 1 });
    const afterManual = await started();
    const r = await cli(['approve', id, '--project', stack.project, '--json'], env());
    expect(r.exitCode).toBe(1);
    expect(r.json<{ status: string; error: string }>()).toMatchObject({
      status: 'refused',
      error: expect.stringMatching(/stale/),
    });
    expect(await started()).toBe(afterManual);
  });
});

describe('CLI confirmation', () => {
  it('without a terminal and without --yes nothing runs; --yes runs it and is audited with the approver', async () => {
    const before = await started();
    const refused = await cli(['restart', 'vizdoom', '--project', stack.project], env());
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/restart 1 replica\(s\) of vizdoom/); // the plan is shown
    expect(refused.stderr).toMatch(/no terminal to confirm on/);
    expect(await started()).toBe(before);
    const ok = await cli(['restart', 'vizdoom', '--yes', '--project', stack.project, '--json'], env());
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(await started()).not.toBe(before);
    const audit = await cli(
      ['audit', '--tool', 'restart_service', '--limit', '3', '--project', stack.project, '--json'],
      env(),
    );
    const entries = audit.json<{ entries: Array<{ event: string; approver?: string; via?: string }> }>()
      .entries;
    expect(entries.map((e) => e.event)).toEqual(['approved', 'started', 'succeeded']);
    expect(entries[0]).toMatchObject({ approver: expect.stringMatching(/^cli:/), via: '--yes' });
  });
});

describe('locks and audit', () => {
  it('two concurrent scale operations: one runs, the other is busy; the audit log has both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'doomstate-'));
    const alice = testContext(
      stack.project,
      undefined,
      {},
      { stateDir: dir, principal: { id: 'mcp:alice', surface: 'mcp' } },
    );
    const bob = testContext(
      stack.project,
      undefined,
      {},
      { stateDir: dir, principal: { id: 'mcp:bob', surface: 'mcp' } },
    );
    const results = await Promise.allSettled([
      invokeTool(scaleService, alice, { service: 'agent', replicas: 3 }),
      invokeTool(scaleService, bob, { service: 'agent', replicas: 2 }),
    ]);
    // Whichever takes the lock first runs; the other is told who holds it.
    const ran = results.findIndex((r) => r.status === 'fulfilled');
    expect(ran).not.toBe(-1);
    const [winner, loser] = ran === 0 ? ['mcp:alice', 'mcp:bob'] : ['mcp:bob', 'mcp:alice'];
    expect(results[1 - ran]).toMatchObject({
      status: 'rejected',
      reason: {
        code: 'busy',
        message: expect.stringMatching(new RegExp(`scale_service by ${winner} is running since`)),
      },
    });
    const { entries } = await alice.safety.audit.query({ tool: 'scale_service' });
    expect(entries.filter((e) => e.principal === winner).map((e) => e.event)).toEqual([
      'requested',
      'started',
      'succeeded',
    ]);
    expect(entries.filter((e) => e.principal === loser).map((e) => e.event)).toEqual([
      'requested',
      'refused',
    ]);
    const cliAudit = await cli(['audit', '--tool', 'scale_service', '--project', stack.project, '--json'], {
      DOOM_OPS_STATE_DIR: dir,
    });
    expect(cliAudit.json<{ entries: unknown[] }>().entries).toHaveLength(5);
  });
});
