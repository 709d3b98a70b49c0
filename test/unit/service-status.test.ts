import { describe, expect, it } from 'vitest';
import type { ContainerDetail } from '../../src/adapters/docker/types.js';
import { containerHealth, overallVerdict, serviceHealth } from '../../src/tools/lib/service-status.js';

const NOW = Date.parse('2026-11-28T12:00:00Z');

function detail(
  over: Partial<ContainerDetail['state']> & {
    health?: string | null;
    restartCount?: number;
    policy?: [string, number];
  } = {},
): ContainerDetail {
  const { health = 'healthy', restartCount = 0, policy = ['unless-stopped', 0], ...state } = over;
  return {
    id: 'abcdef0123456789',
    name: 'p_svc_1',
    service: 'svc',
    number: 1,
    image: 'img',
    createdAt: '2026-11-28T11:00:00Z',
    state: {
      status: 'running',
      running: true,
      restarting: false,
      paused: false,
      oomKilled: false,
      exitCode: 0,
      error: '',
      startedAt: '2026-11-28T11:59:00Z',
      finishedAt: null,
      pid: 1,
      ...state,
    },
    health:
      health === null
        ? null
        : {
            status: health,
            failingStreak: health === 'unhealthy' ? 3 : 0,
            log: [
              { start: '', end: '', exitCode: health === 'unhealthy' ? 1 : 0, output: 'probe said no\n' },
            ],
          },
    healthcheck: null,
    restartCount,
    restartPolicy: { name: policy[0], maximumRetryCount: policy[1] },
    memoryLimitBytes: null,
    nanoCpus: null,
    tty: false,
    user: '',
    stopTimeoutS: null,
    secretValues: [],
    labels: {},
    mounts: [],
    portBindings: [],
    publishedPorts: [],
    exposedPorts: [],
    networks: [],
  };
}

describe('containerHealth', () => {
  it('healthy running container with uptime', () => {
    const h = containerHealth(detail(), 0, NOW);
    expect(h).toMatchObject({ status: 'healthy', uptimeSeconds: 60, lastExit: null, policyExhausted: false });
  });

  it('OOM loop that used up on-failure:5 is exited, OOMKilled, 137 explained, policy exhausted', () => {
    const h = containerHealth(
      detail({
        status: 'exited',
        running: false,
        oomKilled: true,
        exitCode: 137,
        finishedAt: '2026-11-28T11:59:30Z',
        restartCount: 5,
        policy: ['on-failure', 5],
        health: 'unhealthy',
      }),
      0,
      NOW,
    );
    expect(h.status).toBe('exited');
    expect(h.policyExhausted).toBe(true);
    expect(h.restartPolicy).toBe('on-failure:5');
    expect(h.lastExit).toMatchObject({ code: 137, signal: 'SIGKILL', oomKilled: true });
    expect(h.lastExit?.meaning).toMatch(/OOM/);
  });

  it('within the configured start period an unhealthy container counts as starting', () => {
    expect(containerHealth(detail({ health: 'unhealthy' }), 120_000, NOW).status).toBe('starting');
    expect(containerHealth(detail({ health: 'unhealthy' }), 10_000, NOW).status).toBe('unhealthy');
  });

  it('a clean exit 0 is "stopped", running again after an OOM still reports the OOM', () => {
    expect(
      containerHealth(
        detail({ status: 'exited', running: false, exitCode: 0, finishedAt: '2026-11-28T11:00:00Z' }),
        0,
        NOW,
      ).status,
    ).toBe('stopped');
    const again = containerHealth(
      detail({ oomKilled: true, finishedAt: '2026-11-28T11:58:59Z', restartCount: 2 }),
      0,
      NOW,
    );
    expect(again.lastExit).toMatchObject({ code: 137, oomKilled: true });
  });

  it('only unhealthy probes keep their output', () => {
    expect(containerHealth(detail({ health: 'unhealthy' }), 0, NOW).lastHealthOutput).toBe('probe said no');
    expect(containerHealth(detail(), 0, NOW).lastHealthOutput).toBeNull();
  });
});

describe('serviceHealth and verdict', () => {
  const ok = containerHealth(detail(), 0, NOW);
  const dead = containerHealth(
    detail({ status: 'exited', running: false, exitCode: 1, finishedAt: '2026-11-28T11:59:00Z' }),
    0,
    NOW,
  );

  it('missing unless optional', () => {
    expect(
      serviceHealth({ critical: true, startPeriod: 0, optional: false, dependsOn: [] }, []),
    ).toMatchObject({
      status: 'missing',
      ok: false,
    });
    expect(
      serviceHealth({ critical: true, startPeriod: 0, optional: true, dependsOn: [] }, []),
    ).toMatchObject({
      status: 'absent',
      ok: true,
    });
  });

  it('some replicas failing is degraded; all failing is the failure', () => {
    expect(serviceHealth(undefined, [ok, dead]).status).toBe('degraded');
    expect(serviceHealth(undefined, [dead]).status).toBe('exited');
    expect(serviceHealth(undefined, [dead]).problems.join(' ')).toMatch(/exited with 1/);
  });

  it('down when a critical service serves nothing; degraded otherwise', () => {
    expect(overallVerdict([{ status: 'healthy', critical: true, expected: true }])).toBe('healthy');
    expect(overallVerdict([{ status: 'starting', critical: true, expected: true }])).toBe('starting');
    expect(overallVerdict([{ status: 'missing', critical: false, expected: true }])).toBe('degraded');
    expect(overallVerdict([{ status: 'degraded', critical: true, expected: true }])).toBe('degraded');
    expect(
      overallVerdict([
        { status: 'exited', critical: true, expected: true },
        { status: 'healthy', critical: true, expected: true },
      ]),
    ).toBe('down');
  });
});
