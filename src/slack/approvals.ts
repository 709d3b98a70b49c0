import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import { isToolError } from '../errors.js';
import type { ApprovalRecord } from '../safety/approvals.js';
import { type Approver, requestApproval } from '../safety/approver.js';
import { decideApproval } from '../tools/approve.js';
import { escapeMrkdwn, noteMessage, type SlackMessage, toolMessage } from './blocks.js';
import { errorMessage, type SlackDeps, type SlackRoles, slackContext } from './context.js';

export const APPROVE = 'doom_approve';
export const CANCEL = 'doom_cancel';

function planLines(r: ApprovalRecord): string {
  return [
    `*${escapeMrkdwn(r.requester)}* asks to run *${r.tool}*: ${escapeMrkdwn(r.plan.summary)}`,
    '*Steps*',
    ...r.plan.steps.map((s) => `• ${escapeMrkdwn(s)}`),
    ...(r.plan.dataAtRisk.length
      ? ['*At risk*', ...r.plan.dataAtRisk.map((s) => `• ${escapeMrkdwn(s)}`)]
      : []),
  ]
    .join('\n')
    .slice(0, 2900);
}

/** The plan with Approve (behind Slack's confirm dialog) and Cancel; the button value is the approval id. */
export function planMessage(r: ApprovalRecord): SlackMessage {
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: planLines(r) } },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `approval ${r.id} · expires ${r.expiresAt} · an approver may approve; the requester may cancel`,
        },
      ],
    },
    {
      type: 'actions',
      block_id: `approval:${r.id}`,
      elements: [
        {
          type: 'button',
          action_id: APPROVE,
          text: { type: 'plain_text', text: 'Approve' },
          style: 'danger',
          value: r.id,
          confirm: {
            title: { type: 'plain_text', text: `Run ${r.tool}?` },
            text: { type: 'mrkdwn', text: escapeMrkdwn(r.plan.summary).slice(0, 300) },
            confirm: { type: 'plain_text', text: 'Run it' },
            deny: { type: 'plain_text', text: 'Back' },
          },
        },
        { type: 'button', action_id: CANCEL, text: { type: 'plain_text', text: 'Cancel' }, value: r.id },
      ],
    },
  ];
  return {
    text: `${escapeMrkdwn(r.requester)} asks to run ${r.tool}: ${escapeMrkdwn(r.plan.summary)} (approval ${r.id})`,
    blocks,
  };
}

/**
 * A destructive call from Slack: a pending approval in the shared store (so `doom-ops approve`
 * works too), its plan posted to the channel with buttons. The call itself ends as
 * approval_required; the click runs it.
 */
export function slackApprover(deps: SlackDeps, post: (m: SlackMessage) => Promise<unknown>): Approver {
  return async (req) => {
    const record = requestApproval(deps.safety, deps.config, req);
    await post(planMessage(record));
    return {
      approved: false,
      code: 'approval_required',
      reason: `approval_required: the plan for ${req.tool} is posted with Approve / Cancel buttons (approval ${record.id})`,
      hint: 'someone with the approver role presses Approve before it expires (the requester may Cancel)',
    };
  };
}

function outcome(record: ApprovalRecord, by: string): SlackMessage {
  const head = `${record.tool} (approval ${record.id}) ${record.status} — decided by ${by}`;
  if (record.status === 'done') {
    const m = toolMessage(record.tool, record.result);
    return {
      text: `${escapeMrkdwn(head)}\n${m.text}`,
      blocks: [noteMessage(`:white_check_mark: ${escapeMrkdwn(head)}`).blocks[0]!, ...m.blocks].slice(0, 50),
    };
  }
  if (record.status === 'denied') return noteMessage(`:no_entry_sign: ${head}; nothing was done`);
  return noteMessage(`:x: ${head}: ${escapeMrkdwn(record.error ?? '')}`.trim());
}

function safeGet(deps: SlackDeps, id: string): ApprovalRecord | undefined {
  try {
    return deps.safety.approvals.get(id);
  } catch {
    return undefined;
  }
}

/** Approve / Cancel clicks: the clicker's role is checked now, the approval is used once. */
export function registerApprovalActions(app: App, deps: SlackDeps, roles: SlackRoles): void {
  for (const [actionId, approve] of [
    [APPROVE, true],
    [CANCEL, false],
  ] as const) {
    app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, client, respond }) => {
      await ack();
      const user = body.user;
      const channel = body.channel?.id;
      const id = action.value ?? '';
      const config = await roles.configFor(client, user.id);
      const ctx = slackContext(deps, config, { id: user.id, name: user.name, channel });
      const ts = body.message?.ts;
      try {
        const record = await decideApproval(ctx, id, approve, 'Slack button');
        const m = outcome(record, `<@${user.id}>`);
        if (channel && ts) await client.chat.update({ channel, ts, ...m });
        else await respond({ ...m, replace_original: true });
      } catch (err) {
        // Refused (role, already decided, expired): told privately to the clicker.
        const m = errorMessage(err, approve ? `approving ${id}` : `cancelling ${id}`, deps.logger);
        await respond({ ...m, response_type: 'ephemeral', replace_original: false });
        // An approval that expired meanwhile loses its buttons; a refused click changes nothing.
        const record = safeGet(deps, id);
        if (record?.status === 'expired' && channel && ts)
          await client.chat.update({ channel, ts, ...outcome(record, 'nobody in time') });
        if (!isToolError(err)) throw err;
      }
    });
  }
}
