import { resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { renderText } from '../../src/render/text.js';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { testContext } from '../helpers/context.js';
import { uniqueProject } from '../helpers/stack.js';

const projects: string[] = [];
const FILE = resolve('test/stack/docker-compose.yml');

interface Up {
  ready: boolean;
  summary: string;
  services: Array<{ service: string; ready: boolean; health: string | null; failed: boolean }>;
  failures: Array<{ service: string; findings: unknown }>;
  smoke: { ok: boolean; probes: Array<{ name: string; ok: boolean }> } | null;
  durationMs: number;
}

function ctxFor(project: string) {
  projects.push(project);
  const base = testContext(project).config;
  const config: Partial<Config> = {
    compose: { dir: resolve('test/stack'), files: ['docker-compose.yml'] },
    smoke: {
      probes: [
        {
          name: 'nats monitoring',
          exec: { service: 'nats', argv: ['wget', '-qO-', 'http://127.0.0.1:8222/healthz'] },
          expect: '"status": ?"ok"',
          timeout: 5000,
        },
      ],
    },
    services: { ...base.services, vizdoom: { ...base.services.vizdoom!, startPeriod: 3000 } },
  };
  return testContext(project, undefined, config);
}

afterAll(async () => {
  for (const p of projects)
    await execa('docker-compose', ['-p', p, '-f', FILE, 'down', '-v', '--remove-orphans', '-t', '1'], {
      reject: false,
    });
  delete process.env.VIZDOOM_UNHEALTHY;
});

describe('stack_up', () => {
  it('starts the stack from its Compose file and returns once every service is healthy, with smoke results', async () => {
    process.env.ORCHESTRATOR_MODE = 'normal';
    const r = (await invokeTool(findTool('stack_up')!, ctxFor(uniqueProject()), { timeout: '150s' })) as Up;
    expect(r.summary).toMatch(/^all 7 services healthy/);
    expect(r.ready).toBe(true);
    expect(r.services.map((s) => s.service)).toEqual([
      'agent',
      'dashboard',
      'mongodb',
      'nats',
      'opensearch',
      'orchestrator',
      'vizdoom',
    ]);
    expect(r.services.every((s) => s.ready)).toBe(true);
    expect(r.smoke).toMatchObject({ ok: true, probes: [{ name: 'nats monitoring', ok: true }] });
  }, 200_000);

  it('with one service failing its healthcheck, returns that service runbook findings within the bound', async () => {
    process.env.ORCHESTRATOR_MODE = 'normal';
    process.env.VIZDOOM_UNHEALTHY = 'renderer lost its display';
    const started = Date.now();
    const r = (await invokeTool(findTool('stack_up')!, ctxFor(uniqueProject()), { timeout: '150s' })) as Up;
    expect(Date.now() - started).toBeLessThan(150_000);
    expect(r.ready).toBe(false);
    expect(r.smoke).toBeNull();
    expect(r.services.find((s) => s.service === 'vizdoom')).toMatchObject({
      ready: false,
      failed: true,
      health: 'unhealthy',
    });
    expect(r.failures.map((f) => f.service)).toEqual(['vizdoom']);
    expect(JSON.stringify(r.failures[0]!.findings)).toContain('renderer lost its display');
    expect(r.summary).toMatch(/vizdoom \(unhealthy\) not healthy; runbook findings included/);
    // What `doom-ops up` prints: the runbook's findings as text, never the raw JSON of them.
    const text = renderText('stack_up', r);
    expect(text).not.toMatch(/[{[]\s*"[^"\n]*"\s*:|"[A-Za-z_]+":\s*[[{"\d]/);
    expect(text).toMatch(/vizdoom: unhealthy-service runbook\n {2}runbook unhealthy-service on vizdoom: /);
    expect(text).toMatch(/\n {2}\[critical\] [^\n]*renderer lost its display/);
  }, 200_000);
});
