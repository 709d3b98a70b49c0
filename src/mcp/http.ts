import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../logger.js';
import { checkRequest, defaultAllowedHosts, type GuardOptions } from './http-guard.js';
import { createMcpServer, type McpDeps } from './server.js';

export interface HttpServeOptions {
  host: string;
  port: number;
  token: string | undefined;
  /** Extra allowed Host header values (host:port) and browser Origins. */
  allowedHosts?: string[];
  allowedOrigins?: string[];
  /** More endpoints on the same server, e.g. /slack/events (they authenticate requests themselves). */
  routes?: Record<string, RequestListener>;
}

export interface RunningHttp {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

const MAX_BODY = 4 * 1024 * 1024;

/**
 * `doom-ops serve`: MCP over Streamable HTTP at /mcp (stateful sessions, so server-to-client
 * requests such as progress and elicitation work) and /healthz for container healthchecks.
 */
export async function serveHttp(deps: McpDeps, options: HttpServeOptions): Promise<RunningHttp> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  let guard: GuardOptions;
  const log: Logger = deps.logger;

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      log.error({ err }, 'HTTP request failed');
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' && req.method === 'GET') return send(res, 200, { status: 'ok' });
    const route = path ? options.routes?.[path] : undefined;
    if (route) return void route(req, res);
    if (path !== '/mcp') return send(res, 404, { error: 'not found' });

    const verdict = checkRequest(req, guard);
    if (!verdict.ok) {
      if (verdict.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="doom-ops"');
      return send(res, verdict.status, { error: verdict.message });
    }

    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (existing) return existing.handleRequest(req, res);
    if (sessionId !== undefined)
      return send(res, 404, rpcError('unknown or expired session; initialize again'));
    if (req.method !== 'POST')
      return send(res, 400, rpcError('no session: send an initialize request first'));

    const body = await readJson(req);
    if (body === undefined) return send(res, 400, rpcError('request body is not JSON'));
    if (!isInitializeRequest(body))
      return send(res, 400, rpcError('no session: send an initialize request first'));

    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await createMcpServer(deps).connect(transport);
    await transport.handleRequest(req, res, body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const port = (server.address() as { port: number }).port;
  guard = {
    token: options.token,
    allowedHosts: [...defaultAllowedHosts(options.host, port), ...(options.allowedHosts ?? [])].map((h) =>
      h.toLowerCase(),
    ),
    allowedOrigins: [
      ...defaultAllowedHosts(options.host, port).map((h) => `http://${h}`),
      ...(options.allowedOrigins ?? []),
    ],
  };
  const hostPart = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${hostPart}:${port}`,
    port,
    server,
    close: async () => {
      await Promise.all([...sessions.values()].map((t) => t.close().catch(() => {})));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function rpcError(message: string): unknown {
  return { jsonrpc: '2.0', error: { code: -32000, message }, id: null };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}
