import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { cliOk } from '../helpers/cli.js';
import { testContext } from '../helpers/context.js';
import { containerOf, docker, freePort, type TestStack, upStack, waitFor } from '../helpers/stack.js';

interface Runbook {
  steps: Array<{ tool: string; ok: boolean }>;
  findings: Array<{ severity: string; title: string; explanation: string; evidence: string[] }>;
  actions: string[];
}

let stack: TestStack;
let webPort: number;
let rangeFrom: number;

const runbook = async (id: string, service?: string, extra: Record<string, unknown> = {}) =>
  (await invokeTool(findTool('run_runbook')!, testContext(stack.project), {
    id,
    service,
    ...extra,
  })) as Runbook;

beforeAll(async () => {
  webPort = await freePort();
  // A host port range for `ephemeral`'s second port: the engine takes a free port of it.
  rangeFrom = await freePort();
  stack = await upStack({
    file: resolve('test/stack/troubleshoot.yml'),
    env: { WEB_PORT: String(webPort), RANGE_PORTS: `${rangeFrom}-${rangeFrom + 9}` },
    services: ['web', 'client', 'loner', 'ephemeral'],
  });
});

afterAll(async () => {
  await stack?.down();
});

// The scenarios a container holding the port, a host process holding it, a root-owned volume and an
// isolated network are in the diagnosis suite (test/scenarios/); these check the tools' other answers.
describe('port-conflict runbook', () => {
  it('reports no conflict for a service that got its port', async () => {
    const r = await runbook('port-conflict', 'web');
    expect(r.findings.map((f) => f.severity)).toEqual(['info']);
    expect(r.findings[0]?.evidence.join()).toContain('published');
  });

  it('counts and shows ports the engine picked (ephemeral, and one of a host port range)', async () => {
    const c = await containerOf(stack.project, 'ephemeral');
    // What the engine did: no host port asked for, a real one published.
    expect(c.HostConfig.PortBindings?.['8080/tcp']?.[0]?.HostPort).toBe('');
    const picked = Number(c.NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort);
    const fromRange = Number(c.NetworkSettings.Ports['8081/tcp']?.[0]?.HostPort);
    expect(picked).toBeGreaterThan(0);
    expect(fromRange).toBeGreaterThanOrEqual(rangeFrom);

    const r = await runbook('port-conflict', 'ephemeral');
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ severity: 'info', title: 'no port conflicts' });
    expect(r.findings[0]!.explanation).toMatch(/^2 published port binding\(s\)/);
    const evidence = r.findings[0]!.evidence.join('\n');
    expect(evidence).toContain(`127.0.0.1:${picked} -> 8080/tcp (ephemeral) published`);
    expect(evidence).toContain(
      `127.0.0.1:${fromRange} -> 8081/tcp (range ${rangeFrom}-${rangeFrom + 9}) published`,
    );

    const ports = (await invokeTool(findTool('check_ports')!, testContext(stack.project), {
      service: 'ephemeral',
    })) as { ports: Array<{ hostPort: number; requestedHostPort: string; status: string }> };
    expect(ports.ports).toEqual([
      expect.objectContaining({
        hostPort: fromRange,
        requestedHostPort: `${rangeFrom}-${rangeFrom + 9}`,
        status: 'published',
      }),
      expect.objectContaining({ hostPort: picked, requestedHostPort: '', status: 'published' }),
    ]);
  });

  it('the whole stack: every published binding counted, the fixed, ephemeral and range ones', async () => {
    const r = await runbook('port-conflict');
    expect(r.findings[0]!.explanation).toMatch(/^3 published port binding\(s\)/);
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
        ...base.disk,
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
