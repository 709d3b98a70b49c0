import { z } from 'zod';
import type { Config } from '../../config/schema.js';
import { ToolError } from '../../errors.js';
import type { Plan } from '../../safety/approvals.js';
import { defineTool } from '../define-tool.js';
import { scale, scaleOutput, scalePlan, scaleRisk } from '../lib/scale.js';

type Policy = Config['scaling']['generations'];

/** The policy in words: "≤ 3 → 6, ≤ 7 → 4, later → 2". */
export function describePolicy(policy: Policy): string {
  return policy.map((r) => `${r.upTo === undefined ? 'later' : `≤ ${r.upTo}`} → ${r.agents}`).join(', ');
}

/**
 * The agent count for a training generation under the config's policy (scaling.generations): the
 * first rule whose `upTo` is at least `generation`, or the first without `upTo`. Errors: ToolError
 * invalid_input when no rule covers it (a policy whose last rule has an `upTo`).
 */
export function agentsForGeneration(policy: Policy, generation: number): number {
  const rule = policy.find((r) => r.upTo === undefined || generation <= r.upTo);
  if (!rule)
    throw new ToolError('invalid_input', `no rule of scaling.generations covers generation ${generation}`, {
      hint: `the policy is ${describePolicy(policy)}; end it with a rule without upTo, or give replicas`,
    });
  return rule.agents;
}

const input = z.object({
  replicas: z
    .number()
    .int()
    .min(0)
    .max(100)
    .optional()
    .describe('Wanted number of agents (or give generation instead)'),
  generation: z
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .optional()
    .describe(
      "The training generation: the agent count comes from config scaling.generations (the handbook's default: ≤ 3 → 6, ≤ 7 → 4, later → 2)",
    ),
  force: z
    .boolean()
    .default(false)
    .describe('Remove agents even if their drain fails (destructive: needs human approval)'),
});

/** The count asked for: replicas, or the generation's under the policy. Errors: invalid_input for neither or both. */
function target(config: Config, i: z.output<typeof input>): number {
  if ((i.replicas === undefined) === (i.generation === undefined))
    throw new ToolError('invalid_input', 'scale_agents needs either replicas or generation (one of them)', {
      hint: 'e.g. replicas: 4, or generation: 5',
    });
  return i.replicas ?? agentsForGeneration(config.scaling.generations, i.generation!);
}

export const scaleAgents = defineTool({
  name: 'scale_agents',
  title: 'Scale the agent pool',
  description:
    'Set the number of clau-doom agent containers, given as replicas or as the training generation (mapped to a ' +
    "count by config scaling.generations: the handbook's ≤ 3 → 6, ≤ 7 → 4, later → 2; the plan shows the mapping), " +
    'within the configured AGENT_POOL_MIN/MAX (default 2..10). Up creates replicas; down drains the ' +
    'highest-numbered agents through the orchestrator, stops and removes them. Returns before/after counts and ' +
    'the containers created, drained and removed. force: true (remove despite a failed drain), going below the minimum ' +
    'or to 0 needs a human approval; above the maximum is refused.',
  summary:
    'Set the agent container count (or a training generation, mapped by policy) within the pool bounds; force, 0 ' +
    'or below the minimum waits for a human approval. Returns the counts before and after.',
  risk: 'write',
  stackKinds: ['compose', 'swarm'],
  idempotent: true,
  input,
  output: scaleOutput,
  mayDestroy: true,
  effectiveRisk: (i, ctx) => scaleRisk(ctx, ctx.config.scaling.agentService, target(ctx.config, i), i.force),
  async plan(ctx, i): Promise<Plan> {
    const n = target(ctx.config, i);
    const p = await scalePlan(ctx, ctx.config.scaling.agentService, n, i.force);
    if (i.generation === undefined) return p;
    const why = `generation ${i.generation} → ${n} agents (scaling.generations: ${describePolicy(ctx.config.scaling.generations)})`;
    return { ...p, summary: `${why}: ${p.summary}`, steps: [why, ...p.steps] };
  },
  run: (ctx, i) => scale(ctx, ctx.config.scaling.agentService, target(ctx.config, i), i.force),
});
