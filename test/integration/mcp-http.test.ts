import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { expectMatchesSchema } from '../helpers/mcp.js';
import { startServe } from '../helpers/serve.js';
import { containerOf, type TestStack, upStack, waitFor } from '../helpers/stack.js';

const TOKEN = 'test-token-0123456789abcdef';
let stack: TestStack;
let proc: ChildProcess;
let base = '';
const stateDir = mkdtempSync(join(tmpdir(), 'doomstate-'));

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

function post(headers: Record<string, string>): Promise<Response> {
  return fetch(`${base}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify(INIT),
  });
}

/** fetch() drops a custom Host header (forbidden header), so send this one with node:http. */
function postWithHost(host: string): Promise<number> {
  const url = new URL(`${base}/mcp`);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: '/mcp',
        method: 'POST',
        headers: {
          Host: host,
          Authorization: `Bearer ${TOKEN}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(INIT));
  });
}

async function connect(): Promise<Client> {
  const client = new Client({ name: 'doom-ops-http-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
    }),
  );
  return client;
}

beforeAll(async () => {
  stack = await upStack({ services: ['nats', 'vizdoom'] });
  await waitFor(
    'vizdoom healthy',
    async () => (await containerOf(stack.project, 'vizdoom')).State.Health?.Status === 'healthy',
  );
  ({ proc, base } = await startServe(['--port', '0', '--project', stack.project, '--output-schemas'], {
    DOOM_OPS_MCP_TOKEN: TOKEN,
    DOOM_OPS_STATE_DIR: stateDir,
  }));
});

afterAll(async () => {
  proc?.kill('SIGTERM');
  await stack?.down();
});

