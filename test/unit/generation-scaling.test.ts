import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { parseCommand } from '../../src/slack/grammar.js';
import { agentsForGeneration, describePolicy, scaleAgents } from '../../src/tools/scaling/scale-agents.js';
import { unitContext } from '../helpers/unit-context.js';

const policy = loadConfig({ env: {} }).scaling.generations;

describe('generation-based scaling (the handbook: ≤ 3 → 6, ≤ 7 → 4, later → 2)', () => {
  it.each([
    [0, 6],
    [2, 6],
    [3, 6],
    [4, 4],
    [7, 4],
    [8, 2],
    [500, 2],
  ])('generation %i → %i agents', (g, n) => {
    expect(agentsForGeneration(policy, g)).toBe(n);
  });

  it('a policy that leaves later generations uncovered says so', () => {
    expect(() => agentsForGeneration([{ upTo: 3, agents: 6 }], 4)).toThrow(
      /no rule of scaling.generations covers generation 4/,
    );
    expect(describePolicy(policy)).toBe('≤ 3 → 6, ≤ 7 → 4, later → 2');
  });

  it('scale_agents takes replicas or generation, not both or neither', async () => {
    const ctx = unitContext({ docker: {} });
    for (const i of [{}, { replicas: 2, generation: 2 }])
      await expect(
        Promise.resolve().then(() => scaleAgents.effectiveRisk!(scaleAgents.input.parse(i), ctx)),
      ).rejects.toMatchObject({
        code: 'invalid_input',
        message: expect.stringMatching(/either replicas or generation/),
      });
  });

  it('Slack: /doom scale agents --generation 5 and scale-agents --generation 5 are scale_agents; scale agent 4 stays the service', () => {
    for (const text of [
      'scale agents --generation 5',
      'scale-agents --generation 5',
      'scale AGENTS --generation 5',
    ])
      expect(parseCommand(text)).toMatchObject({
        kind: 'tool',
        tool: 'scale_agents',
        input: { generation: 5 },
      });
    expect(parseCommand('scale agents 4')).toMatchObject({ tool: 'scale_agents', input: { replicas: 4 } });
    expect(parseCommand('scale agent 4')).toMatchObject({
      tool: 'scale_service',
      input: { service: 'agent', replicas: 4 },
    });
  });
});
