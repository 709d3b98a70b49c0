import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { createMcpServer, type McpDeps } from './server.js';

/**
 * The SDK's stdio transport, plus the end of the conversation: it never closes on stdin EOF, so a
 * server awaiting its close would never settle (node then exits 13, "unsettled top-level await").
 * Here EOF on stdin (or stdout gone: EPIPE) closes it, once the requests already read have been
 * answered, so `printf '<requests>' | doom-ops mcp` still gets every response; at once when a
 * request waits on the client (an approval elicitation), since no answer can come after EOF.
 */
class StdioUntilEof extends StdioServerTransport {
  /** Client requests read but not answered yet. */
  private readonly inFlight = new Set<string | number>();
  /** Our requests to the client (elicitation) not answered yet. */
  private readonly awaitingClient = new Set<string | number>();
  private ended = false;
  private closing = false;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
  ) {
    super(input, output);
    // Protocol.connect() chains a handler set before it, so every incoming request is seen here.
    this.onmessage = (message: JSONRPCMessage) => {
      if ('method' in message && 'id' in message) this.inFlight.add(message.id);
      else if (('result' in message || 'error' in message) && 'id' in message && message.id !== undefined)
        this.awaitingClient.delete(message.id);
    };
  }

  override async start(): Promise<void> {
    await super.start();
    this.input.once('end', () => {
      this.ended = true;
      this.closeWhenIdle();
    });
    // The client went away without closing stdin first: nothing can be answered any more.
    this.output.on('error', () => {
      this.inFlight.clear();
      this.ended = true;
      this.closeWhenIdle();
    });
  }

  override async send(message: JSONRPCMessage): Promise<void> {
    if (this.closing) return;
    if ('method' in message && 'id' in message) {
      // A request to the client (elicitation) after EOF can never be answered: close now.
      this.awaitingClient.add(message.id);
      this.closeWhenIdle();
      if (this.closing) return;
    }
    await super.send(message);
    if (('result' in message || 'error' in message) && 'id' in message && message.id !== undefined) {
      this.inFlight.delete(message.id);
      this.closeWhenIdle();
    }
  }

  private closeWhenIdle(): void {
    if (!this.ended || this.closing) return;
    if (this.inFlight.size > 0 && this.awaitingClient.size === 0) return;
    this.closing = true;
    void this.close();
  }
}

/**
 * MCP over stdio for Claude Code: stdout carries only protocol messages; logs go to stderr.
 * Resolves when the client is done: stdin reaches EOF (after the pending requests are answered)
 * or stdout breaks; `doom-ops mcp` then exits 0.
 */
export async function serveStdio(
  deps: McpDeps,
  io: { stdin: Readable; stdout: Writable } = { stdin: process.stdin, stdout: process.stdout },
): Promise<void> {
  const mcp = createMcpServer(deps);
  const transport = new StdioUntilEof(io.stdin, io.stdout);
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
  });
  await mcp.connect(transport);
  deps.logger.info('MCP server ready on stdio');
  await closed;
}
