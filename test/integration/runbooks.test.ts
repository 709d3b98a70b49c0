import { createServer, type Server } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { cliOk } from '../helpers/cli.js';
import { testContext } from '../helpers/context.js';
import { containerOf, docker, type TestStack, upStack, waitFor } from '../helpers/stack.js';

interface Runbook {
  steps: Array<{ tool: string; ok: boolean }>;
  findings: Array<{ severity: string; title: string; explanation: string; evidence: string[] }>;
  actions: string[];
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

let stack: TestStack;
let hostServer: Server;
let webPort: number;
let hostPort: number;

const runbook = async (id: string, service?: string, extra: Record<string, unknown> = {}) =>
  (await invokeTool(findTool('run_runbook')!, testContext(stack.project), {
    id,
    service,
    ...extra,
  })) as Runbook;
const tool = async <T>(name: string, input: Record<string, unknown>) =>
  (await invokeTool(findTool(name)!, testContext(stack.project), input)) as T;

beforeAll(async () => {
  webPort = await freePort();
  // A host process holding a port, as `netstat -tlnp` would show it: this test process.
  hostServer = createServer();
  await new Promise<void>((r) => hostServer.listen(0, '127.0.0.1', r));
  hostPort = (hostServer.address() as { port: number }).port;
  stack = await upStack({
    file: resolve('test/stack/troubleshoot.yml'),
    env: { WEB_PORT: String(webPort), HOST_PORT: String(hostPort) },
    services: ['web', 'client', 'loner', 'writer', 'rootwriter'],
  });
  // These two must fail to start: their ports are taken.
  const web2 = await stack.compose(['up', '-d', '--no-deps', 'web2']);
  const clash = await stack.compose(['up', '-d', '--no-deps', 'hostclash']);
  expect(web2.exitCode).not.toBe(0);
  expect(clash.exitCode).not.toBe(0);
  await waitFor(
    'writer to fail',
    async () => (await containerOf(stack.project, 'writer')).State.Status === 'exited',
  );
});

afterAll(async () => {
  await stack?.down();
  hostServer?.close();
});

describe('port-conflict runbook', () => {
  it('names the container holding the port and suggests a free one', async () => {
    const r = await runbook('port-conflict', 'web2');
    const f = r.findings.find((x) => x.severity === 'critical');
    expect(f?.title).toContain(`127.0.0.1:${webPort}`);
    const web = await containerOf(stack.project, 'web');
    expect(f?.evidence.join('\n')).toContain(`container ${web.Name.slice(1)}`);
    expect(f?.evidence.join('\n')).toMatch(/port is already allocated|address already in use/);
    expect(r.actions.join('\n')).toMatch(/127\.0\.0\.1:\d+:8080/);
  });

  it('names a host process (pid and command) when no container holds the port', async () => {
    const out = await tool<{
      ports: Array<{
        service: string;
        status: string;
        holders: Array<{ kind: string; pid: number | null; name: string }>;
      }>;
    }>('check_ports', { service: 'hostclash' });
    const p = out.ports.find((x) => x.service === 'hostclash');
    expect(p?.status).toBe('conflict');
    expect(p?.holders[0]).toMatchObject({ kind: 'process', pid: process.pid });
    expect(p?.holders[0]?.name).toContain('node');
  });

  it('reports no conflict for a service that got its port', async () => {
    const r = await runbook('port-conflict', 'web');
    expect(r.findings.map((f) => f.severity)).toEqual(['info']);
    expect(r.findings[0]?.evidence.join()).toContain('published');
  });
});

describe('volume-permissions runbook', () => {
  it('names owner, mode and user for a non-root container writing into a root-owned volume', async () => {
    const r = await runbook('volume-permissions', 'writer');
    const f = r.findings.find((x) => x.severity === 'critical');
    expect(f?.title).toContain('/data');
    const ev = f?.evidence.join('\n') ?? '';
    expect(ev).toContain('owner 0:0, mode 0755');
    expect(ev).toMatch(/runs as 1000:1000 \(uid 1000, gid 1000\)/);
    expect(r.actions.join('\n')).toContain('chown -R 1000:1000');
    // The log line the service wrote when it failed is quoted as corroborating evidence.
    expect(r.findings.some((x) => x.evidence.some((e) => /Permission denied/i.test(e)))).toBe(true);
  });

  it('finds nothing wrong for root writing into the same volume', async () => {
    const r = await runbook('volume-permissions', 'rootwriter');
    expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
  });
});

describe('network-connectivity runbook', () => {
  const conn = (target: string, port?: number) =>
    runbook('network-connectivity', 'client', { target, ...(port ? { port } : {}) });
  const failed = (r: Runbook) => r.findings[0]?.title.match(/: (\w+) fails$/)?.[1];

  it('passes every step for a reachable service (port from its exposed ports)', async () => {
    const r = await conn('web');
    expect(r.findings[0]?.severity).toBe('info');
    expect(r.findings[0]?.evidence.join('\n')).toMatch(/port_reachable: ok/);
  });

  it('a service on another network: shared_network fails', async () => {
    const r = await conn('loner');
    expect(failed(r)).toBe('shared_network');
    expect(r.findings[0]?.explanation).toMatch(/isolated/);
  });

  it('a wrong name: name_resolves fails', async () => {
    const r = await conn('mongo', 27017);
    expect(failed(r)).toBe('name_resolves');
    expect(r.actions.join()).toMatch(/service name/);
  });

  it('a port nothing listens on: port_reachable fails (tested from inside the container)', async () => {
    const r = await conn('web', 9999);
    expect(failed(r)).toBe('port_reachable');
    expect(r.findings[0]?.explanation).toMatch(/refused/i);
  });

  it('the CLI takes --target and --port', async () => {
    const r = await cliOk([
      'runbook',
      'network-connectivity',
      'client',
      '--target',
      'loner',
      '--port',
      '8080',
      '--project',
      stack.project,
    ]);
    expect(r.stdout).toMatch(/shared_network fails/);
  });
});

describe('dependency-order and disk-usage runbooks', () => {
  let main: TestStack;
  beforeAll(async () => {
    main = await upStack({
      services: ['nats', 'opensearch', 'mongodb', 'orchestrator', 'agent'],
      env: { ORCHESTRATOR_MODE: 'normal' },
    });
    await waitFor('orchestrator healthy', async () => {
      const o = await containerOf(main.project, 'orchestrator');
      return o.State.Health?.Status === 'healthy';
    });
  });
  afterAll(async () => {
    await main?.down();
  });

  it('names the unhealthy data store that blocks orchestrator and, through it, the agent', async () => {
    // The handbook gives mongodb a 20 s start period, during which failing probes only mean "starting".
    const base = testContext(main.project).config;
    const services = { ...base.services, mongodb: { ...base.services.mongodb!, startPeriod: 0 } };
    const ctx = () => testContext(main.project, undefined, { services });
    const mongo = await containerOf(main.project, 'mongodb');
    await (await docker.getContainer(mongo.Id).exec({ Cmd: ['touch', '/tmp/unhealthy'] })).start({});
    await waitFor('mongodb unhealthy', async () => {
      const m = await containerOf(main.project, 'mongodb');
      return m.State.Health?.Status === 'unhealthy';
    });
    const r = (await invokeTool(findTool('run_runbook')!, ctx(), {
      id: 'dependency-order',
      service: 'agent',
    })) as Runbook;
    expect(r.findings[0]?.severity).toBe('critical');
    expect(r.findings[0]?.title).toMatch(/^mongodb is unhealthy, blocking orchestrator/);
    expect(r.actions.join()).toContain('unhealthy-service mongodb');
  });

  it('flags a play log and a volume over their thresholds, and volumes without one', async () => {
    const agent = await containerOf(main.project, 'agent');
    await (
      await docker.getContainer(agent.Id).exec({
        Cmd: [
          'sh',
          '-c',
          'mkdir -p /data/duckdb && dd if=/dev/zero of=/data/duckdb/play.duckdb bs=1024 count=2048',
        ],
      })
    ).start({});
    const mongo = await containerOf(main.project, 'mongodb');
    await (
      await docker
        .getContainer(mongo.Id)
        .exec({ Cmd: ['dd', 'if=/dev/zero', 'of=/data/db/big', 'bs=1024', 'count=1024'] })
    ).start({});
    const base = testContext(main.project).config;
    const ctx = testContext(main.project, undefined, {
      disk: {
        volumes: { 'mongodb-data': 512 * 1024 },
        playLogs: { ...base.disk.playLogs, threshold: 1024 * 1024 },
      },
    });
    const r = await waitFor('sizes to show', async () => {
      const x = (await invokeTool(findTool('run_runbook')!, ctx, { id: 'disk-usage' })) as Runbook;
      return x.findings.filter((f) => f.severity !== 'info').length >= 2 ? x : undefined;
    });
    const titles = r.findings.map((f) => f.title).join('\n');
    expect(titles).toMatch(/volume mongodb-data is 1\.0MiB, over 512KiB/);
    expect(titles).toMatch(/play log \/data\/duckdb\/play\.duckdb in .*agent.* is 2\.0MiB, over 1\.0MiB/);
    expect(r.actions.join('\n')).toMatch(/disk\.volumes\.nats-data/);
  });
});
