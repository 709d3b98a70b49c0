import { describe, expect, it } from 'vitest';
import type { ContainerDetail } from '../../src/adapters/docker/types.js';
import {
  containerHealth,
  overallVerdict,
  serviceHealth,
  statusWithDeepCheck,
} from '../../src/tools/lib/service-status.js';

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
    pidsLimit: null,
    cpuset: null,
    logConfig: { driver: 'json-file', options: {} },
    tty: false,
    readOnlyRootfs: false,
    networkMode: 'default',
    user: '',
    stopTimeoutS: null,
    secretValues: [],
    envNames: [],
    emptyEnv: [],
    gpu: null,
    logPath: null,
    labels: {},
    mounts: [],
    portBindings: [],
    portRanges: [],
    ephemeralPorts: [],
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

  it('a clean exit 0 is "stopped"; running again after restarts with OOMKilled set says "probably", not a proven OOM', () => {
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
    expect(again.lastExit).toMatchObject({
      code: null,
      oomKilled: true,
      meaning: expect.stringMatching(/probably OOM/),
    });
    // RestartCount 0: the flag is left over from a process killed inside; no OOM problem for the container.
    const restartedByHand = containerHealth(
      detail({ oomKilled: true, finishedAt: '2026-11-28T11:58:59Z', restartCount: 0 }),
      0,
      NOW,
    );
    expect(serviceHealth(undefined, [restartedByHand]).problems.join(' ')).not.toMatch(
      /OOM-killed at its memory limit/,
    );
  });

  it('a container that never started says what failed and how to fix it; a blocked one names its dependency', () => {
    const never = containerHealth(
      detail({
        status: 'created',
        running: false,
        exitCode: 127,
        startedAt: null,
        error:
          'failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "missing-tool": executable file not found in $PATH: unknown',
        health: null,
      }),
      0,
      NOW,
    );
    expect(never.neverStarted).toMatchObject({ kind: 'command_not_found' });
    const p = serviceHealth(undefined, [never], { service: 'indexer' }).problems.join('\n');
    expect(p).toMatch(
      /never started: the command "missing-tool" is not in the image \(exit 127: executable file not found/,
    );
    expect(p).toMatch(/fix: fix command\/entrypoint/);
    const created = containerHealth(
      detail({ status: 'created', running: false, startedAt: null, health: null }),
      0,
      NOW,
    );
    expect(
      serviceHealth(undefined, [created], {
        service: 'app',
        blockedBy: ['db (depends_on service_healthy), which is unhealthy'],
      }).problems,
    ).toEqual(['created but never started: waits for db (depends_on service_healthy), which is unhealthy']);
  });

  it('a probe whose command is missing is a broken probe, not a failing app', () => {
    const d = detail({ health: 'unhealthy' });
    d.health!.log = [{ start: '', end: '', exitCode: 127, output: '/bin/sh: curl: not found\n' }];
    d.healthcheck = {
      test: ['CMD-SHELL', 'curl -f http://localhost/'],
      intervalNs: 0,
      startPeriodNs: 0,
      retries: 3,
    };
    const h = containerHealth(d, 0, NOW);
    expect(h.probe).toEqual({ failure: 'broken', program: 'curl' });
    const p = serviceHealth(undefined, [h], { service: 'api' }).problems.join(' ');
    expect(p).toMatch(
      /health probe cannot run: \/bin\/sh: curl: not found: its command "curl" is not in the image/,
    );
    expect(p).not.toMatch(/restart/);
  });

  it('processes OOM-killed inside and PIDs near pids_limit make a running service degraded, with the cause named', () => {
    const base = containerHealth(detail({ health: null }), 0, NOW);
    const inside = { ...base, processOomKills: 4 };
    const r = serviceHealth(undefined, [inside], { service: 'web' });
    expect(r).toMatchObject({ status: 'degraded', ok: false });
    expect(r.problems[0]).toMatch(
      /^4 processes OOM-killed inside web in the last 15 min; the container kept running/,
    );
    const pids = { ...base, pids: { current: 30, limit: 32, zombies: 27 } };
    const q = serviceHealth(undefined, [pids], { service: 'crawler' });
    expect(q.status).toBe('degraded');
    expect(q.problems[0]).toMatch(
      /PIDs 30\/32 \(94% of pids_limit\).*27 of them are zombie processes.*init: true/,
    );
    expect(serviceHealth(undefined, [{ ...base, pids: { current: 10, limit: 32, zombies: null } }]).ok).toBe(
      true,
    );
    // Caught running between two clean exits of a loop: still a loop, not fine.
    const loop = serviceHealth(undefined, [{ ...base, restartCount: 5, cleanExits: 3 }], {
      service: 'exporter',
    });
    expect(loop).toMatchObject({ status: 'degraded', ok: false });
    expect(loop.problems[0]).toMatch(/restart loop of clean exits/);
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
    // A critical service whose only container never started serves nothing.
    expect(
      overallVerdict([
        { status: 'created', critical: true, expected: true, replicas: { running: 0, total: 1 } },
      ]),
    ).toBe('down');
    expect(
      overallVerdict([
        { status: 'created', critical: false, expected: true, replicas: { running: 0, total: 1 } },
      ]),
    ).toBe('degraded');
  });
});

describe('a failing deep check', () => {
  it('makes the service unhealthy whatever Docker says; the verdict follows criticality', () => {
    for (const docker of ['running', 'healthy', 'degraded'] as const) {
      const status = statusWithDeepCheck(docker, false);
      expect(status).toBe('unhealthy');
      expect(overallVerdict([{ status, critical: true, expected: true }])).toBe('down');
      expect(overallVerdict([{ status, critical: false, expected: true }])).toBe('degraded');
    }
    // Worse states and the start period keep theirs; a passing or absent deep check changes nothing.
    expect(statusWithDeepCheck('exited', false)).toBe('exited');
    expect(statusWithDeepCheck('restarting', false)).toBe('restarting');
    expect(statusWithDeepCheck('starting', false)).toBe('starting');
    expect(statusWithDeepCheck('running', true)).toBe('running');
    expect(statusWithDeepCheck('running', undefined)).toBe('running');
  });
});
