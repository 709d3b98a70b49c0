import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, InMemoryTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createMcpHandler } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DockerAdapter, type LogReadOptions } from '../../src/adapters/docker/client.js';
import type { LogLine } from '../../src/adapters/docker/types.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/logger.js';
import { createMcpServer } from '../../src/mcp/server.js';
import { createSafety } from '../../src/safety/index.js';
import { defineTool } from '../../src/tools/define-tool.js';
import { registry } from '../../src/tools/registry.js';
import { docker, uniqueProject, waitFor } from '../helpers/stack.js';

const LINES = 400_000;
const stateDir = mkdtempSync(join(tmpdir(), 'doomstate-'));
const project = uniqueProject('domcp');
let containerId = '';

/** The real adapter, watched: how many log lines were read and how the read ended. */
class WatchedAdapter extends DockerAdapter {
  linesRead = 0;
  ended: { error: unknown } | undefined;
  override async *logLines(id: string, options: LogReadOptions = {}): AsyncGenerator<LogLine> {
    try {
      for await (const line of super.logLines(id, options)) {
        this.linesRead++;
        yield line;
      }
      this.ended = { error: undefined };
    } catch (err) {
      this.ended = { error: err };
      throw err;
    }
  }
}

async function connect(config: Config, adapter: DockerAdapter, tools = registry): Promise<Client> {
  const server = createMcpServer({
    config,
    safety: createSafety(config),
    docker: adapter,
    logger: createLogger('silent'),
    principal: { id: 'test', surface: 'mcp' },
    registry: tools,
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'in-process', version: '1' });
  await client.connect(clientSide);
  return client;
}

/** The same server on protocol revision 2026-07-28, through the SDK's per-request HTTP entry. */
async function connectModern(config: Config, adapter: DockerAdapter): Promise<Client> {
  const deps = {
    config,
    safety: createSafety(config),
    docker: adapter,
    logger: createLogger('silent'),
    principal: { id: 'test', surface: 'mcp' as const },
  };
  const handler = createMcpHandler(() => createMcpServer(deps, 'modern'), { legacy: 'reject' });
  const client = new Client(
    { name: 'modern', version: '1' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL('http://doom-ops.test/mcp'), {
      fetch: (url, init) => handler.fetch(new Request(url, init)),
    }),
  );
  expect(client.getProtocolEra()).toBe('modern');
  return client;
}

beforeAll(async () => {
  const c = await docker.createContainer({
    name: `${project}-vizdoom-1`,
    Image: 'doom-ops-test/base:latest',
    Cmd: ['sh', '-c', `seq 1 ${LINES}; sleep 600`],
    Labels: {
      'com.docker.compose.project': project,
      'com.docker.compose.service': 'vizdoom',
      'com.docker.compose.container-number': '1',
      'com.docker.compose.oneoff': 'False',
    },
  });
  containerId = c.id;
  await c.start();
  const probe = new DockerAdapter({ timeoutMs: 10_000 });
  await waitFor('all lines logged', async () => {
    for await (const l of probe.logLines(containerId, { tail: 1 })) return l.text === String(LINES);
    return false;
  });
});

afterAll(async () => {
  await docker
    .getContainer(containerId)
    .remove({ force: true })
    .catch(() => {});
});

describe('MCP long calls', () => {
  // 2025-era cancellation is notifications/cancelled; on 2026-07-28 it is the closed response stream.
  for (const [era, open] of [
    ['2025-era', connect],
    ['2026-07-28', connectModern],
  ] as const) {
    it(`${era}: reports progress to a caller that asked, and a cancelled call stops its log stream; the server keeps serving`, async () => {
      const base = loadConfig({ env: { DOOM_OPS_STATE_DIR: stateDir }, project });
      const config = { ...base, logs: { ...base.logs, scanLines: 1_000_000 } };
      const adapter = new WatchedAdapter({ timeoutMs: 60_000 });
      const client = await open(config, adapter);

      const controller = new AbortController();
      const progress: Array<{ progress: number; message?: string }> = [];
      const call = client.callTool(
        { name: 'service_logs', arguments: { service: 'vizdoom', grep: 'never-matches', tail: 10 } },
        {
          signal: controller.signal,
          onprogress: (p) => {
            progress.push(p);
            if (progress.length === 2) controller.abort(new Error('user pressed stop'));
          },
        },
      );
      await expect(call).rejects.toThrow();
      expect(progress[0]!.message).toMatch(/scanned 5000 lines/);

      // The server saw the cancellation: its engine log stream ends, far short of the log.
      await waitFor('log stream to end', async () => adapter.ended, 10_000, 20);
      expect(adapter.ended?.error).toMatchObject({ code: 'cancelled' });
      const stoppedAt = adapter.linesRead;
      expect(stoppedAt).toBeLessThan(LINES);
      await new Promise((r) => setTimeout(r, 300));
      expect(adapter.linesRead).toBe(stoppedAt);

      const after = await client.callTool({
        name: 'service_logs',
        arguments: { service: 'vizdoom', tail: 2 },
      });
      expect(after.isError).toBeFalsy();
      expect(
        (after.structuredContent as { lines: Array<{ text: string }> }).lines.map((l) => l.text),
      ).toEqual([String(LINES - 1), String(LINES)]);
      await client.close();
    });
  }
});

