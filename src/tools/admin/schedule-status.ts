import { z } from 'zod';
import { cronSlots } from '../../schedule/cron.js';
import { ScheduleState } from '../../schedule/state.js';
import { defineTool } from '../define-tool.js';

const step = z.object({ tool: z.string(), ok: z.boolean(), summary: z.string() });

export const scheduleStatus = defineTool({
  name: 'schedule_status',
  title: 'Scheduled jobs',
  description:
    'The scheduled jobs of `doom-ops serve` (schedule.jobs: the daily backup, backup pruning (off until an approver ' +
    'enables it), the daily digest, …): cron, ' +
    'steps, who approved their destructive steps in config, the next slot and the last run with its result.',
  summary:
    "Use to see what doom-ops serve runs on a schedule (daily backup, pruning, digest). Returns each job's " +
    'cron, steps, next slot and last run with its result.',
  risk: 'read',
  stackKinds: ['compose', 'swarm'],
  idempotent: true,
  input: z.object({}),
  output: z.object({
    timezone: z.string(),
    jobs: z.array(
      z.object({
        name: z.string(),
        cron: z.string(),
        enabled: z.boolean(),
        steps: z.array(z.string()),
        approvedBy: z.string().nullable().describe('who approved the destructive steps in config'),
        missed: z.enum(['run-once', 'skip']),
        next: z.string().nullable().describe('next slot (ISO time)'),
        last: z
          .object({
            slot: z.string(),
            startedAt: z.string(),
            finishedAt: z.string(),
            result: z.enum(['succeeded', 'failed', 'skipped']),
            reason: z.string().optional(),
            steps: z.array(step),
            by: z.string(),
          })
          .nullable(),
      }),
    ),
  }),
  async run(ctx) {
    const { schedule, stateDir } = ctx.config;
    const state = new ScheduleState(stateDir, ctx.project);
    const now = Date.now();
    return {
      timezone: schedule.timezone,
      jobs: schedule.jobs.map((job) => {
        const next = job.enabled ? cronSlots(job.cron, schedule.timezone, job.name).next(now) : null;
        return {
          name: job.name,
          cron: job.cron,
          enabled: job.enabled,
          steps: job.steps.map((s) => s.tool),
          approvedBy: job.approvedBy ?? null,
          missed: job.missed,
          next: next === null ? null : new Date(next).toISOString(),
          last: state.last(job.name) ?? null,
        };
      }),
    };
  },
});
