import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import {
  createTaskSessionFromClient,
  resultFromTaskOutcome,
  type SerializedTaskReference,
} from '@modelcontextprotocol/ext-tasks/client';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe } from '../helpers/serve.js';
import { containerOf, type TestStack, upStack, waitFor } from '../helpers/stack.js';

/**
 * Long jobs as MCP tasks (the Tasks extension, io.modelcontextprotocol/tasks, on 2026-07-28)
 * against a real `doom-ops serve`, driven by the extension's own requester library
 * (@modelcontextprotocol/ext-tasks) over the SDK's v2 client.
 */
const TOKEN = 'tasks-token-0123456789abcdef';
const PROTOCOL = '2026-07-28';
let stack: TestStack;
let proc: ChildProcess;
let url = '';
const stateDir = mkdtempSync(join(tmpdir(), 'doomstate-'));

beforeAll(async () => {
  stack = await upStack({ services: ['nats'] });
  // Enough data in the volume that a backup takes a few seconds (time to watch and to cancel it).
  const nats = await containerOf(stack.project, 'nats');
  await execa('docker', [
    'exec',
    nats.Id,
    'sh',
    '-c',
    'for i in 1 2 3 4 5 6; do dd if=/dev/urandom of=/data/blob$i bs=1M count=40 2>/dev/null; done',
  ]);
  const config = join(stateDir, 'doom-ops.yaml');
  writeFileSync(config, `backup:\n  dir: ${join(stateDir, 'backups')}\n  volumes: [nats-data]\n`);
  const served = await startServe(
    ['--port', '0', '--project', stack.project, '--toolsets', 'all', '--no-watch'],
    { DOOM_OPS_MCP_TOKEN: TOKEN, DOOM_OPS_STATE_DIR: stateDir, DOOM_OPS_CONFIG: config },
  );
  proc = served.proc;
  url = `${served.base}/mcp`;
}, 240_000);

afterAll(async () => {
  proc?.kill('SIGTERM');
  await stack?.down();
});

/** Whether a restic process works on a repository under `dir` (RESTIC_REPOSITORY, from /proc). */
async function resticRunning(dir: string): Promise<boolean> {
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmd.startsWith('restic\0')) continue;
    const env = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    if (env.split('\0').some((v) => v.startsWith('RESTIC_REPOSITORY=') && v.includes(dir))) return true;
  }
  return false;
}

const clientInfo = { name: 'tasks-test', version: '1.0.0' };
const clientCapabilities = { extensions: { 'io.modelcontextprotocol/tasks': {} } };

