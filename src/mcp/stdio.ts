import type { Readable, Writable } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { StdioServerTransport, serveStdio as serveStdioEntry } from '@modelcontextprotocol/server/stdio';
import { createMcpServer, type McpDeps } from './server.js';
import { parseToolsets } from './toolsets.js';

type MessageHandler = (message: JSONRPCMessage, extra?: unknown) => void;

/**
 * The SDK's stdio transport, with the end of the conversation doom-ops wants: the SDK closes at
 * once on stdin EOF and drops the requests still running; here EOF (or stdout gone: EPIPE)
 * closes the transport once the requests already read have been answered, so
 * `printf '<requests>' | doom-ops mcp` still gets every response; at once when a request waits
 * on the client (a 2025-era approval elicitation), since no answer can come after EOF.
 */
class StdioUntilEof extends StdioServerTransport {
  /** Client requests read but not answered yet. */
  private readonly inFlight = new Set<string | number>();
  /** Our requests to the client (elicitation) not answered yet. */
  private readonly awaitingClient = new Set<string | number>();
  private ended = false;
  private closing = false;
  private handler: MessageHandler | undefined;
  /** Settles when the transport has closed. */
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  constructor(input: Readable, output: Writable) {
    super(input, output);
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    // Whoever installs the message handler (the serving entry, then the pinned server), every
    // incoming message passes through `track` first. (A base-class field, so an own accessor.)
    Object.defineProperty(this, 'onmessage', {
      configurable: true,
      enumerable: true,
      get: () => (this.handler ? this.track : undefined),
      set: (handler: MessageHandler | undefined) => {
        this.handler = handler;
      },
    });
  }
  private readonly track: MessageHandler = (message, extra) => {
    if ('method' in message && 'id' in message) this.inFlight.add(message.id);
    else if (('result' in message || 'error' in message) && 'id' in message && message.id !== undefined)
      this.awaitingClient.delete(message.id);
    this.handler?.(message, extra);
  };

  override _onstdinclose = (): void => {
    this.ended = true;
    this.closeWhenIdle();
  };

  override _onstdouterror = (): void => {
    // The client went away without closing stdin first: nothing can be answered any more.
    this.inFlight.clear();
    this.ended = true;
    this.closeWhenIdle();
  };

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

  override async close(): Promise<void> {
    this.closing = true;
    await super.close();
    this.resolveClosed();
  }

  private closeWhenIdle(): void {
    if (!this.ended || this.closing) return;
    if (this.inFlight.size > 0 && this.awaitingClient.size === 0) return;
    this.closing = true;
    void this.close();
  }
}

/**
 * MCP over stdio for Claude Code: stdout carries only protocol messages; logs go to stderr. The
 * SDK's serving entry picks the era from the opening message (2025-era `initialize` or a
 * 2026-07-28 request with its `_meta` envelope) and pins one server for the connection.
 * Resolves when the client is done: stdin reaches EOF (after the pending requests are answered)
 * or stdout breaks; `doom-ops mcp` then exits 0.
 */
export async function serveStdio(
  deps: McpDeps,
  io: { stdin: Readable; stdout: Writable } = { stdin: process.stdin, stdout: process.stdout },
): Promise<void> {
  parseToolsets(deps.config.mcp.toolsets); // a bad --toolsets fails here, before any client waits
  const transport = new StdioUntilEof(io.stdin, io.stdout);
  serveStdioEntry((c) => createMcpServer(deps, c.era), {
    transport,
    onerror: (err) => deps.logger.warn({ err }, 'MCP stdio message failed'),
  });
  deps.logger.info('MCP server ready on stdio');
  await transport.closed;
}
