import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createMcpServer, type McpDeps } from './server.js';

/** MCP over stdio for Claude Code: stdout carries only protocol messages; logs go to stderr. */
export async function serveStdio(deps: McpDeps): Promise<void> {
  const mcp = createMcpServer(deps);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
  });
  await mcp.connect(transport);
  deps.logger.info('MCP server ready on stdio');
  await closed;
}