/** The host's raw JSON-RPC path the extension library needs for 2026-07-28 task traffic. */
let nextId = 1;
async function rawDispatch(request: unknown): Promise<never> {
  const r = request as { method: string; params?: { name?: string; uri?: string; taskId?: string } };
  // SEP-2243: Mcp-Name mirrors the name, uri or taskId the body addresses.
  const name = r.params?.name ?? r.params?.uri ?? r.params?.taskId;
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${TOKEN}`,
      'mcp-protocol-version': PROTOCOL,
      'mcp-method': r.method,
      ...(name ? { 'mcp-name': name } : {}),
    },
    // The library hands over method and params; the JSON-RPC envelope is the host's.
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, ...(request as object) }),
  });
  const text = await res.text();
  if (!(res.headers.get('content-type') ?? '').includes('text/event-stream'))
    return JSON.parse(text) as never;
  // An SSE answer: the JSON-RPC response is the data line that carries an id.
  for (const line of text.split('\n'))
    if (line.startsWith('data:')) {
      const message = JSON.parse(line.slice(5)) as { id?: unknown };
      if (message.id !== undefined) return message as never;
    }
  throw new Error(`no JSON-RPC response in: ${text.slice(0, 300)}`);
}

async function session() {
  const client = new Client(clientInfo, {
    versionNegotiation: { mode: { pin: PROTOCOL } },
    capabilities: clientCapabilities,
  });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
    }),
  );
  const tasks = createTaskSessionFromClient(client, {
    endpointId: 'doom-ops-test',
    rawDispatch: rawDispatch as never,
    v2RequestFraming: { protocolVersion: PROTOCOL, clientInfo, clientCapabilities },
  });
  return { client, tasks };
}

describe('long jobs as MCP tasks (2026-07-28, Tasks extension)', () => {
  it('a backup runs as a task: progress while it works, its result fetched after the client reconnects', async () => {
    const first = await session();
    const execution = await first.tasks.callTool('backup', { component: 'volumes' });
    expect(execution.kind).toBe('task');
    const taskId = execution.handle!.taskId;
    // Progress: the task's status message follows the backup's progress reports.
    const messages = new Set<string>();
    await waitFor(
      'a progress report',
      async () => {
        const view = await first.tasks.task(taskId).snapshot();
        if (view.statusMessage) messages.add(view.statusMessage);
        return [...messages].some((m) => m !== 'started') || view.status !== 'working';
      },
      60_000,
    );
    // The client goes away without cancelling; the task keeps running on the server.
    let reference: SerializedTaskReference | undefined;
    if (execution.kind === 'task')
      await execution.handoff((ref) => {
        reference = ref;
      });
    // The client disconnects (as a crashed or restarted agent does: no session close, which in
    // ext-tasks 0.2.2 would cancel even a handed-off task).
    await first.client.close();

    const second = await session();
    const resumed = await second.tasks.resumeTask(reference!);
    const { outcome } = await resumed.settle();
    const result = resultFromTaskOutcome(outcome) as unknown as {
      isError?: boolean;
      structuredContent: { phase: string; components: { target: string }[] };
    };
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent.phase).toBe('Completed');
    expect(result.structuredContent.components.map((c) => c.target)).toContain('nats-data');
    expect([...messages].join(' | ')).toMatch(/\S/);
    await second.tasks.close();
    await second.client.close();
  }, 240_000);

  it('a backup task can be cancelled: it ends cancelled and writes no backup', async () => {
    const { client, tasks } = await session();
    const execution = await tasks.callTool('backup', { component: 'volumes' });
    expect(execution.kind).toBe('task');
    await waitFor('the backup at work', () => resticRunning(stateDir), 30_000);
    await execution.cancel();
    // The task reads cancelled once the work has stopped, with what the work said.
    const task = tasks.task(execution.handle!.taskId);
    await waitFor('cancelled', async () => (await task.snapshot()).status === 'cancelled', 30_000);
    expect((await task.snapshot()).statusMessage).toMatch(/^cancelled by the client: .*cancel/);
    // The work stopped: its restic processes end, and no second complete backup appears.
    await waitFor('restic gone', async () => !(await resticRunning(stateDir)), 30_000);
    const listed = await client.callTool({ name: 'list_backups', arguments: {} });
    const complete = (listed.structuredContent as { backups: { state: string }[] }).backups.filter(
      (b) => b.state === 'complete',
    );
    expect(complete.length).toBe(1); // only the first test's backup
    await tasks.close();
    await client.close();
  }, 240_000);

  it('a client without the extension gets the result at once, as before', async () => {
    const client = new Client(clientInfo, { versionNegotiation: { mode: { pin: PROTOCOL } } });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
      }),
    );
    const r = await client.callTool({ name: 'list_backups', arguments: {} });
    expect(r.isError).toBeFalsy();
    const unknown = await rawDispatch({
      jsonrpc: '2.0',
      id: 9,
      method: 'tasks/get',
      params: {
        taskId: 'no-such-task',
        _meta: {
          'io.modelcontextprotocol/protocolVersion': PROTOCOL,
          'io.modelcontextprotocol/clientInfo': clientInfo,
          'io.modelcontextprotocol/clientCapabilities': clientCapabilities,
        },
      },
    });
    expect((unknown as { error: { code: number; message: string } }).error).toMatchObject({
      code: -32602,
      message: expect.stringMatching(/unknown task no-such-task/),
    });
    await client.close();
  });
});
