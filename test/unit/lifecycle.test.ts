import { describe, expect, it } from 'vitest';
import { stopOrder } from '../../src/tools/lifecycle/stack-down.js';

describe('stop order', () => {
  it('stops dependents before what they depend on (the handbook DAG), ties by name', () => {
    const deps: Record<string, string[]> = {
      orchestrator: ['nats', 'opensearch', 'mongodb'],
      agent: ['orchestrator'],
      dashboard: ['orchestrator'],
    };
    expect(
      stopOrder(
        ['nats', 'opensearch', 'mongodb', 'orchestrator', 'agent', 'dashboard', 'vizdoom'],
        (s) => deps[s] ?? [],
      ),
    ).toEqual(['agent', 'dashboard', 'orchestrator', 'mongodb', 'nats', 'opensearch', 'vizdoom']);
  });

  it('ignores dependencies that are not running and survives a cycle', () => {
    expect(stopOrder(['a', 'b'], (s) => (s === 'a' ? ['b', 'ghost'] : ['a']))).toHaveLength(2);
    expect(stopOrder(['agent'], () => ['orchestrator'])).toEqual(['agent']);
  });
});
