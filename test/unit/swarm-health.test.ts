import { describe, expect, it } from 'vitest';
import type { SwarmNode, SwarmService, SwarmTask } from '../../src/adapters/swarm/client.js';
import { nodeProblems, swarmServiceHealth } from '../../src/tools/lib/swarm-health.js';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();
const node = (id: string, hostname: string, over: Partial<SwarmNode> = {}): SwarmNode => ({
  id,
  hostname,
  role: 'worker',
  state: 'ready',
  availability: 'active',
  addr: '',
  leader: false,
  labels: {},
  nanoCpus: 2e9,
  memoryBytes: 2 ** 31,
  ...over,
});
const svc = (over: Partial<SwarmService> = {}): SwarmService => ({
  id: 's1',
  name: 'st_api',
  service: 'api',
  mode: 'replicated',
  replicas: 2,
  image: 'api:1',
  update: null,
  failureAction: null,
  constraints: [],
  memoryLimitBytes: null,
  volumes: [],
  stackVolumes: [],
  labels: {},
  tty: false,
  secretValues: [],
  ...over,
});
let n = 0;
const task = (over: Partial<SwarmTask>): SwarmTask => ({
  id: `t${++n}`,
  serviceId: 's1',
  slot: 1,
  nodeId: 'n1',
  desiredState: 'running',
  state: 'running',
  message: 'started',
  error: null,
  exitCode: null,
  containerId: 'c',
  at: ago(60),
  createdAt: ago(60),
  ...over,
});
const nodes = [node('n1', 'gpu-1'), node('n2', 'gpu-2')];

describe('swarmServiceHealth', () => {
  it('all desired tasks running, no failures: running and ok', () => {
    const h = swarmServiceHealth(svc(), [task({ slot: 1 }), task({ slot: 2, nodeId: 'n2' })], nodes, NOW);
    expect(h).toMatchObject({ status: 'running', ok: true, desired: 2, running: 2, problems: [] });
  });

  it('a crash loop: running now, but failed tasks in the window make it restarting, grouped by node', () => {
    const h = swarmServiceHealth(
      svc({ replicas: 1, memoryLimitBytes: 32 * 2 ** 20 }),
      [
        task({}),
        task({
          state: 'failed',
          desiredState: 'shutdown',
          error: 'task: non-zero exit (137)',
          exitCode: 137,
          at: ago(30),
        }),
        task({
          state: 'failed',
          desiredState: 'shutdown',
          error: 'task: non-zero exit (137)',
          exitCode: 137,
          nodeId: 'n2',
          at: ago(90),
        }),
        // Outside the 15-minute window: history, not a problem.
        task({
          state: 'failed',
          desiredState: 'shutdown',
          error: 'task: non-zero exit (1)',
          exitCode: 1,
          at: ago(3600),
        }),
      ],
      nodes,
      NOW,
    );
    expect(h.status).toBe('restarting');
    expect(h.problems).toEqual([
      expect.stringMatching(
        /^2 task\(s\) ended in the last 15 min, task: non-zero exit \(137\): SIGKILL.*\(memory limit 32 MiB: likely OOM-killed\); on gpu-1 ×1, gpu-2 ×1$/,
      ),
    ]);
    expect(h.tasks).toHaveLength(4);
  });

  it('nothing placed: created, with the scheduler’s reason and the constraints', () => {
    const h = swarmServiceHealth(
      svc({ replicas: 1, constraints: ['node.labels.gpu==true'] }),
      [
        task({
          state: 'pending',
          nodeId: null,
          error: 'no suitable node (scheduling constraints not satisfied on 2 nodes)',
        }),
      ],
      nodes,
      NOW,
    );
    expect(h).toMatchObject({ status: 'created', running: 0, ok: false });
    expect(h.problems[0]).toBe(
      '1 of 1 task(s) cannot be placed: no suitable node (scheduling constraints not satisfied on 2 nodes) (placement constraints: node.labels.gpu==true)',
    );
  });

  it('a rolled-back update, a task on a node that is down, and a global service', () => {
    const down = [node('n1', 'gpu-1', { state: 'down' }), node('n2', 'gpu-2', { availability: 'drain' })];
    const h = swarmServiceHealth(
      svc({
        mode: 'global',
        replicas: null,
        update: { state: 'rollback_completed', message: 'rollback completed' },
      }),
      [task({ slot: null }), task({ slot: null, nodeId: 'n2' })],
      down,
      NOW,
    );
    expect(h.desired).toBe(2);
    expect(h.problems).toEqual([
      expect.stringMatching(/^task t\d+ is on node gpu-1, which is down$/),
      'update rolled back (rollback_completed): rollback completed',
    ]);
    expect(h.ok).toBe(false);
    expect(nodeProblems(down)).toEqual([
      'node gpu-1 is down',
      'node gpu-2 is drained: it takes no new tasks',
    ]);
  });

  it('scaled to zero is stopped; no task at all for a desired one is missing', () => {
    expect(swarmServiceHealth(svc({ replicas: 0 }), [], nodes, NOW).status).toBe('stopped');
    expect(swarmServiceHealth(svc({ replicas: 1 }), [], nodes, NOW).status).toBe('missing');
  });
});

describe('swarmServiceHealth: what the attack pass found', () => {
  it('nothing runs and nothing failed recently: the newest task’s end is named, whatever its age', () => {
    const h = swarmServiceHealth(
      svc({ replicas: 1 }),
      [task({ state: 'complete', desiredState: 'shutdown', exitCode: 0, at: ago(7200) })],
      nodes,
      NOW,
    );
    expect(h.status).toBe('exited');
    expect(h.problems).toEqual([
      expect.stringMatching(/^no task runs; the newest \(slot 1 on gpu-1\) is complete since .* \(exit 0\)$/),
    ]);
  });

  it('a global task that waits on its node for resources is unplaceable, with the reason', () => {
    const h = swarmServiceHealth(
      svc({ mode: 'global', replicas: null }),
      [task({}), task({ nodeId: 'n2', state: 'pending', error: 'insufficient resources on 1 node' })],
      nodes,
      NOW,
    );
    expect(h.problems[0]).toBe('1 of 2 task(s) cannot be placed: insufficient resources on 1 node');
  });
});
