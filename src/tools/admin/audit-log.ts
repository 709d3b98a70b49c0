import { z } from 'zod';
import { defineTool } from '../define-tool.js';

export const auditLog = defineTool({
  name: 'audit_log',
  title: 'Audit log',
  description:
    'Recent audit entries: every call of a write or destructive tool and every approval decision, with time, ' +
    'principal, surface, tool, redacted input, plan, approver and outcome. Use it to answer "who scaled the agents?".',
  summary:
    'Use to answer who changed the stack and when. Returns recent audit entries of write and destructive ' +
    'calls and approval decisions, with principal, approver and outcome.',
  risk: 'read',
  stackKinds: ['compose', 'swarm'],
  idempotent: true,
  input: z.object({
    tool: z.string().max(64).optional().describe('Only entries for this tool'),
    principal: z.string().max(128).optional().describe('Only entries by this principal, e.g. cli:alice'),
    limit: z.number().int().min(1).max(1000).default(50).describe('Newest entries to return'),
  }),
  output: z.object({
    entries: z.array(
      z.object({
        time: z.string(),
        event: z.string(),
        principal: z.string(),
        surface: z.string(),
        tool: z.string(),
        outcome: z.string().optional(),
        approver: z.string().optional().describe('principal id of the human who approved or denied'),
        via: z
          .string()
          .optional()
          .describe(
            'how the approval was given: elicitation (with the client name it declared), terminal prompt, --yes, Slack button, approval id',
          ),
        approvalId: z.string().optional(),
        durationMs: z.number().optional(),
        input: z.unknown().optional(),
      }),
    ),
    damaged: z
      .number()
      .describe('lines of the log that could not be read (skipped); 0 when the log is whole'),
  }),
  async run(ctx, input) {
    const { entries, damaged } = await ctx.safety.audit.query({
      tool: input.tool,
      principal: input.principal,
      limit: input.limit,
    });
    return {
      entries: entries.map((e) => ({
        time: e.time,
        event: e.event,
        principal: e.principal,
        surface: e.surface,
        tool: e.tool,
        ...(e.outcome === undefined ? {} : { outcome: e.outcome }),
        ...(e.approver === undefined ? {} : { approver: e.approver }),
        ...(e.via === undefined ? {} : { via: e.via }),
        ...(e.approvalId === undefined ? {} : { approvalId: e.approvalId }),
        ...(e.durationMs === undefined ? {} : { durationMs: e.durationMs }),
        ...(e.input === undefined ? {} : { input: e.input }),
      })),
      damaged,
    };
  },
});
