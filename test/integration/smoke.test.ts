import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { testContext } from '../helpers/context.js';
import { containerOf, type TestStack, upStack, waitFor } from '../helpers/stack.js';

let stack: TestStack;
let dashboardPort: number;

beforeAll(async () => {
  stack = await upStack({ services: ['nats', 'dashboard'], env: { ORCHESTRATOR_MODE: 'normal' } });
  await waitFor('nats and dashboard healthy', async () => {
    const [n, d] = await Promise.all([
      containerOf(stack.project, 'nats'),
      containerOf(stack.project, 'dashboard'),
    ]);
    return n.State.Health?.Status === 'healthy' && d.State.Health?.Status === 'healthy';
  });
  const out = (await execa('docker', ['port', `${stack.project}_dashboard_1`, '3000/tcp'])).stdout;
  dashboardPort = Number(/127\.0\.0\.1:(\d+)/.exec(out)![1]);
}, 180_000);

afterAll(async () => {
  await stack?.down();
});

describe('smoke_test', () => {
  it('runs each probe kind with latency and a clear pass or fail', async () => {
    const base = testContext(stack.project).config;
    const smoke: Config['smoke'] = {
      probes: [
        {
          name: 'nats monitoring',
          exec: { service: 'nats', argv: ['wget', '-qO-', 'http://127.0.0.1:8222/healthz'] },
          expect: '"status": ?"ok"',
          timeout: 5000,
        },
        {
          name: 'dashboard',
          http: `http://127.0.0.1:${dashboardPort}/api/health`,
          expect: '"status":"ok"',
          timeout: 5000,
        },
        { name: 'dashboard port', tcp: { host: '127.0.0.1', port: dashboardPort }, timeout: 5000 },
        { name: 'closed port', tcp: { host: '127.0.0.1', port: 1 }, timeout: 2000 },
        { name: 'vizdoom probe', exec: { service: 'vizdoom', argv: ['true'] }, timeout: 5000 },
        {
          name: 'wrong body',
          http: `http://127.0.0.1:${dashboardPort}/api/health`,
          expect: '"status":"green"',
          timeout: 5000,
        },
      ],
    };
    const ctx = testContext(stack.project, undefined, { smoke: { ...base.smoke, ...smoke } });
    const r = (await invokeTool(findTool('smoke_test')!, ctx, {})) as {
      ok: boolean;
      summary: string;
      probes: Array<{ name: string; ok: boolean; latencyMs: number; detail: string }>;
    };
    const by = Object.fromEntries(r.probes.map((p) => [p.name, p]));
    expect(by['nats monitoring']).toMatchObject({ ok: true, detail: 'exit 0: {"status":"ok"}' });
    expect(by.dashboard).toMatchObject({ ok: true, detail: 'HTTP 200' });
    expect(by['dashboard port']).toMatchObject({ ok: true, detail: 'connected' });
    expect(by['closed port']!.ok).toBe(false);
    expect(by['closed port']!.detail).toMatch(/ECONNREFUSED/);
    expect(by['vizdoom probe']).toMatchObject({
      ok: false,
      detail: 'no running replica of vizdoom to run it in',
    });
    expect(by['wrong body']!.ok).toBe(false);
    expect(by['wrong body']!.detail).toMatch(/does not match/);
    for (const p of r.probes) expect(p.latencyMs).toBeGreaterThanOrEqual(0);
    expect(r.ok).toBe(false);
    expect(r.summary).toBe('3 of 6 smoke probes failed: closed port, vizdoom probe, wrong body');
  });
});
