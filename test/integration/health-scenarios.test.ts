import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOk } from '../helpers/cli.js';
import { COMPOSE_FILE, containerOf, docker, type TestStack, upStack, waitFor } from '../helpers/stack.js';

let stack: TestStack;
let configPath = '';

interface Health {
  verdict: string;
  services: Array<{
    service: string;
    status: string;
    ok: boolean;
    problems: string[];
    deepCheck: { kind: string; ok: boolean; detail: string } | null;
    containers: Array<{ lastHealthOutput: string | null }>;
    gpu?: Record<string, unknown>;
  }>;
}

beforeAll(async () => {
  stack = await upStack({ services: ['nats', 'dashboard'], env: { ORCHESTRATOR_MODE: 'normal' } });
  const port = (await containerOf(stack.project, 'dashboard')).NetworkSettings.Ports['3000/tcp']?.[0]
    ?.HostPort;
  configPath = join(mkdtempSync(join(tmpdir(), 'doomcfg-')), 'config.yaml');
  writeFileSync(
    configPath,
    [
      'services:',
      '  nats: { critical: true, startPeriod: 1s, deepCheck: { exec: ["wget", "-qO-", "http://127.0.0.1:8222/healthz"], timeout: 3s } }',
      `  dashboard: { critical: false, startPeriod: 1s, deepCheck: { http: "http://127.0.0.1:${port}/api/health", timeout: 2s } }`,
      '  vizdoom: { critical: false, startPeriod: 1s, optional: true }',
      '',
    ].join('\n'),
  );
  await waitFor('both healthy', async () => {
    const [n, d] = await Promise.all([
      containerOf(stack.project, 'nats'),
      containerOf(stack.project, 'dashboard'),
    ]);
    return n.State.Health?.Status === 'healthy' && d.State.Health?.Status === 'healthy';
  });
});

afterAll(async () => {
  await stack?.down();
});

const health = async (): Promise<{ code: number; h: Health }> => {
  const r = await cliOk(['health', '--json', '--project', stack.project], { DOOM_OPS_CONFIG: configPath });
  return { code: r.exitCode, h: r.json<Health>() };
};

// A service made unhealthy on demand is the `unhealthy` scenario of the diagnosis suite (test/scenarios/).
describe('health scenarios on the real engine', () => {
  it('all configured services healthy, deep checks pass: verdict healthy, exit 0; an optional absent service is fine', async () => {
    const { code, h } = await health();
    expect(h.verdict).toBe('healthy');
    expect(code).toBe(0);
    const nats = h.services.find((s) => s.service === 'nats')!;
    expect(nats.deepCheck).toMatchObject({ kind: 'exec', ok: true });
    expect(h.services.find((s) => s.service === 'dashboard')?.deepCheck).toMatchObject({
      kind: 'http',
      ok: true,
      detail: expect.stringMatching(/-> 200/),
    });
    expect(h.services.find((s) => s.service === 'vizdoom')).toMatchObject({ status: 'absent', ok: true });
  });

  it('names the required variables a running container lacks or leaves empty, never their values', async () => {
    const cfg = join(mkdtempSync(join(tmpdir(), 'doomcfg-')), 'config.yaml');
    // nats has SERVICE and HTTP_PORT; NATS_URL is missing; the dashboard's GRPC_ENDPOINT is set.
    writeFileSync(
      cfg,
      'requiredVariables:\n  nats: [SERVICE, NATS_URL]\n  dashboard: [GRPC_ENDPOINT, HTTP_PORT]\n',
    );
    const r = await cliOk(['health', '--json', '--project', stack.project], { DOOM_OPS_CONFIG: cfg });
    const h = r.json<Health>();
    const nats = h.services.find((s) => s.service === 'nats')!;
    expect(nats.problems).toContainEqual(
      expect.stringMatching(/_nats_1 runs without NATS_URL \(required variables/),
    );
    expect(nats.problems.join('\n')).not.toMatch(/SERVICE/);
    expect(h.services.find((s) => s.service === 'dashboard')!.problems.join('\n')).not.toMatch(
      /required variables/,
    );
    // Informational: the service is still judged by its containers.
    expect(nats.ok).toBe(true);
  });

  it('a GPU-reserving service on this GPU-less engine cannot start for lack of the nvidia runtime, and says so', async () => {
    // The handbook's GPU overlay: compose creates vizdoom, and the engine refuses to start it.
    const up = await execa(
      'docker-compose',
      [
        '-p',
        stack.project,
        '-f',
        COMPOSE_FILE,
        '-f',
        resolve('test/stack/docker-compose.gpu.yml'),
        'up',
        '-d',
        '--no-deps',
        'vizdoom',
      ],
      { reject: false },
    );
    expect(up.exitCode).not.toBe(0);
    const r = await cliOk(['health', '--json', '--project', stack.project], { DOOM_OPS_CONFIG: configPath });
    const v = r
      .json<Health & { services: Array<{ gpu?: Record<string, unknown> }> }>()
      .services.find((s) => s.service === 'vizdoom')!;
    expect(v.ok).toBe(false);
    expect(v.gpu).toMatchObject({
      requests: [{ driver: 'nvidia', count: 1, deviceIds: [], capabilities: ['gpu'] }],
      visibleDevices: '0',
      nvidiaRuntime: false,
      canServe: false,
    });
    expect(v.problems.join('\n')).toMatch(
      /vizdoom asks for a GPU \(driver nvidia, count 1, capabilities gpu; NVIDIA_VISIBLE_DEVICES=0\), but the engine has no nvidia runtime \(its runtimes: .*runc.*\): .*_vizdoom_1 cannot start/,
    );
    // The engine's own reason, as a start failure of the gpu kind.
    expect(JSON.stringify(v)).toMatch(/could not select device driver/);
    const text = await cliOk(['health', '--project', stack.project], { DOOM_OPS_CONFIG: configPath });
    expect(text.stdout).toMatch(/no nvidia runtime/);
  });

  it('a failing deep check makes a healthy-looking service unhealthy', async () => {
    const nats = await containerOf(stack.project, 'nats');
    // Freeze the NATS server (SIGSTOP; PID 1 is the image's wrapper): Docker's own check will
    // follow, but the deep check sees it now.
    const signal = async (sig: string) => {
      const exec = await docker
        .getContainer(nats.Id)
        .exec({ Cmd: ['sh', '-c', `kill -${sig} $(pidof nats-server)`] });
      await exec.start({});
    };
    await signal('STOP');
    try {
      const { h } = await health();
      const n = h.services.find((s) => s.service === 'nats')!;
      expect(n.deepCheck).toMatchObject({ kind: 'exec', ok: false });
      expect(n.ok).toBe(false);
      expect(h.verdict).toBe('down'); // nats is critical
    } finally {
      await signal('CONT');
    }
  });
});