describe('MCP over Streamable HTTP (doom-ops serve)', () => {
  it('answers /healthz without auth', async () => {
    const r = await fetch(`${base}/healthz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: 'ok', sessions: expect.any(Number) });
  });

  it('a body over 4 MiB is 413, not a parse error', async () => {
    const r = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ ...INIT, params: { ...INIT.params, pad: 'x'.repeat(5 * 1024 * 1024) } }),
    });
    expect(r.status).toBe(413);
  });

  it('401 without a token or with a wrong one', async () => {
    const none = await post({});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect((await post({ Authorization: 'Bearer wrong' })).status).toBe(401);
  });

  it('403 for a foreign Origin or Host, even with the token (DNS-rebinding protection)', async () => {
    expect((await post({ Authorization: `Bearer ${TOKEN}`, Origin: 'http://evil.example' })).status).toBe(
      403,
    );
    expect(await postWithHost('evil.example')).toBe(403);
    expect(await postWithHost(`evil.example:${new URL(base).port}`)).toBe(403);
    expect((await post({ Authorization: `Bearer ${TOKEN}`, Origin: base })).status).toBe(200);
  });

  it('with the token a real Client calls stack_health; --output-schemas advertises what structuredContent holds', async () => {
    const client = await connect();
    const { tools } = await client.listTools();
    for (const t of tools.filter((t) => !t.name.endsWith('_toolsets'))) expect(t.outputSchema).toBeDefined();
    const result = await client.callTool({ name: 'stack_health', arguments: {} });
    expectMatchesSchema(
      tools.find((t) => t.name === 'stack_health')!.outputSchema!,
      result.structuredContent,
    );
    expect((result.structuredContent as { project: string }).project).toBe(stack.project);
    await client.close();
  });

  it('a 2026-07-28 client needs the token as well; with it, it calls stack_health with no session', async () => {
    const modern = (headers: Record<string, string>) =>
      new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers } });
    const refused = new Client(
      { name: 'modern-no-token', version: '1' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await expect(refused.connect(modern({}))).rejects.toThrow(/401|nauthori/);
    const sessionsBefore = (await (await fetch(`${base}/healthz`)).json()) as { sessions: number };
    const client = new Client(
      { name: 'modern', version: '1' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(modern({ Authorization: `Bearer ${TOKEN}` }));
    expect(client.getProtocolEra()).toBe('modern');
    const r = await client.callTool({ name: 'stack_health', arguments: {} });
    expect((r.structuredContent as { project: string }).project).toBe(stack.project);
    // Per request: no MCP session was opened for it.
    expect(((await (await fetch(`${base}/healthz`)).json()) as { sessions: number }).sessions).toBe(
      sessionsBefore.sessions,
    );
    await client.close();
  });

  it('a v1 SDK client (2025-era) lists tools and calls stack_health', async () => {
    const v1 = new V1Client({ name: 'v1-sdk-client', version: '1.0.0' });
    await v1.connect(
      new V1HttpTransport(new URL(`${base}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
      }),
    );
    const { tools } = await v1.listTools();
    expect(tools.map((t) => t.name)).toContain('stack_health');
    const r = await v1.callTool({ name: 'stack_health', arguments: {} });
    expect(r.isError).toBeFalsy();
    expect((r.structuredContent as { project: string }).project).toBe(stack.project);
    await v1.close();
  });

  it('serves 100 concurrent read calls with no errors', async () => {
    const client = await connect();
    const calls = Array.from({ length: 100 }, (_, i) =>
      i % 2
        ? client.callTool({ name: 'stack_health', arguments: { deep: false } })
        : client.callTool({ name: 'service_logs', arguments: { service: 'nats', tail: 5 } }),
    );
    const results = await Promise.all(calls);
    expect(results.filter((r) => r.isError)).toEqual([]);
    expect(results).toHaveLength(100);
    await client.close();
  }, 120_000);

  it('a token holder (operator) whose client accepts its own elicitation cannot run restart_service: it waits for an approver', async () => {
    const client = new Client(
      { name: 'doom-ops-http-elicit', version: '1.0.0' },
      { capabilities: { elicitation: { form: {} } } },
    );
    const asked: string[] = [];
    client.setRequestHandler('elicitation/create', async (req) => {
      asked.push(req.params.message);
      return { action: 'accept', content: { approve: true } };
    });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
      }),
    );
    const before = (await containerOf(stack.project, 'vizdoom')).State.StartedAt;
    const r = await client.callTool({
      name: 'restart_service',
      arguments: { service: 'vizdoom', waitHealthy: 30 },
    });
    const message = (r.content as Array<{ text: string }>)[0]!.text;
    expect(r.isError).toBe(true);
    expect(message).toMatch(/^approval_required: .*mcp:http holds the operator role/);
    expect(asked).toEqual([]);
    expect((await containerOf(stack.project, 'vizdoom')).State.StartedAt).toBe(before);
    const id = /apr_[0-9a-f]{12}/.exec(message)![0];
    const pending = await client.callTool({ name: 'get_approval', arguments: { id } });
    expect((pending.structuredContent as { status: string }).status).toBe('pending');

    // A human approver decides out of band; then it runs, on behalf of the token holder.
    const approved = await cli(['approve', id, '--project', stack.project, '--json'], {
      DOOM_OPS_STATE_DIR: stateDir,
    });
    expect(approved.exitCode, approved.stderr).toBe(0);
    expect((await containerOf(stack.project, 'vizdoom')).State.StartedAt).not.toBe(before);
    const done = await client.callTool({ name: 'get_approval', arguments: { id } });
    expect(done.structuredContent).toMatchObject({ status: 'done', requester: 'mcp:http' });
    await client.close();
  }, 60_000);

  it('refuses to start without a token, and --no-auth off loopback', async () => {
    const noToken = await cli(['serve', '--port', '0'], { DOOM_OPS_MCP_TOKEN: '' });
    expect(noToken.exitCode).toBe(2);
    expect(noToken.stderr).toMatch(/DOOM_OPS_MCP_TOKEN is not set/);
    const open = await cli(['serve', '--port', '0', '--no-auth', '--host', '0.0.0.0'], {
      DOOM_OPS_MCP_TOKEN: '',
    });
    expect(open.exitCode).toBe(2);
    expect(open.stderr).toMatch(/only allowed on a loopback address/);
  });
});
