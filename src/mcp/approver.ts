import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Config } from '../config/schema.js';
import { type Approver, requestApproval } from '../safety/approver.js';
import type { Safety } from '../safety/index.js';
import { isApprover, roleOf } from '../safety/roles.js';

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

/** Form elicitation is what the client declared (an empty elicitation object means form, per spec). */
function supportsFormElicitation(server: Server): boolean {
  const e = server.getClientCapabilities()?.elicitation as Record<string, unknown> | undefined;
  if (!e) return false;
  return Object.keys(e).length === 0 || 'form' in e;
}

/**
 * MCP approvals (design.md §6). An elicitation answer is given by whoever controls the client, so
 * it approves only when the MCP principal itself holds the approver role (stdio: the local user,
 * by default; HTTP token holders are operators unless roles.principals says otherwise). Then the
 * server asks through the client (elicitation, on the same request so it reaches the client over
 * HTTP too). Otherwise, or when the client cannot ask, the call ends as approval_required with an
 * approval id that a human approver decides out of band (`doom-ops approve`, Slack buttons).
 * Nothing in the tool arguments counts as consent. The audit records the principal as the
 * approver and the client's self-declared name only as part of how it was given.
 */
export function mcpApprover(
  server: Server,
  requestId: string | number,
  config: Config,
  safety: Safety,
): Approver {
  return async (req) => {
    const mayApprove = isApprover(config, req.principal);
    if (mayApprove && supportsFormElicitation(server)) {
      const client = JSON.stringify(server.getClientVersion()?.name ?? 'unnamed').slice(0, 80);
      try {
        const answer = await server.elicitInput(
          {
            message: `${planText(req)}\n\nApprove this action?`,
            requestedSchema: {
              type: 'object',
              properties: {
                approve: { type: 'boolean', title: 'Approve', description: 'Run exactly the steps above' },
              },
              required: ['approve'],
            },
          },
          { relatedRequestId: requestId, timeout: config.approvals.elicitationTimeout },
        );
        if (answer.action === 'accept' && answer.content?.approve === true) {
          return { approved: true, approver: req.principal.id, via: `elicitation (client ${client})` };
        }
        return {
          approved: false,
          code: 'not_allowed',
          reason: `${req.tool} was not approved (${answer.action === 'accept' ? 'approve unchecked' : answer.action}); nothing was done`,
        };
      } catch (err) {
        return {
          approved: false,
          code: 'not_allowed',
          reason: `no approval answer (${(err as Error).message}); nothing was done`,
        };
      }
    }
    const record = requestApproval(safety, config, req);
    const why = mayApprove
      ? 'waits for a human'
      : `waits for a human approver (${req.principal.id} holds the ${roleOf(config, req.principal)} role, so an answer from this client cannot approve it)`;
    return {
      approved: false,
      code: 'approval_required',
      reason: `approval_required: ${req.tool} is destructive and ${why}. Approval id ${record.id} (expires ${record.expiresAt}). Plan: ${req.plan.summary}`,
      hint: `a human with the approver role runs \`doom-ops approve ${record.id}\`; then call get_approval with id ${record.id} for the outcome. Re-sending the request or setting confirm does not approve it.`,
    };
  };
}
