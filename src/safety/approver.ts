import type { Config } from '../config/schema.js';
import type { ApprovalRecord, Plan } from './approvals.js';
import type { Safety } from './index.js';
import type { Principal } from './principal.js';

export interface ApprovalRequest {
  tool: string;
  input: Record<string, unknown>;
  plan: Plan;
  principal: Principal;
  project: string;
}

export type ApprovalDecision =
  | {
      approved: true;
      /** The principal id of the human who approved (never a client's self-chosen name). */
      approver: string;
      /** How the approval was given: `elicitation (client "X")`, `terminal prompt`, `--yes`, `approval apr_…`. */
      via: string;
      approvalId?: string;
    }
  | {
      approved: false;
      reason: string;
      code?: 'not_allowed' | 'approval_required' | 'conflict';
      hint?: string;
    };

/** The plan as a human reads it in an approval dialog or a terminal. */
export function planText(req: {
  tool: string;
  plan: { summary: string; steps: string[]; dataAtRisk: string[] };
  principal: { id: string };
}): string {
  return [
    `${req.principal.id} asks to run ${req.tool}: ${req.plan.summary}`,
    'Steps:',
    ...req.plan.steps.map((s) => `  - ${s}`),
    ...(req.plan.dataAtRisk.length ? ['At risk:', ...req.plan.dataAtRisk.map((s) => `  - ${s}`)] : []),
  ].join('\n');
}

/** A surface's way to ask a human. It must never take the caller's own arguments as consent. */
export type Approver = (request: ApprovalRequest) => Promise<ApprovalDecision>;

/** Canonical JSON (sorted keys) so an approval binds to the input, not to its key order. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Executes exactly what a human approved out of band: same tool, same normalized input, same
 * requester, same plan. Anything else is refused.
 */
export function preApproved(record: ApprovalRecord): Approver {
  return async (req) => {
    if (record.status !== 'approved')
      return { approved: false, reason: `approval ${record.id} is ${record.status}` };
    if (
      req.tool !== record.tool ||
      canonical(req.input) !== canonical(record.input) ||
      req.principal.id !== record.requester ||
      req.project !== record.project
    ) {
      return {
        approved: false,
        reason: `approval ${record.id} was given for a different request`,
        code: 'not_allowed',
      };
    }
    if (req.plan.fingerprint !== record.plan.fingerprint) {
      return {
        approved: false,
        code: 'conflict',
        reason: `the plan approved in ${record.id} is stale: the stack changed since it was approved`,
        hint: 'make the request again to get a fresh plan',
      };
    }
    return {
      approved: true,
      approver: record.decidedBy ?? 'unknown',
      via: `approval ${record.id}${record.decidedVia ? ` (${record.decidedVia})` : ''}`,
      approvalId: record.id,
    };
  };
}

/** For contexts with no human in reach: fail closed. */
export const refuseAll: Approver = async () => ({
  approved: false,
  code: 'approval_required',
  reason: 'this action is destructive and needs a human approval, which this surface cannot ask for',
});

/** A pending approval for a human to decide out of band (CLI, Slack buttons), audited as requested. */
export function requestApproval(safety: Safety, config: Config, req: ApprovalRequest): ApprovalRecord {
  const record = safety.approvals.create(
    {
      tool: req.tool,
      input: req.input,
      project: req.project,
      requester: req.principal.id,
      requesterSurface: req.principal.surface,
      plan: req.plan,
    },
    config.approvals.ttl,
  );
  safety.audit.append({
    event: 'approval_requested',
    principal: req.principal.id,
    surface: req.principal.surface,
    ...(req.principal.channel ? { channel: req.principal.channel } : {}),
    tool: req.tool,
    input: req.input,
    plan: req.plan,
    approvalId: record.id,
    project: req.project,
  });
  return record;
}
