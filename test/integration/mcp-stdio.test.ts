import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonSchemas } from '../../src/mcp/schemas.js';
import { diagnosis } from '../../src/tools/diagnosis/index.js';
import { health } from '../../src/tools/health/index.js';
import { stackHealth } from '../../src/tools/health/stack-health.js';
import { logs } from '../../src/tools/logs/index.js';
import { CLI } from '../helpers/cli.js';
import { expectMatchesSchema } from '../helpers/mcp.js';
import { containerOf, type TestStack, upStack, waitFor } from '../helpers/stack.js';

let stack: TestStack;
let client: Client;
let stderr = '';

beforeAll(async () => {
  stack = await upStack({ services: ['nats', 'vizdoom'] });
  await waitFor(
    'vizdoom healthy',
    async () => (await containerOf(stack.project, 'vizdoom')).State.Health?.Status === 'healthy',
  );
  // The built CLI, spawned as Claude Code would: `doom-ops mcp`.
  const transport = new StdioClientTransport({
    command: 'node',
    args: [CLI, 'mcp', '--project', stack.project],
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  client = new Client({ name: 'doom-ops-test', version: '1.0.0' });
  await client.connect(transport);
});

afterAll(async () => {
  await client?.close();
  await stack?.down();
});

describe('MCP over stdio (built CLI, real Client)', () => {
  it('lists the default toolsets, lean: summaries, input schemas, annotations, no output schemas', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual([
      ...[...health.tools, ...diagnosis.tools, ...logs.tools].map((t) => t.name),
      'list_toolsets',
      'enable_toolsets',
    ]);
    const stack = tools.find((t) => t.name === 'stack_health')!;
    expect(stack.annotations).toMatchObject({
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    });
    expect(stack.inputSchema.properties).toHaveProperty('service');
    for (const t of tools) {
      expect(t.outputSchema).toBeUndefined();
      expect(t.description!.length).toBeLessThanOrEqual(200);
    }
    expect(JSON.stringify({ tools }).length / 4).toBeLessThanOrEqual(3000);
  });

  it('enable_toolsets adds tools to the list and tells the client (tools/list_changed)', async () => {
    let changed = 0;
    client.setNotificationHandler('notifications/tools/list_changed', () => {
      changed++;
    });
    const listed = await client.callTool({ name: 'list_toolsets', arguments: {} });
    const rows = (listed.structuredContent as { toolsets: { name: string; enabled: boolean }[] }).toolsets;
    expect(rows.filter((r) => r.enabled).map((r) => r.name)).toEqual(['health', 'diagnosis', 'logs']);
    const bad = await client.callTool({ name: 'enable_toolsets', arguments: { toolsets: ['nope'] } });
    expect(bad.isError).toBe(true);
    expect((bad.content as { text: string }[])[0]!.text).toMatch(/unknown toolset "nope".*backup/s);
    const r = await client.callTool({ name: 'enable_toolsets', arguments: { toolsets: ['backup'] } });
    expect((r.structuredContent as { added: string[] }).added).toEqual(['backup']);
    await waitFor('list_changed', async () => changed > 0, 5000);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['backup', 'list_backups', 'restore', 'stack_health']));
    expect(names).not.toContain('scale_agents');
  });

  it('calls stack_health against the real stack; structuredContent matches its output schema', async () => {
    const schema = jsonSchemas(stackHealth).output;
    const result = await client.callTool({ name: 'stack_health', arguments: {} });
    expect(result.isError).toBeFalsy();
    expectMatchesSchema(schema, result.structuredContent);
    const out = result.structuredContent as {
      project: string;
      services: Array<{ service: string; status: string }>;
    };
    expect(out.project).toBe(stack.project);
    expect(out.services.find((s) => s.service === 'vizdoom')?.status).toBe('healthy');
    expect(out.services.find((s) => s.service === 'orchestrator')?.status).toBe('missing');
    const text = (result.content as Array<{ type: string; text: string }>)[0]!;
    expect(text.text).toMatch(/verdict: DOWN/);
  });

  it('expected failures are isError results with actionable text, not protocol errors', async () => {
    const bad = await client.callTool({ name: 'service_logs', arguments: { service: 'nats; rm -rf /' } });
    expect(bad.isError).toBe(true);
    expect((bad.content as Array<{ text: string }>)[0]!.text).toMatch(/invalid_input.*service/);
    const missing = await client.callTool({ name: 'service_logs', arguments: { service: 'mongodb' } });
    expect(missing.isError).toBe(true);
    expect((missing.content as Array<{ text: string }>)[0]!.text).toMatch(
      /not_found.*expected but has no containers/,
    );
  });

  it('serves resources and the investigation prompt', async () => {
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(
      expect.arrayContaining([
        'doom-ops://stack/services',
        'doom-ops://stack/health',
        'doom-ops://stack/incidents',
        'doom-ops://tools',
      ]),
    );
    const catalog = await client.readResource({ uri: 'doom-ops://stack/services' });
    expect(JSON.parse((catalog.contents[0] as { text: string }).text).services.orchestrator.critical).toBe(
      true,
    );
    const prompt = await client.getPrompt({
      name: 'investigate_incident',
      arguments: { service: 'orchestrator' },
    });
    expect((prompt.messages[0]!.content as { text: string }).text).toMatch(/stack_health/);
  });

  it('writes nothing but protocol to stdout (the client would have failed to parse it)', () => {
    expect(stderr).not.toMatch(/SyntaxError|Unexpected token/);
  });
});

describe('the stdio server ends with its client (issue 17.7)', () => {
  const rpc = (id: number | undefined, method: string, params: Record<string, unknown> = {}) =>
    `${JSON.stringify({ jsonrpc: '2.0', ...(id === undefined ? {} : { id }), method, params })}\n`;
  const initialize = rpc(1, 'initialize', {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'eof-test', version: '1' },
  });

  it('stdin closed at once: exits 0 (not 13, an unsettled top-level await)', async () => {
    const r = await execa('node', [CLI, 'mcp', '--project', stack.project], {
      input: '',
      reject: false,
      timeout: 30_000,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
  });

  it('requests piped in, then EOF: every request is answered first, then exit 0', async () => {
    const r = await execa('node', [CLI, 'mcp', '--project', stack.project], {
      input:
        initialize +
        rpc(undefined, 'notifications/initialized') +
        rpc(2, 'tools/call', { name: 'stack_health', arguments: {} }),
      reject: false,
      timeout: 60_000,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const answers = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: number; result?: { structuredContent?: { project?: string } } });
    expect(answers.map((a) => a.id)).toEqual([1, 2]);
    expect(answers[1]!.result?.structuredContent?.project).toBe(stack.project);
  });
});
