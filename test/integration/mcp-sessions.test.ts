import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningHttp, serveHttp } from '../../src/mcp/http.js';
import { testContext } from '../helpers/context.js';
import { waitFor } from '../helpers/stack.js';

// No Compose project is touched: initialize, ping and tools/list never reach the engine.
let http: RunningHttp | undefined;

afterEach(async () => {
  await http?.close();
  http = undefined;
});

async function start(sessions: { idleMs?: number; max?: number }): Promise<RunningHttp> {
  const ctx = testContext('doomops-sessions-unused');
  http = await serveHttp(
    { ...ctx, principal: { id: 'mcp:http', surface: 'mcp', transport: 'http' } },
    { host: '127.0.0.1', port: 0, token: 'tok', sessions },
  );
  return http;
}

const headers = (session?: string) => ({
  authorization: 'Bearer tok',
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' } : {}),
});

/** An abandoned client: initialize, then never come back. Returns its session id. */
async function abandon(url: string): Promise<string> {
  const r = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: headers(),
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'gone', version: '1' } },
    }),
  });
  expect(r.status).toBe(200);
  await r.text();
  return r.headers.get('mcp-session-id')!;
}

/** The status a request on this session gets: 200 while it is open, 404 once it was closed. */
async function ping(url: string, session: string): Promise<number> {
  const r = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: headers(session),
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }),
  });
  await r.text();
  return r.status;
}

const healthzSessions = async (url: string) =>
  ((await (await fetch(`${url}/healthz`)).json()) as { sessions: number }).sessions;

describe('MCP HTTP sessions are bounded', () => {
  it('at the cap, a new session closes the longest-idle one first; the count never exceeds it', async () => {
    const { url, sessionCount } = await start({ max: 3, idleMs: 600_000 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(await abandon(url));
      expect(sessionCount()).toBeLessThanOrEqual(3);
    }
    expect(sessionCount()).toBe(3);
    expect(await healthzSessions(url)).toBe(3);
    // ids[2] was used just now, so it is not the longest idle: ids[3] goes when one more arrives.
    expect(await ping(url, ids[2]!)).toBe(200);
    ids.push(await abandon(url));
    expect((await Promise.all(ids.map((id) => ping(url, id)))).join(',')).toBe('404,404,200,404,200,200');
    expect(sessionCount()).toBe(3);
  });

  it('an idle session is closed after the idle timeout; a client of it gets 404 and can initialize again', async () => {
    const { url, sessionCount } = await start({ max: 100, idleMs: 3000 });
    const ids = await Promise.all(Array.from({ length: 20 }, () => abandon(url)));
    expect(sessionCount()).toBeGreaterThan(0);
    await waitFor('idle sessions reaped', async () => sessionCount() === 0, 30_000, 50);
    expect(await ping(url, ids[0]!)).toBe(404);
    expect(await healthzSessions(url)).toBe(0);

    // A live client keeps working as long as it keeps calling (well within the idle timeout).
    const client = new Client({ name: 'live', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
        requestInit: { headers: { Authorization: 'Bearer tok' } },
      }),
    );
    for (let i = 0; i < 5; i++) {
      await client.listTools();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(sessionCount()).toBe(1);
    await client.close();
  });
});
