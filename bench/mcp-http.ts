import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { mapLimit } from '../src/util/concurrency.js';
import { startServe } from '../test/helpers/serve.js';
import { makeStack, removeAll, round, serveNodeArgs, settle } from './lib.js';

const TOKEN = 'bench-mcp-token';

/**
 * Issue 21's MCP burst: 100 MCP clients (the SDK's own, Streamable HTTP) connected to one
 * `doom-ops serve`, each calling stack_health once, all at the same moment, on an 8-container stack.
 * Only the tools/call round trip is timed (not connecting, nor two warm-up rounds); 5 timed rounds.
 * Target: p99 under 300 ms, 0 errors.
 */
export async function benchMcpHttp(): Promise<Record<string, unknown>> {
  const legacy = await mcpBurst('2025-11-25');
  const modern = await mcpBurst('2026-07-28');
  const met = (r: { p99Ms: number; errors: number }) => r.p99Ms < 300 && r.errors === 0;
  return {
    '2025-11-25': legacy,
    '2026-07-28': modern,
    target: 'p99 < 300 ms, 0 errors',
    met: { '2025-11-25': met(legacy), '2026-07-28': met(modern) },
    baseline: 'before the worker pool and single flight (issue 21): p99 847 ms',
  };
}

/** The burst with every client on one protocol revision (the SDK client pinned to it). */
async function mcpBurst(era: '2025-11-25' | '2026-07-28'): Promise<{
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  calls: number;
  loadAverage1m: number;
}> {
  const project = `dobenchmcp${Date.now().toString(36)}`;
  const ids = await makeStack(project, 8);
  const stateDir = mkdtempSync(join(tmpdir(), 'doom-mcp-bench-'));
  const { proc, base } = await startServe(
    ['--port', '0', '--project', project, '--no-schedule'],
    { DOOM_OPS_MCP_TOKEN: TOKEN, DOOM_OPS_STATE_DIR: stateDir },
    serveNodeArgs(),
  );
  const clients: Client[] = [];
  try {
    const connect = async (): Promise<Client> => {
      const client = new Client(
        { name: 'doom-ops-bench', version: '1.0.0' },
        era === '2026-07-28' ? { versionNegotiation: { mode: { pin: era } } } : {},
      );
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
          requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
        }),
      );
      return client;
    };
    clients.push(...(await mapLimit(Array.from({ length: 100 }), 10, connect)));
    // A running server has served calls before: two rounds first, untimed (connections, JIT).
    const loadAverage1m = await settle();
    const warm = 2;
    const rounds = 5;
    const ms: number[] = [];
    let errors = 0;
    for (let r = -warm; r < rounds; r++) {
      const times = await Promise.all(
        clients.map(async (c) => {
          const t = performance.now();
          const out = await c
            .callTool({ name: 'stack_health', arguments: {} })
            .catch(() => ({ isError: true }));
          if (out.isError) errors++;
          return performance.now() - t;
        }),
      );
      if (r >= 0) ms.push(...times);
    }
    ms.sort((a, b) => a - b);
    const at = (p: number) => round(ms[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)]!, 1);
    const p99Ms = at(99);
    return { calls: ms.length, errors, p50Ms: at(50), p99Ms, maxMs: round(ms.at(-1)!, 1), loadAverage1m };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(stateDir, { recursive: true, force: true });
    await removeAll(ids);
  }
}
