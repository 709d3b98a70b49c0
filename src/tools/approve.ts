import { isToolError } from '../errors.js';
import type { ApprovalRecord } from '../safety/approvals.js';
import { preApproved } from '../safety/approver.js';
import { assertRole } from '../safety/roles.js';
import type { ToolContext } from './context.js';
import { invokeTool } from './invoke.js';
import { findTool } from './registry.js';

/**
 * A human decides an approval out of band (CLI, Slack buttons). Approving executes exactly the
 * approved request, on behalf of its requester, in this process; the outcome is stored with the
 * approval so the requester can collect it (get_approval).
 */
export async function decideApproval(
  ctx: ToolContext,
  id: string,
  approve: boolean,
  /**
   * Slack (design.md §6): the requester confirms their own plan with its buttons; they still need
   * the operator role they requested with, checked again now. Anyone else needs the approver role.
   */
  options: { requesterMayDecide?: boolean } = {},
): Promise<ApprovalRecord> {
  const store = ctx.safety.approvals;
  const own = options.requesterMayDecide && store.get(id).requester === ctx.principal.id;
  assertRole(ctx.config, ctx.principal, own ? 'operator' : 'approver', approve ? 'approving' : 'denying');
  const record = store.decide(id, ctx.principal.id, approve);
  ctx.safety.audit.append({
    event: approve ? 'approved' : 'denied',
    principal: ctx.principal.id,
    surface: ctx.principal.surface,
    tool: record.tool,
    approvalId: id,
    approver: ctx.principal.id,
    plan: record.plan,
    project: record.project,
  });
  if (!approve) return record;
  const tool = findTool(record.tool);
  if (!tool) {
    record.status = 'failed';
    record.error = `unknown tool ${record.tool}`;
    store.save(record);
    return record;
  }
  try {
    record.result = await invokeTool(
      tool,
      {
        ...ctx,
        project: record.project,
        principal: {
          id: record.requester,
          surface: record.requesterSurface as ToolContext['principal']['surface'],
        },
        approver: preApproved(record),
      },
      record.input,
    );
    record.status = 'done';
  } catch (err) {
    record.status = isToolError(err) && err.code === 'conflict' ? 'refused' : 'failed';
    record.error = isToolError(err) ? err.message : 'internal error';
    if (!isToolError(err)) ctx.logger.error({ err, approval: id }, 'approved action failed');
  }
  store.save(record);
  return record;
}
