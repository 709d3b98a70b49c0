import { isToolError } from '../errors.js';
import type { ApprovalRecord } from '../safety/approvals.js';
import { preApproved } from '../safety/approver.js';
import { assertRole } from '../safety/roles.js';
import type { ToolContext } from './context.js';
import { invokeTool } from './invoke.js';

/**
 * A human decides an approval out of band (CLI, Slack buttons). Approving executes exactly the
 * approved request, on behalf of its requester, in this process; the outcome is stored with the
 * approval so the requester can collect it (get_approval).
 */
export async function decideApproval(
  ctx: ToolContext,
  id: string,
  approve: boolean,
  /** How the human decides, for the audit log and the record (`Slack button`, `doom-ops approve`). */
  via: string,
): Promise<ApprovalRecord> {
  const store = ctx.safety.approvals;
  // Approving always needs the approver role, the requester's own request included: an operator
  // cannot approve their own destructive call. The requester may withdraw (deny) their own.
  const own = store.get(id).requester === ctx.principal.id;
  assertRole(
    ctx.config,
    ctx.principal,
    approve || !own ? 'approver' : 'operator',
    approve ? `approving ${id}` : `denying ${id}`,
  );
  const record = store.decide(id, ctx.principal.id, approve, via);
  ctx.safety.audit.append({
    event: approve ? 'approved' : 'denied',
    principal: ctx.principal.id,
    surface: ctx.principal.surface,
    tool: record.tool,
    approvalId: id,
    approver: ctx.principal.id,
    via,
    plan: record.plan,
    project: record.project,
  });
  if (!approve) return record;
  const tool = ctx.tools.find((t) => t.name === record.tool);
  if (!tool) {
    record.status = 'failed';
    record.error = `unknown tool ${record.tool}`;
    store.save(record);
    return record;
  }
  try {
    const result = await invokeTool(
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
    return store.finish(id, { result });
  } catch (err) {
    if (!isToolError(err)) ctx.logger.error({ err, approval: id }, 'approved action failed');
    return store.finish(id, { error: err });
  }
}
