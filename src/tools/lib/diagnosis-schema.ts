import { z } from 'zod';
import { START_FAILURE_KINDS } from '../../knowledge/start-failure.js';

/** Why a container is not running although it never started (shared by stack_health and explain_restarts). */
export const neverStartedOut = z
  .object({
    kind: z.enum(START_FAILURE_KINDS),
    what: z.string(),
    fix: z.string(),
    error: z.string().nullable().describe("the runtime's own error (State.Error)"),
    ranBefore: z.boolean().describe('it ran before; only its latest start failed'),
  })
  .nullable()
  .describe('set when the container is not running because it never started (or could not start this time)');

/** What the last failing health probe's output says. */
export const probeOut = z
  .object({
    failure: z.enum(['broken', 'refused', 'failing']),
    program: z.string().nullable(),
  })
  .nullable()
  .describe(
    'what the last failing health probe says: broken (its command cannot run: fix the healthcheck, not the app), refused (nothing listens yet), failing',
  );
