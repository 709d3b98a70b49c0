import { describe, expect, it } from 'vitest';
import type { SwarmNode, SwarmService, SwarmTask } from '../../src/adapters/swarm/client.js';
import { stackSwarmEvent, taskEvent, taskStateKey } from '../../src/recorder/swarm-feed.js';

const svc = { id: 's1', name: 'st_orchestrator', service: 'orchestrator' } as SwarmService;
const nodes = [{ id: 'n1', hostname: 'gpu-1' }] as SwarmNode[];
const task = (over: Partial<SwarmTask>): SwarmTask => ({
  id: 't1',
  serviceId: 's1',
  slot: 1,
  nodeId: 'n1',
  desiredState: 'shutdown',
  state: 'failed',
  message: 'started',
  error: 'task: non-zero exit (137)',
  exitCode: 137,
  containerId: 'c1',
  at: '2026-12-05T01:00:00.000Z',
  createdAt: '2026-12-05T00:59:58.000Z',
  ...over,
});

describe('the recorder’s Swarm task events', () => {
  it('a failed task is an event with its service, node, exit code, error and container, at the time it failed', () => {
    expect(taskEvent('st', task({}), [svc], nodes)).toEqual({
      time: '2026-12-05T01:00:00.000Z',
      type: 'task',
      action: 'failed',
      id: 't1',
      name: 'st_orchestrator.1',
      attributes: {
        'com.docker.stack.namespace': 'st',
        'com.docker.swarm.service.name': 'st_orchestrator',
        service: 'orchestrator',
        node: 'gpu-1',
        exitCode: '137',
        error: 'task: non-zero exit (137)',
        container: 'c1',
      },
    });
    expect(taskStateKey({ id: 't1', action: 'failed' })).toBe('t1:failed');
  });

  it('steps on the way are not kept; a pending task with the scheduler’s reason is; other stacks’ services are not', () => {
    expect(
      taskEvent('st', task({ state: 'preparing', error: null, exitCode: null }), [svc], nodes),
    ).toBeNull();
    expect(taskEvent('st', task({ state: 'pending', error: null, nodeId: null }), [svc], nodes)).toBeNull();
    const unplaced = taskEvent(
      'st',
      task({
        state: 'pending',
        error: 'no suitable node (insufficient resources on 2 nodes)',
        nodeId: null,
        exitCode: null,
      }),
      [svc],
      nodes,
    );
    expect(unplaced?.attributes).not.toHaveProperty('node');
    expect(unplaced?.attributes.error).toMatch(/no suitable node/);
    expect(taskEvent('st', task({ serviceId: 'other' }), [svc], nodes)).toBeNull();
    const ev = (type: string, name: string) => ({
      time: '',
      type,
      action: 'update',
      name,
      id: 'x',
      attributes: { name },
    });
    expect(stackSwarmEvent('st', ev('service', 'st_agent'))).toBe(true);
    expect(stackSwarmEvent('st', ev('service', 'stx_agent'))).toBe(false);
    expect(stackSwarmEvent('st', ev('node', 'gpu-1'))).toBe(true);
    expect(stackSwarmEvent('st', ev('container', 'st_agent.1'))).toBe(false);
  });
});
