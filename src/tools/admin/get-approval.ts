import { z } from 'zod';
import { defineTool } from '../define-tool.js';

export const getApproval = defineTool({
  name: 'get_approval',
  title: "Get an approval's outcome",
  description:
    'Status of an approval request returned as approval_required by a destructive tool: pending (a human has not ' +
    'decided yet), done (approved and executed; result included), denied, expired, refused (went stale) or failed. ' +
    'Calling this never approves or executes anything; only a human can approve.',
  summary:
    'Use after a destructive tool returned approval_required. Returns pending, done with its result, ' +
    'denied, expired, refused or failed; it never approves anything.',
  risk: 'read',
  stackKinds: ['compose', 'swarm'],
  idempotent: true,
  input: z.object({ id: z.string().max(40).describe('The approval id, e.g. apr_0123456789ab') }),
  output: z.object({
    id: z.string(),
    tool: z.string(),
    status: z.enum(['pending', 'approved', 'denied', 'expired', 'done', 'failed', 'refused']),
    requester: z.string(),
    plan: z.object({ summary: z.string(), steps: z.array(z.string()), dataAtRisk: z.array(z.string()) }),
    createdAt: z.string(),
    expiresAt: z.string(),
    decidedBy: z.string().nullable().describe('principal id of the human who decided'),
    decidedVia: z.string().nullable().describe('how they decided: Slack button, doom-ops approve'),
    result: z.unknown().optional(),
    error: z.string().nullable(),
  }),
  async run(ctx, input) {
    const r = ctx.safety.approvals.get(input.id);
    return {
      id: r.id,
      tool: r.tool,
      status: r.status,
      requester: r.requester,
      plan: { summary: r.plan.summary, steps: r.plan.steps, dataAtRisk: r.plan.dataAtRisk },
      createdAt: r.createdAt,
      expiresAt: r.expiresAt,
      decidedBy: r.decidedBy ?? null,
      decidedVia: r.decidedVia ?? null,
      ...(r.result === undefined ? {} : { result: r.result }),
      error: r.error ?? null,
    };
  },
});
