import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import { NodeStreamableHTTPServerTransport, toNodeHandler, toWebRequest } from '@modelcontextprotocol/node';
import { createMcpHandler, isInitializeRequest, isLegacyRequest } from '@modelcontextprotocol/server';
import type { Logger } from '../logger.js';
import { SessionEventStore } from './event-store.js';
import { checkRequest, defaultAllowedHosts, type GuardOptions } from './http-guard.js';
import { listenError } from './listen-error.js';
import { createMcpServer, type McpDeps } from './server.js';
import { ToolsetSelection } from './toolsets.js';

export interface HttpServeOptions {
  host: string;
  port: number;
  token: string | undefined;
  /** Extra allowed Host header values (host:port) and browser Origins. */
  allowedHosts?: string[];
  allowedOrigins?: string[];
  /** More endpoints on the same server, e.g. /slack/events (they authenticate requests themselves). */
  routes?: Record<string, RequestListener>;
  /** Session limits; default from config `http.sessionIdleTimeout` (ms) and `http.maxSessions`. */
  sessions?: { idleMs?: number; max?: number };
}

interface Session {
  transport: NodeStreamableHTTPServerTransport;
  /** When its last request started or ended (ms since epoch). */
  lastActive: number;
  /** POST requests (tool calls) still being answered: a session with one is never reaped. */
  inFlight: number;
}

export interface RunningHttp {
  url: string;
  port: number;
  server: Server;
  /** Open MCP sessions right now (also reported on /healthz). */
  sessionCount(): number;
  close(): Promise<void>;
}

const MAX_BODY = 4 * 1024 * 1024;

/**
 * `doom-ops serve`: MCP over Streamable HTTP at /mcp and /healthz for container healthchecks.
 * Both protocol eras share /mcp, told apart by the SDK's own classification (isLegacyRequest):
 * a 2026-07-28 request (per-request `_meta` envelope) is served on its own by a fresh server
 * (createMcpHandler, no session); 2025-era clients (Claude Code, the MCP Inspector, v1 SDK
 * clients) get stateful sessions, so server-to-client requests such as elicitation reach them.
 * Bearer auth and the Host/Origin checks come first for both. Sessions are bounded: one idle for `idleMs` is closed (checked every idleMs/4, at most each
 * minute), and when `max` are open a new one first closes the longest-idle session that has no
 * call in flight (503 when every session is busy). A client of a closed session gets 404 and
 * initializes again, as the MCP spec has it.
 */
export async function serveHttp(deps: McpDeps, options: HttpServeOptions): Promise<RunningHttp> {
  const sessions = new Map<string, Session>();
  const idleMs = options.sessions?.idleMs ?? deps.config.http.sessionIdleTimeout;
  const maxSessions = options.sessions?.max ?? deps.config.http.maxSessions;
  let guard: GuardOptions;
  const log: Logger = deps.logger;

  const closeSession = (id: string, why: string): void => {
    const session = sessions.get(id);
    if (!session) return;
    sessions.delete(id);
    log.info({ session: id, why }, 'MCP session closed');
    void session.transport.close().catch(() => {});
  };
  const reapIdle = (): void => {
    const cutoff = Date.now() - idleMs;
    for (const [id, s] of sessions) if (s.inFlight === 0 && s.lastActive <= cutoff) closeSession(id, 'idle');
  };
  /** Makes room for one more session; false when every open session has a call in flight. */
  const makeRoom = (): boolean => {
    reapIdle();
    while (sessions.size >= maxSessions) {
      let oldest: [string, Session] | undefined;
      for (const entry of sessions)
        if (entry[1].inFlight === 0 && (!oldest || entry[1].lastActive < oldest[1].lastActive))
          oldest = entry;
      if (!oldest) return false;
      closeSession(oldest[0], `session limit (${maxSessions})`);
    }
    return true;
  };
  /**
   * The 2026-07-28 leg: one server per request; 2025-era traffic never reaches it. No session
   * there, so the toolsets its clients enabled live for the process (the token holder's choice),
   * and a change is published on their subscriptions/listen streams.
   */
  const modernToolsets = deps.toolsets ?? ToolsetSelection.fromConfig(deps.config);
  const modernDeps = { ...deps, toolsets: modernToolsets };
  const modern = createMcpHandler(() => createMcpServer(modernDeps, 'modern'), {
    legacy: 'reject',
    onerror: (err) => log.warn({ err }, 'MCP request failed'),
  });
  modernToolsets.onChange(() => modern.notify.toolsChanged());
  const serveModern = toNodeHandler(modern, {
    onerror: (err) => log.error({ err }, 'MCP request failed'),
  });
  const sweep = setInterval(reapIdle, Math.max(10, Math.min(60_000, Math.floor(idleMs / 4))));
  sweep.unref();

  /** Serves one request of an open session, keeping its activity and in-flight count. */
  const serveSession = async (session: Session, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const counts = req.method === 'POST';
    session.lastActive = Date.now();
    if (counts) session.inFlight++;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (counts) session.inFlight--;
      session.lastActive = Date.now();
    };
    res.once('close', finish);
    try {
      await session.transport.handleRequest(req, res);
    } catch (err) {
      finish();
      throw err;
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      log.error({ err }, 'HTTP request failed');
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' && req.method === 'GET')
      return send(res, 200, {
        status: 'ok',
        sessions: sessions.size,
        // The worker pool's load (never waited on here): running, waiting, shared reads.
        ...(deps.runner ? { work: deps.runner.stats } : {}),
      });
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
    if (existing) return serveSession(existing, req, res);
    if (sessionId !== undefined)
      return send(res, 404, rpcError('unknown or expired session; initialize again'));
    // GET/DELETE without a session: the 2026-07-28 leg answers (405: no standalone stream there).
    if (req.method !== 'POST') return serveModern(req, res);

    const body = await readJson(req);
    if (body === TOO_LARGE) {
      res.setHeader('Connection', 'close');
      return send(res, 413, rpcError(`request body over ${MAX_BODY} bytes`, -32600));
    }
    if (body === undefined) return send(res, 400, rpcError('request body is not JSON', -32700));
    if (!(await isLegacyRequest(await toWebRequest(req, body), body))) return serveModern(req, res, body);
    if (!isInitializeRequest(body))
      return send(res, 400, rpcError('no session: send an initialize request first'));

    if (!makeRoom()) {
      res.setHeader('Retry-After', '5');
      return send(
        res,
        503,
        rpcError(`all ${maxSessions} MCP sessions have a call in flight; retry shortly (http.maxSessions)`),
      );
    }
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      // Resumable SSE streams (Last-Event-ID) and the priming event + retry hint of SEP-1699.
      eventStore: new SessionEventStore(),
      retryInterval: 1000,
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, lastActive: Date.now(), inFlight: 0 });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await createMcpServer(deps, 'legacy').connect(transport);
    await transport.handleRequest(req, res, body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenError(err, options.host, options.port)));
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
    sessionCount: () => sessions.size,
    close: async () => {
      clearInterval(sweep);
      await Promise.all([...sessions.values()].map((s) => s.transport.close().catch(() => {})));
      await modern.close().catch(() => {});
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function rpcError(message: string, code = -32000): unknown {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}

const TOO_LARGE = Symbol('too large');

/**
 * The request body as JSON; undefined when it is not JSON, TOO_LARGE past MAX_BODY (the rest is
 * not kept: it is read and dropped so the answer can be sent, and the connection is closed after).
 */
function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.once('error', reject);
    req.once('end', () => {
      if (size > MAX_BODY) return resolve(TOO_LARGE);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        resolve(undefined);
      }
    });
  });
}
