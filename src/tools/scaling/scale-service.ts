import { z } from 'zod';
import { serviceName } from '../../config/schema.js';
import { defineTool } from '../define-tool.js';
import { scale, scaleOutput, scalePlan, scaleRisk } from '../lib/scale.js';

export const scaleService = defineTool({
  name: 'scale_service',
  title: 'Scale a service',
  description:
    "Set the number of replicas of a Compose service, through the Engine API and following Compose's own " +
    'conventions (new replicas are copies of an existing one with the next numbers; Compose keeps recognising them). ' +
    'Scaling down removes the highest-numbered replicas after the configured drain hook and a graceful stop. ' +
    'If a drain fails the call refuses; force: true removes anyway and needs a human approval. Scaling to 0, below the ' +
    'configured minimum, or down a critical service or one with named volumes is destructive too (plan + human approval). ' +
    'Above the configured maximum is refused. For agents prefer scale_agents.',
  summary:
    "Set a service's replica count (agents: scale_agents) and get before/after counts. Force, 0, below the " +
    'minimum, or scaling down a critical or volume-backed service needs a human approval.',
  risk: 'write',
  stackKinds: ['compose', 'swarm'],
  idempotent: true,
  input: z.object({
    service: serviceName.describe('Compose service name, e.g. agent'),
    replicas: z
      .number()
      .int()
      .min(0)
      .max(100)
      .describe('Wanted number of replicas (within the configured min/max)'),
    force: z
      .boolean()
      .default(false)
      .describe('Remove replicas even if their drain fails (destructive: needs human approval)'),
  }),
  output: scaleOutput,
  mayDestroy: true,
  effectiveRisk: (input, ctx) => scaleRisk(ctx, input.service, input.replicas, input.force),
  plan: (ctx, input) => scalePlan(ctx, input.service, input.replicas, input.force),
  run: (ctx, input) => scale(ctx, input.service, input.replicas, input.force),
});
