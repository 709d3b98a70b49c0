// lint_compose on the test stack's own Compose file (plus an overlay of faults): the handbook's
// log rotation, CPU pinning and required variables, against the real engine's CPU count.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { invokeTool } from '../../src/tools/invoke.js';
import { findTool } from '../../src/tools/registry.js';
import { testContext } from '../helpers/context.js';

interface Lint {
  findings: Array<{
    rule: string;
    service: string;
    file: string;
    line: number | null;
    message: string;
    fix?: string;
  }>;
}

const lint = async (files: string[]) => {
  const base = testContext('lint-stack');
  const ctx = testContext('lint-stack', undefined, {
    compose: { ...base.config.compose, dir: resolve('test/stack'), files },
  });
  return (await invokeTool(findTool('lint_compose')!, ctx, {})) as Lint;
};

describe('lint_compose on the test stack', () => {
  it('reports missing log rotation with the handbook values, a shared pinned core, and a missing variable by name only', async () => {
    const r = await lint(['docker-compose.yml', 'docker-compose.lint-faults.yml']);
    const of = (rule: string) => r.findings.filter((f) => f.rule === rule);

    // No service of the test stack sets logging: each one is named, with the handbook's values.
    expect(
      of('no_log_rotation')
        .map((f) => f.service)
        .sort(),
    ).toEqual(['agent', 'dashboard', 'mongodb', 'nats', 'opensearch', 'orchestrator', 'vizdoom'].sort());
    expect(JSON.stringify(of('no_log_rotation').find((f) => f.service === 'vizdoom'))).toMatch(/50m/);
    expect(JSON.stringify(of('no_log_rotation').find((f) => f.service === 'agent'))).toMatch(/10m/);

    const pinned = of('shared_pinned_core');
    expect(pinned.length).toBeGreaterThan(0);
    expect(JSON.stringify(pinned)).toMatch(/agent/);
    expect(JSON.stringify(pinned)).toMatch(/vizdoom/);

    const missing = of('missing_required_variable');
    expect(missing.map((f) => f.service)).toEqual(['agent']);
    // Named where it was emptied: the overlay, not the base file.
    expect(missing[0]!.file).toBe('docker-compose.lint-faults.yml');
    expect(missing[0]!.line).toBe(7); // NATS_URL:
    expect(missing[0]!.message).toMatch(/NATS_URL/);
    // Values are never shown: not the agent's other variables, not any secret of the stack.
    const text = JSON.stringify(r);
    for (const value of [
      'orchestrator:50051',
      'mongodb://mongodb:27017/clau-doom',
      'mongo-root-s3cret',
      'tok-4f9a8c2e77d1',
    ])
      expect(text).not.toContain(value);
  });

  it('the test stack as it is: no shared core and every required variable set', async () => {
    const r = await lint(['docker-compose.yml']);
    expect(r.findings.filter((f) => f.rule === 'shared_pinned_core')).toEqual([]);
    expect(r.findings.filter((f) => f.rule === 'missing_required_variable')).toEqual([]);
  });
});