describe('MCP on 2026-07-28', () => {
  it('read-only mode hides and refuses non-read tools for 2026-07-28 clients too', async () => {
    const base = loadConfig({ env: { DOOM_OPS_STATE_DIR: stateDir }, project });
    const client = await connectModern(
      { ...base, readOnly: true, mcp: { ...base.mcp, toolsets: ['all'] } },
      new DockerAdapter({ timeoutMs: 10_000 }),
    );
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('stack_health');
    expect(names).not.toContain('restart_service');
    const r = await client.callTool({ name: 'restart_service', arguments: { service: 'vizdoom' } });
    expect(r.isError).toBe(true);
    expect((r.content as { text: string }[])[0]!.text).toMatch(/read-only mode/);
    await client.close();
  });
});

describe('read-only mode', () => {
  let ran = false;
  const writeTool = defineTool({
    name: 'test_write',
    title: 'Test write',
    description:
      'A write tool that exists only in this test, to prove the read-only gate at list and call time.',
    risk: 'write',
    idempotent: false,
    input: z.object({ n: z.number().describe('anything') }),
    output: z.object({ done: z.boolean() }),
    async run() {
      ran = true;
      return { done: true };
    },
  });

  it('a non-read tool is neither listed nor callable', async () => {
    const config = { ...loadConfig({ env: { DOOM_OPS_STATE_DIR: stateDir }, project }), readOnly: true };
    const client = await connect(config, new DockerAdapter({ timeoutMs: 10_000 }), [...registry, writeTool]);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).not.toContain('test_write');
    expect(tools.map((t) => t.name)).toContain('stack_health');
    const r = await client.callTool({ name: 'test_write', arguments: { n: 1 } });
    expect(r.isError).toBe(true);
    expect((r.content as Array<{ text: string }>)[0]!.text).toMatch(/not_allowed.*read-only/);
    expect(ran).toBe(false);
    await client.close();
  });

  it('quote-laden input to a refused call leaves an audit log that audit_log reads back whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'doomaudit-'));
    const config = { ...loadConfig({ env: { DOOM_OPS_STATE_DIR: dir }, project }), readOnly: true };
    const client = await connect(config, new DockerAdapter({ timeoutMs: 10_000 }));
    // Not image references: refused for their input, and audited with the reason.
    for (const image of ['auth=a"b', 'token=x\\"y', 'c:\\\\path"']) {
      const r = await client.callTool({ name: 'update_service', arguments: { service: 'dashboard', image } });
      expect(r.isError).toBe(true);
    }
    // A valid call, refused by read-only mode.
    const valid = await client.callTool({
      name: 'update_service',
      arguments: { service: 'dashboard', image: 'clau-doom/dashboard:1.4.2' },
    });
    expect(valid.isError).toBe(true);
    // A read-only server does not list audit_log's writers, but the log they leave must stay readable.
    const out = await client.callTool({ name: 'audit_log', arguments: { tool: 'update_service' } });
    expect(out.isError).toBeFalsy();
    const audit = out.structuredContent as {
      entries: Array<{ event: string; outcome?: string }>;
      damaged: number;
    };
    expect(audit.damaged).toBe(0);
    expect(audit.entries.map((e) => e.event)).toEqual([
      'refused',
      'refused',
      'refused',
      'requested',
      'refused',
    ]);
    expect(audit.entries[0]!.outcome).toMatch(
      /invalid input for update_service: image: must be an image reference/,
    );
    expect(audit.entries[4]!.outcome).toMatch(/read-only mode/);
    await client.close();
  });

  it('outside read-only mode the same tool is listed and runs (the gate is what differs)', async () => {
    const client = await connect(
      loadConfig({ env: { DOOM_OPS_STATE_DIR: stateDir }, project }),
      new DockerAdapter({ timeoutMs: 10_000 }),
      [...registry, writeTool],
    );
    expect((await client.listTools()).tools.find((t) => t.name === 'test_write')?.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: false,
    });
    expect((await client.callTool({ name: 'test_write', arguments: { n: 1 } })).structuredContent).toEqual({
      done: true,
    });
    expect(ran).toBe(true);
    await client.close();
  });
});

