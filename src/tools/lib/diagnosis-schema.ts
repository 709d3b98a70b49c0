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

/** One Swarm task as health and explain_restarts report it (the manager's task history). */
export const swarmTaskOut = z.object({
  id: z.string(),
  slot: z.number().nullable(),
  node: z.string().nullable().describe('hostname of the node it was assigned to; null while unplaced'),
  state: z.string().describe('Swarm task state: pending, running, complete, failed, rejected, orphaned…'),
  desiredState: z.string(),
  error: z
    .string()
    .nullable()
    .describe('Status.Err, e.g. "no suitable node (…)", "task: non-zero exit (137)"'),
  exitCode: z.number().nullable(),
  exitMeaning: z.string().nullable(),
  at: z.string().describe('when it reached its state'),
});
