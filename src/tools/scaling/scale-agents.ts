import { z } from 'zod';
import { defineTool } from '../define-tool.js';
import { scale, scaleOutput, scalePlan, scaleRisk } from '../lib/scale.js';

export const scaleAgents = defineTool({
  name: 'scale_agents',
  title: 'Scale the agent pool',
  description:
    "Set the number of clau-doom agent containers (the handbook's generation-based scaling: e.g. 6 early, 4 mid, " +
    '2 late), within the configured AGENT_POOL_MIN/MAX (default 2..10). Up creates replicas; down drains the ' +
    'highest-numbered agents through the orchestrator, stops and removes them. Returns before/after counts and ' +
    'the containers created, drained and removed. force: true (remove despite a failed drain), going below the minimum ' +
    'or to 0 needs a human approval; above the maximum is refused.',
  summary:
    'Set the agent container count within the pool bounds (a scale-down drains agents first); force, 0 or ' +
    'below the minimum waits for a human approval. Returns the counts before and after.',
  risk: 'write',
  stackKinds: ['compose', 'swarm'],
  idempotent: true,
  input: z.object({
    replicas: z.number().int().min(0).max(100).describe('Wanted number of agents'),
    force: z
      .boolean()
      .default(false)
      .describe('Remove agents even if their drain fails (destructive: needs human approval)'),
  }),
  output: scaleOutput,
  mayDestroy: true,
  effectiveRisk: (input, ctx) => scaleRisk(ctx, ctx.config.scaling.agentService, input.replicas, input.force),
  plan: (ctx, input) => scalePlan(ctx, ctx.config.scaling.agentService, input.replicas, input.force),
  run: (ctx, input) => scale(ctx, ctx.config.scaling.agentService, input.replicas, input.force),
});
