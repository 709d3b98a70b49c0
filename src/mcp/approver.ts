import { randomBytes } from 'node:crypto';
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  createRequestStateCodec,
  type InputRequiredResult,
  inputRequired,
  inputResponse,
  type RequestStateCodec,
  type Server,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { Config } from '../config/schema.js';
import {
  type ApprovalDecision,
  type ApprovalRequest,
  type Approver,
  canonical,
  planText,
  requestApproval,
} from '../safety/approver.js';
import type { Safety } from '../safety/index.js';
import { isApprover, roleOf } from '../safety/roles.js';

/** Form elicitation is what the client declared (an empty elicitation object means form, per spec). */
function declaresFormElicitation(declared: unknown): boolean {
  if (!declared || typeof declared !== 'object') return false;
  return Object.keys(declared).length === 0 || 'form' in declared;
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
    if (mayApprove && declaresFormElicitation(server.getClientCapabilities()?.elicitation)) {
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
    return outOfBand(safety, config, req, mayApprove);
  };
}

/** No human in reach through this client: a pending approval for `doom-ops approve` or Slack. */
function outOfBand(
  safety: Safety,
  config: Config,
  req: ApprovalRequest,
  mayApprove: boolean,
): ApprovalDecision {
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
}

/** What a 2026-07-28 approval round carries through the client (HMAC-sealed, readable, not secret). */
interface ApprovalState {
  approvalId: string;
  principal: string;
}

/** Per-process key: a restart invalidates open approval rounds (the client is told to call again). */
const STATE_KEY = randomBytes(32);
const codecs = new Map<number, RequestStateCodec<ApprovalState>>();

/** The requestState codec for approval rounds; its `verify` is the server's requestState hook. */
export function approvalStateCodec(config: Config): RequestStateCodec<ApprovalState> {
  const ttlSeconds = Math.max(1, Math.ceil(config.approvals.ttl / 1000));
  let codec = codecs.get(ttlSeconds);
  if (!codec) {
    codec = createRequestStateCodec<ApprovalState>({ key: STATE_KEY, ttlSeconds });
    codecs.set(ttlSeconds, codec);
  }
  return codec;
}

/**
 * Thrown by the 2026-07-28 approver to end this round with an `input_required` result: the MCP
 * surface returns `result` instead of a tool result, and the client retries the same call with
 * its human's answer. Never seen outside src/mcp.
 */
export class AskClient extends Error {
  constructor(readonly result: InputRequiredResult) {
    super('input required');
  }
}

const APPROVE_KEY = 'approve';
const APPROVE_SCHEMA = {
  type: 'object' as const,
  properties: {
    approve: { type: 'boolean' as const, title: 'Approve', description: 'Run exactly the steps above' },
  },
  required: ['approve'],
};

/**
 * MCP approvals on protocol revision 2026-07-28 (no server-to-client requests): the first round
 * creates the same single-use approval record as every other surface (audited as requested) and
 * answers `input_required` with the plan text; the client's retry carries its human's answer and
 * the sealed approval id. Accept with `approve: true` decides that record (once: a replayed retry
 * finds it decided) and the call runs; decline, cancel or `approve: false` decide it denied and
 * nothing runs; a retry without an answer asks again. As with elicitation, only a principal that
 * holds the approver role is asked at all, and only a client that declared form elicitation in this
 * request's envelope; everyone else gets `approval_required` and an out-of-band approval.
 */
export function inputRequiredApprover(
  ctx: ServerContext,
  config: Config,
  safety: Safety,
  codec: RequestStateCodec<ApprovalState>,
): Approver {
  return async (req) => {
    const mayApprove = isApprover(config, req.principal);
    const envelope = (ctx.mcpReq.envelope ?? {}) as Record<string, unknown>;
    const capabilities = envelope[CLIENT_CAPABILITIES_META_KEY] as { elicitation?: unknown } | undefined;
    if (!mayApprove || !declaresFormElicitation(capabilities?.elicitation))
      return outOfBand(safety, config, req, mayApprove);
    const clientInfo = envelope[CLIENT_INFO_META_KEY] as { name?: unknown } | undefined;
    const client = JSON.stringify(clientInfo?.name ?? 'unnamed').slice(0, 80);
    const state = ctx.mcpReq.requestState<ApprovalState>();
    if (!state) {
      const record = requestApproval(safety, config, req);
      throw new AskClient(await ask(req, record.id, codec));
    }
    const record = safety.approvals.get(state.approvalId);
    if (
      state.principal !== req.principal.id ||
      record.requester !== req.principal.id ||
      record.tool !== req.tool ||
      record.project !== req.project ||
      canonical(record.input) !== canonical(req.input)
    ) {
      return {
        approved: false,
        code: 'not_allowed',
        reason: `approval ${record.id} was asked for a different request; nothing was done`,
      };
    }
    const answer = inputResponse(ctx.mcpReq.inputResponses, APPROVE_KEY);
    if (answer.kind === 'missing' && record.status === 'pending')
      throw new AskClient(await ask(req, record.id, codec));
    const via = `input_required (client ${client})`;
    const yes = answer.kind === 'elicit' && answer.action === 'accept' && answer.content?.approve === true;
    if (yes && record.plan.fingerprint !== req.plan.fingerprint) {
      safety.approvals.decide(record.id, req.principal.id, false, `${via}: stale plan`);
      return {
        approved: false,
        code: 'conflict',
        reason: `the plan shown in ${record.id} is stale: the stack changed while it was being approved; nothing was done`,
        hint: 'make the request again to get a fresh plan',
      };
    }
    // Single use: deciding a record that is no longer pending throws (conflict), so a replayed
    // retry with the same state and answer never runs the action twice.
    safety.approvals.decide(record.id, req.principal.id, yes, via);
    if (yes) return { approved: true, approver: req.principal.id, via, approvalId: record.id };
    const what =
      answer.kind === 'elicit'
        ? answer.action === 'accept'
          ? 'approve unchecked'
          : answer.action
        : 'no answer';
    return {
      approved: false,
      code: 'not_allowed',
      reason: `${req.tool} was not approved (${what}); nothing was done`,
    };
  };
}

async function ask(
  req: ApprovalRequest,
  approvalId: string,
  codec: RequestStateCodec<ApprovalState>,
): Promise<InputRequiredResult> {
  return inputRequired({
    inputRequests: {
      [APPROVE_KEY]: inputRequired.elicit({
        message: `${planText(req)}\n\nApprove this action? (approval ${approvalId})`,
        requestedSchema: APPROVE_SCHEMA,
      }),
    },
    requestState: await codec.mint({ approvalId, principal: req.principal.id }),
  });
}
