import { z } from 'zod';
import type { ScaledService } from '../../config/schema.js';
import { ToolError } from '../../errors.js';
import type { ToolContext } from '../context.js';

/** What scale_agents and scale_service return (Compose and Swarm alike). */
export const scaleOutput = z.object({
  project: z.string(),
  service: z.string(),
  before: z.number(),
  after: z.number(),
  created: z.array(z.string()),
  removed: z.array(z.string()),
  drained: z.array(
    z.object({ container: z.string(), ok: z.boolean(), detail: z.string(), seconds: z.number() }),
  ),
  replicas: z.array(z.object({ name: z.string(), number: z.number(), state: z.string() })),
  image: z
    .string()
    .nullable()
    .describe(
      'the image new replicas were created on when update_service set one for this service, else null',
    ),
});
export type ScaleOutput = z.output<typeof scaleOutput>;

const DEFAULT_BOUNDS: ScaledService = { min: 0, max: 50 };

/** A service's scaling bounds and drain hook (config scaling.services), or the defaults 0..50. */
export function boundsFor(ctx: ToolContext, service: string): ScaledService {
  return ctx.config.scaling.services[service] ?? DEFAULT_BOUNDS;
}

/**
 * Above the configured maximum is refused outright; below the minimum is allowed only with a
 * human's approval (scaleDownReason makes it destructive).
 */
export function refuseAboveMax(ctx: ToolContext, service: string, target: number): void {
  const bounds = boundsFor(ctx, service);
  if (target > bounds.max)
    throw new ToolError(
      'invalid_input',
      `replicas: ${service} may run between ${bounds.min} and ${bounds.max} replicas (config scaling.services.${service}); ${target} asked`,
      { hint: `raise scaling.services.${service}.max in the config to go higher` },
    );
}

/**
 * design.md §6's rules for a scale-down from `current` to `target` replicas (Compose and Swarm
 * alike): going to 0, below the configured minimum, a critical service, or one that keeps data in
 * named volumes (`volumes`, asked only when the other rules pass) needs a human. The reason, or
 * null for a plain write.
 */
export async function scaleDownRule(
  ctx: ToolContext,
  service: string,
  current: number,
  target: number,
  volumes: () => Promise<string[]>,
): Promise<string | null> {
  if (target >= current) return null;
  if (target === 0) return `scaling ${service} to 0 stops the service`;
  const bounds = boundsFor(ctx, service);
  if (target < bounds.min)
    return `${target} is below the configured minimum of ${bounds.min} (scaling.services.${service}.min)`;
  if (ctx.config.services[service]?.critical) return `${service} is a critical service`;
  const named = await volumes();
  if (named.length) return `${service} keeps data in named volumes (${named.join(', ')})`;
  return null;
}
