import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import type { Config } from '../src/config/schema.js';
import { createMcpServer } from '../src/mcp/server.js';
import { context, makeStack, removeAll, round } from './lib.js';

/**
 * Issue 19: what an agent pays in context. tools/list (bytes / 4 ≈ tokens) for the default
 * toolsets, for every tool, and for every tool with output schemas (the opt-in); then the text and
 * structuredContent sizes of the read calls an agent makes first, on an 8-container stack, through
 * a real MCP client (in process).
 */
export async function benchMcpContext(): Promise<Record<string, unknown>> {
  const project = `dobenchctx${Date.now().toString(36)}`;
  const ids = await makeStack(project, 8);
  try {
    const base = context(project);
    const connect = async (mcp: Partial<Config['mcp']>): Promise<Client> => {
      const config = { ...base.config, mcp: { ...base.config.mcp, ...mcp } };
      const server = createMcpServer({
        config,
        docker: base.docker,
        logger: base.logger,
        safety: base.safety,
        principal: { id: 'bench', surface: 'mcp' },
      });
      const [a, b] = InMemoryTransport.createLinkedPair();
      await server.connect(b);
      const client = new Client({ name: 'bench', version: '1' });
      await client.connect(a);
      return client;
    };
    const listed = async (mcp: Partial<Config['mcp']>) => {
      const client = await connect(mcp);
      const { tools } = await client.listTools();
      await client.close();
      const bytes = JSON.stringify({ tools }).length;
      return { tools: tools.length, bytes, tokens: Math.round(bytes / 4) };
    };
    const lists = {
      default: await listed({}),
      all: await listed({ toolsets: ['all'] }),
      allWithOutputSchemas: await listed({ toolsets: ['all'], outputSchemas: true }),
    };
    const client = await connect({});
    const calls: Record<string, { textChars: number; structuredChars: number; cut: boolean }> = {};
    for (const [name, args] of [
      ['stack_health', {}],
      ['recent_incidents', {}],
      ['service_stats', {}],
      ['explain_restarts', { service: 'agent' }],
      ['service_logs', { service: 'agent', tail: 200 }],
      ['log_report', {}],
    ] as const) {
      const r = await client.callTool({ name, arguments: args });
      const text = (r.content as { text: string }[])[0]?.text ?? '';
      calls[name] = {
        textChars: text.length,
        structuredChars: JSON.stringify(r.structuredContent ?? {}).length,
        cut: text.includes('characters left out'),
      };
    }
    await client.close();
    return {
      budgets: { defaultTokens: 3000, allTokens: 8000, textChars: base.config.mcp.textBudget },
      lists,
      withinBudget: lists.default.tokens <= 3000 && lists.all.tokens <= 8000,
      calls,
      note: `tokens = bytes / 4 of the tools/list result; before issue 19 every tool with full descriptions and output schemas was ${round(86_565 / 4, 0)} tokens`,
    };
  } finally {
    await removeAll(ids);
  }
}
