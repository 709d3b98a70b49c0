import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  it('lists the registry with schemas and annotations', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(
      expect.arrayContaining(['stack_health', 'service_stats', 'service_logs']),
    );
    const health = tools.find((t) => t.name === 'stack_health')!;
    expect(health.annotations).toMatchObject({
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    });
    expect(health.outputSchema).toBeDefined();
  });

  it('calls stack_health against the real stack; structuredContent matches the advertised output schema', async () => {
    const { tools } = await client.listTools();
    const schema = tools.find((t) => t.name === 'stack_health')!.outputSchema!;
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