describe('what agents use besides tools', () => {
  const cfg = () => loadConfig({ env: { DOOM_OPS_STATE_DIR: stateDir }, project });

  it('completes service names in prompt and resource-template arguments (configured and running)', async () => {
    const client = await connect(cfg(), new DockerAdapter({ timeoutMs: 10_000 }));
    const prompt = await client.complete({
      ref: { type: 'ref/prompt', name: 'investigate_incident' },
      argument: { name: 'service', value: 'viz' },
    });
    expect(prompt.completion.values).toEqual(['vizdoom']);
    const all = await client.complete({
      ref: { type: 'ref/prompt', name: 'investigate_incident' },
      argument: { name: 'service', value: '' },
    });
    expect(all.completion.values).toEqual(expect.arrayContaining(['nats', 'orchestrator', 'vizdoom']));
    const template = await client.complete({
      ref: { type: 'ref/resource', uri: 'doom-ops://services/{service}/logs' },
      argument: { name: 'service', value: 'orch' },
    });
    expect(template.completion.values).toEqual(['orchestrator']);
    // Backup ids complete from list_backups: none in a fresh state dir.
    const backups = await client.complete({
      ref: { type: 'ref/prompt', name: 'plan_restore' },
      argument: { name: 'backup', value: '' },
    });
    expect(backups.completion.values).toEqual([]);
    await client.close();
  });

  it("reads one service's health and logs through resource templates", async () => {
    const client = await connect(cfg(), new DockerAdapter({ timeoutMs: 10_000 }));
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate).sort()).toEqual([
      'doom-ops://services/{service}/health',
      'doom-ops://services/{service}/logs',
      'doom-ops://tools/{tool}/output-schema',
    ]);
    // The schema a programmatic client validates structuredContent against (not in tools/list by default).
    const schema = await client.readResource({ uri: 'doom-ops://tools/stack_health/output-schema' });
    expect(JSON.parse((schema.contents[0] as { text: string }).text)).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['project', 'verdict', 'services']),
    });
    const health = await client.readResource({ uri: 'doom-ops://services/vizdoom/health' });
    const parsed = JSON.parse((health.contents[0] as { text: string }).text) as {
      services: { service: string }[];
    };
    expect(parsed.services.map((s) => s.service)).toEqual(['vizdoom']);
    const logs = await client.readResource({ uri: 'doom-ops://services/vizdoom/logs' });
    const text = (logs.contents[0] as { text: string }).text;
    expect(text).toContain(String(LINES)); // the newest lines, as a tail
    expect(text.split('\n').length).toBeLessThan(150);
    await client.close();
  });

  it('a bad or unknown service in a template URI is -32602 with the URI, never an internal error', async () => {
    const client = await connect(cfg(), new DockerAdapter({ timeoutMs: 10_000 }));
    for (const uri of [
      'doom-ops://services/..%2F..%2Fetc/logs',
      'doom-ops://services/%E0%A4%A/health',
      'doom-ops://services/no-such-service/logs',
      'doom-ops://tools/%E0%A4%A/output-schema',
    ])
      await expect(client.readResource({ uri }), uri).rejects.toMatchObject({ code: -32602 });
    await client.close();
  });

  it('read-only mode hides non-read tools from the output-schema template, its completion and the restore prompt', async () => {
    const client = await connect({ ...cfg(), readOnly: true }, new DockerAdapter({ timeoutMs: 10_000 }));
    const done = await client.complete({
      ref: { type: 'ref/resource', uri: 'doom-ops://tools/{tool}/output-schema' },
      argument: { name: 'tool', value: 're' },
    });
    expect(done.completion.values).toEqual(['recent_incidents']);
    await expect(
      client.readResource({ uri: 'doom-ops://tools/restart_service/output-schema' }),
    ).rejects.toMatchObject({ code: -32602 });
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['investigate_incident']);
    await client.close();
  });

  it('a long text result is cut at the budget with a hint; detail: "full" gives all of it', async () => {
    const client = await connect(cfg(), new DockerAdapter({ timeoutMs: 10_000 }));
    const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text;
    const args = { service: 'vizdoom', tail: 1000 };
    const concise = text(await client.callTool({ name: 'service_logs', arguments: args }));
    expect(concise.length).toBeLessThanOrEqual(cfg().mcp.textBudget);
    expect(concise).toMatch(/characters left out .*narrow the call with service.*tail.*detail: "full"/s);
    const full = text(
      await client.callTool({ name: 'service_logs', arguments: { ...args, detail: 'full' } }),
    );
    expect(full.length).toBeGreaterThan(cfg().mcp.textBudget);
    expect(full).toContain(String(LINES));
    const bad = await client.callTool({ name: 'service_logs', arguments: { ...args, detail: 'everything' } });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/detail: must be "concise" or "full"/);
    // Read tools advertise it; write tools do not take it.
    const { tools } = await client.listTools();
    expect(tools.find((t) => t.name === 'service_logs')!.inputSchema.properties).toHaveProperty('detail');
    await client.close();
  });

  it('lists tools in the same order every time', async () => {
    const client = await connect(cfg(), new DockerAdapter({ timeoutMs: 10_000 }));
    const a = (await client.listTools()).tools.map((t) => t.name);
    const b = (await client.listTools()).tools.map((t) => t.name);
    expect(a).toEqual(b);
    expect(a.length).toBeGreaterThan(5);
    await client.close();
  });
});
