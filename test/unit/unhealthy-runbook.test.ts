import { describe, expect, it } from 'vitest';
import { unhealthyService } from '../../src/runbooks/unhealthy-service.js';

// stack_health's answer for one service, as the runbook reads it (the fields it uses).
const health = (containers: object[], problems: string[], status: string) => ({
  services: [{ service: 'orchestrator', status, problems, containers }],
});
const container = (over: object) => ({
  name: 'p_orchestrator_1',
  state: 'running',
  health: 'unhealthy',
  uptimeSeconds: 40,
  lastHealthOutput: null,
  probe: null,
  ...over,
});
const run = async (h: object) =>
  unhealthyService.run(
    async (tool) => (tool === 'stack_health' ? h : { lines: [] }) as never,
    'orchestrator',
    {},
  );

describe('the unhealthy-service runbook', () => {
  it('an OOM-killed container that exited with "unhealthy" left over is not a failing check: the reason it stopped', async () => {
    const [step] = await run(
      health(
        [container({ state: 'exited', uptimeSeconds: null })],
        [
          'OOM-killed at its memory limit (last exit 137)',
          'restart policy on-failure:5 exhausted after 5 restarts',
        ],
        'exited',
      ),
    );
    expect(step!.findings).toEqual([
      expect.objectContaining({
        severity: 'critical',
        title: 'p_orchestrator_1 is exited, not running',
        explanation: expect.stringMatching(/OOM-killed at its memory limit .*on-failure:5 exhausted/),
      }),
    ]);
    expect(JSON.stringify(step)).not.toMatch(/health check failing|fails without output/);
    expect(step!.actions[0]).toMatch(/explain_restarts orchestrator/);
  });

  it('a running container failing its check is still a failing check, with its output', async () => {
    const [step] = await run(
      health(
        [container({ lastHealthOutput: 'wget: connection refused' })],
        ['health check failing'],
        'unhealthy',
      ),
    );
    expect(step!.findings[0]).toMatchObject({
      title: 'p_orchestrator_1 health check failing',
      explanation: expect.stringMatching(/wget: connection refused/),
    });
  });
});
