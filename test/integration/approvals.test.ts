import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerAdapter } from '../../src/adapters/docker/client.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/logger.js';
import { createMcpServer } from '../../src/mcp/server.js';
import { createSafety } from '../../src/safety/index.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { scaleService } from '../../src/tools/scale-service.js';
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
  options: { elicit?: 'accept' | 'decline'; config?: Config; seen?: string[] } = {},
): Promise<Client> {
  const cfg = options.config ?? config();
  const server = createMcpServer({
    config: cfg,
    safety: createSafety(cfg),
    docker: new DockerAdapter({ timeoutMs: 30_000 }),
    logger: createLogger('silent'),
    principal: { id: 'mcp:test-agent', surface: 'mcp' },
  });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  const client = new Client(
    { name: 'approval-test', version: '1' },
    options.elicit ? { capabilities: { elicitation: { form: {} } } } : {},
  );
  if (options.elicit) {
    // Stands in for the human answering the client's approval dialog.
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
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

describe('MCP with elicitation', () => {
  it('executes only after the human accepts; the dialog shows the plan', async () => {
    const seen: string[] = [];
    const before = await started();
    const r = await (await mcpClient({ elicit: 'accept', seen })).callTool(restart);
    expect(r.isError).toBeFalsy();
    expect(seen[0]).toMatch(/restart .*vizdoom.*SIGTERM/s);
    expect(await started()).not.toBe(before);
    expect((r.structuredContent as { healthy: boolean }).healthy).toBe(true);
  });

  it('decline refuses and changes nothing', async () => {
    const before = await started();
    const r = await (await mcpClient({ elicit: 'decline' })).callTool(restart);
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/not approved \(decline\)/);
    expect(await started()).toBe(before);
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
    expect(
      audit.json<{ entries: Array<{ event: string; approver?: string }> }>().entries.map((e) => e.event),
    ).toEqual(['approved', 'started', 'succeeded']);
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
    expect(results[0]!.status).toBe('fulfilled');
    expect(results[1]).toMatchObject({
      status: 'rejected',
      reason: { code: 'busy', message: expect.stringMatching(/scale_service by mcp:alice is running since/) },
    });
    const { entries } = await alice.safety.audit.query({ tool: 'scale_service' });
    expect(entries.filter((e) => e.principal === 'mcp:alice').map((e) => e.event)).toEqual([
      'requested',
      'started',
      'succeeded',
    ]);
    expect(entries.filter((e) => e.principal === 'mcp:bob').map((e) => e.event)).toEqual([
      'requested',
      'refused',
    ]);
    const cliAudit = await cli(['audit', '--tool', 'scale_service', '--project', stack.project, '--json'], {
      DOOM_OPS_STATE_DIR: dir,
    });
    expect(cliAudit.json<{ entries: unknown[] }>().entries).toHaveLength(5);
  });
});
